//! Tags, bulk tags, bulk business, followers, campaigns and workflows against the GHL sandbox
//! over real HTTP, each checked in the sandbox's state.

mod common;

use common::Fx;
use ghl::models::misc::{BulkBusiness, BulkTagResponse, BulkTags};
use ghl::GhlError;

/// Two seeded contacts of the first location.
fn two_contacts(fx: &Fx) -> (String, String) {
    let s = fx.sb.state.store.read();
    let mut ids: Vec<String> = s.contacts_in(&fx.location).map(|c| c.id.clone()).collect();
    ids.sort();
    (ids[0].clone(), ids[1].clone())
}

#[tokio::test]
async fn tags_are_added_and_removed() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    let added = fx
        .client
        .add_tags(&cid, &["Hot Lead", "webinar"])
        .await
        .expect("add");
    assert!(added.tags.contains(&"hot lead".to_string()), "{added:?}");
    assert!(added.tags.contains(&"webinar".to_string()));
    // Adding again changes nothing (why it is safe to retry).
    let again = fx
        .client
        .add_tags(&cid, &["webinar"])
        .await
        .expect("add again");
    assert_eq!(again.tags, added.tags);
    let left = fx
        .client
        .remove_tags(&cid, &["webinar"])
        .await
        .expect("remove");
    assert!(!left.tags.contains(&"webinar".to_string()));
    let stored = fx.stored(&cid).expect("stored").tags;
    assert!(stored.contains(&"hot lead".to_string()) && !stored.contains(&"webinar".to_string()));
}

#[tokio::test]
async fn bulk_tags_add_and_remove_across_contacts() {
    let fx = Fx::start().await;
    let (a, b) = two_contacts(&fx);
    let add = BulkTags {
        contacts: vec![a.clone(), b.clone(), "noSuchContact000000".into()],
        tags: vec!["Bulk-1".into(), "bulk-2".into()],
        ..BulkTags::default()
    };
    let r = fx.client.bulk_add_tags(&add).await.expect("bulk add");
    assert_eq!(r.error_count, 1, "{r:?}");
    assert!(!r.succeded);
    assert_eq!(r.responses.len(), 3);
    assert!(r
        .responses
        .iter()
        .all(|x| matches!(x, BulkTagResponse::Message(_))));
    for id in [&a, &b] {
        let tags = fx.stored(id).expect("stored").tags;
        assert!(tags.contains(&"bulk-1".into()) && tags.contains(&"bulk-2".into()));
    }
    let remove = BulkTags {
        contacts: vec![a.clone()],
        tags: vec!["bulk-1".into()],
        ..BulkTags::default()
    };
    let r = fx
        .client
        .bulk_remove_tags(&remove)
        .await
        .expect("bulk remove");
    assert!(r.succeded && r.error_count == 0, "{r:?}");
    let tags = fx.stored(&a).expect("stored").tags;
    assert!(!tags.contains(&"bulk-1".into()) && tags.contains(&"bulk-2".into()));
    let remove_all = BulkTags {
        contacts: vec![b.clone()],
        remove_all_tags: Some(true),
        ..BulkTags::default()
    };
    fx.client
        .bulk_remove_tags(&remove_all)
        .await
        .expect("remove all");
    assert!(fx.stored(&b).expect("stored").tags.is_empty());
}

#[tokio::test]
async fn bulk_business_links_and_unlinks() {
    let fx = Fx::start().await;
    let (a, b) = two_contacts(&fx);
    let business = fx
        .sb
        .state
        .store
        .read()
        .location(&fx.location)
        .and_then(|l| l.businesses.first().map(|b| b.id.clone()))
        .expect("a seeded business");
    let link = BulkBusiness {
        ids: vec![a.clone(), b.clone()],
        business_id: Some(business.clone()),
        ..BulkBusiness::default()
    };
    let r = fx.client.bulk_set_business(&link).await.expect("link");
    assert!(r.success);
    assert_eq!(r.ids.len(), 2);
    for id in [&a, &b] {
        assert_eq!(
            fx.stored(id).expect("stored").business_id.as_ref(),
            Some(&business)
        );
    }
    let unlink = BulkBusiness {
        ids: vec![a.clone()],
        business_id: None,
        ..BulkBusiness::default()
    };
    let r = fx.client.bulk_set_business(&unlink).await.expect("unlink");
    assert_eq!(r.ids, vec![a.clone()]);
    assert_eq!(fx.stored(&a).expect("stored").business_id, None);
    assert_eq!(fx.stored(&b).expect("stored").business_id, Some(business));
}

#[tokio::test]
async fn followers_are_added_and_removed() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    let users = fx.users();
    let (u1, u2) = (users[0].clone(), users[1].clone());
    let added = fx
        .client
        .add_followers(&cid, &[&u1, &u2])
        .await
        .expect("add");
    assert_eq!(added.followers_added, vec![u1.clone(), u2.clone()]);
    let again = fx.client.add_followers(&cid, &[&u1]).await.expect("again");
    assert!(again.followers_added.is_empty());
    assert_eq!(
        fx.stored(&cid).expect("stored").followers,
        vec![u1.clone(), u2.clone()]
    );
    let removed = fx
        .client
        .remove_followers(&cid, &[&u1])
        .await
        .expect("remove");
    assert_eq!(removed.followers_removed, vec![u1.clone()]);
    assert_eq!(removed.followers, vec![u2.clone()]);
    assert_eq!(fx.stored(&cid).expect("stored").followers, vec![u2]);
}

#[tokio::test]
async fn campaigns_are_joined_left_and_all_left() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    for camp in ["campA", "campB", "campC"] {
        assert!(
            fx.client
                .add_to_campaign(&cid, camp)
                .await
                .expect("add")
                .succeded
        );
    }
    assert_eq!(
        fx.stored(&cid).expect("stored").campaigns,
        ["campA", "campB", "campC"]
    );
    assert!(
        fx.client
            .remove_from_campaign(&cid, "campB")
            .await
            .expect("remove")
            .succeded
    );
    assert_eq!(
        fx.stored(&cid).expect("stored").campaigns,
        ["campA", "campC"]
    );
    assert!(
        fx.client
            .remove_from_all_campaigns(&cid)
            .await
            .expect("remove all")
            .succeded
    );
    assert!(fx.stored(&cid).expect("stored").campaigns.is_empty());
}

#[tokio::test]
async fn workflows_are_joined_and_left() {
    let fx = Fx::start().await;
    let cid = fx.some_contact();
    let ack = fx
        .client
        .add_to_workflow(&cid, "wf1", Some("2030-06-23T03:30:00+01:00"))
        .await
        .expect("add");
    assert!(ack.succeded);
    fx.client
        .add_to_workflow(&cid, "wf2", None)
        .await
        .expect("add without start time");
    assert_eq!(fx.stored(&cid).expect("stored").workflows, ["wf1", "wf2"]);
    let logged = fx.calls_of("add-contact-to-workflow").await;
    assert_eq!(
        logged[0]["body"]["eventStartTime"], "2030-06-23T03:30:00+01:00",
        "{logged:?}"
    );
    fx.client
        .remove_from_workflow(&cid, "wf1")
        .await
        .expect("remove");
    assert_eq!(fx.stored(&cid).expect("stored").workflows, ["wf2"]);
    assert!(matches!(
        fx.client
            .add_to_workflow(&cid, "wf3", Some("not a date"))
            .await,
        Err(GhlError::Validation { status: 422, .. })
    ));
}
