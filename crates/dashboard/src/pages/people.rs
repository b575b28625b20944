//! `/ui/people`: the unified view in the browser — find a person by email, phone or name, see
//! each app's contact side by side, everything that happened to them in every app on one
//! timeline, and download it as CSV.
//!
//! Every view is built by [`engine::unified::UnifiedView`] (the same reader as
//! `ghl-bridge view`, `ghl-bridge export` and `GET /api/v1/people`), and the CSV is
//! [`engine::unified::render`], so the file a user downloads here has exactly the rows the CLI
//! writes. The page only arranges the view; `people/show.rs` builds the person page's tables.

mod show;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use connectors::{EntityKind, MatchKey};
use engine::store::IdentityId;
use engine::unified::{
    render as export, ExportFormat, ExportKind, PersonView, Scope, UnifiedView, ViewError, Who,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{render, Ui};

/// People listed on the page before anyone searches.
const FIRST_PAGE: usize = 25;
/// Matches shown for one search.
const MAX_MATCHES: usize = 25;
/// People read while searching by name (or by a phone no app can look up): each is read from
/// every app, so a search stops here and says so.
const SCAN_MAX: usize = 500;

/// The search box.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// What a search found.
struct Found {
    people: Vec<PersonView>,
    /// How the query was read: `email`, `phone` or `name`.
    by: &'static str,
    /// People read while scanning, and whether the scan stopped at [`SCAN_MAX`] first.
    scanned: usize,
    capped: bool,
}

/// Whether the query is a phone number: digits and the usual separators, at least 7 digits.
fn looks_like_phone(q: &str) -> bool {
    let digits = q.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && q.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether a person matches a name or phone query, in any app.
fn matches(p: &PersonView, q: &str, phone: bool) -> bool {
    if phone {
        let want = digits(q);
        let want = want.trim_start_matches('1');
        return p.apps.iter().filter_map(|s| s.contact.as_ref()).any(|c| {
            c.fields
                .get("phone")
                .and_then(Value::as_str)
                .is_some_and(|v| !want.is_empty() && digits(v).ends_with(want))
        });
    }
    let needle = q.to_lowercase();
    let names = p.summary.name.iter().chain(
        p.apps
            .iter()
            .filter_map(|s| s.contact.as_ref()?.title.as_ref()),
    );
    names
        .into_iter()
        .any(|n| n.to_lowercase().contains(&needle))
}

/// Finds people: an email is looked up in each app; a phone number is looked up in each app
/// that can, else matched while scanning; anything else is matched against names while
/// scanning the linked people.
async fn search(ui: &Ui, q: &str) -> Result<Found, ViewError> {
    let engine = &ui.app.engine;
    let view = UnifiedView::new(engine.store.as_ref(), &engine.connectors);
    if q.contains('@') {
        let people = view.person(&Who::Email(q.to_string())).await?;
        return Ok(Found {
            people: people.into_iter().collect(),
            by: "email",
            scanned: 0,
            capped: false,
        });
    }
    let phone = looks_like_phone(q);
    if phone {
        if let Ok(e164) = engine::flow::normalize_phone(q, "US") {
            let mut names: Vec<&String> = engine.connectors.keys().collect();
            names.sort_by_key(|n| (engine.connectors[*n].app() != "ghl", *n));
            for name in names {
                let key = MatchKey::Phone(e164.clone());
                // Not there, an app that cannot look phones up, or one that is down: the scan
                // below decides.
                if let Ok(Some(r)) = engine.connectors[name]
                    .find(EntityKind::Contact, &key)
                    .await
                {
                    let who = Who::Contact {
                        connection: Some(name.clone()),
                        id: r.id,
                    };
                    let people = view.person(&who).await?;
                    return Ok(Found {
                        people: people.into_iter().collect(),
                        by: "phone",
                        scanned: 0,
                        capped: false,
                    });
                }
            }
        }
    }
    let mut people = Vec::new();
    let (mut offset, mut scanned) = (0, 0);
    let capped = loop {
        let page = view.list(offset, 50).await?;
        scanned += page.people.len();
        people.extend(page.people.into_iter().filter(|p| matches(p, q, phone)));
        offset += page.limit;
        if offset >= page.total || people.len() >= MAX_MATCHES {
            break false;
        }
        if offset >= SCAN_MAX {
            break true;
        }
    };
    people.truncate(MAX_MATCHES);
    Ok(Found {
        people,
        by: if phone { "phone" } else { "name" },
        scanned,
        capped,
    })
}

/// Where a person's page is: by identity when linked, else by connection and contact id.
pub(crate) fn person_href(p: &PersonView) -> String {
    match (p.identity_id, p.apps.first()) {
        (Some(id), _) => format!("/ui/people/{id}"),
        (None, Some(s)) => format!(
            "/ui/people/contact?{}",
            serde_urlencoded::to_string([("connection", &s.connection), ("id", &s.contact_id)])
                .unwrap_or_default()
        ),
        (None, None) => "/ui/people".into(),
    }
}

/// A row of the results table.
fn person_row(p: &PersonView) -> Value {
    let s = &p.summary;
    json!({
        "href": person_href(p),
        "identity": p.identity_id.map(|i| i.0),
        "name": s.name,
        "email": s.email,
        "phone": s.phone,
        "apps": s.apps,
        "open_tasks": s.tasks.open,
        "notes": s.notes,
    })
}

/// What a failed view tells the user: status and a sentence naming what to fix.
fn view_error(e: &ViewError, field: &str) -> (StatusCode, String) {
    match e {
        ViewError::Invalid(m) => (StatusCode::BAD_REQUEST, format!("{field}: {m}.")),
        ViewError::Connector { connection, error } => (
            StatusCode::BAD_GATEWAY,
            format!(
                "Connection `{connection}` could not be asked: {error}. Test it on the Connections page, then search again."
            ),
        ),
        ViewError::Store(err) => {
            tracing::error!(error = %err, "dashboard people: reading the store failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Reading the database failed: {err}. Check it is reachable, then reload."),
            )
        }
    }
}

/// The results block (full page and htmx fragment alike).
async fn results_ctx(ui: &Ui, q: &str) -> (StatusCode, Value) {
    let q = q.trim();
    if q.is_empty() {
        let engine = &ui.app.engine;
        let view = UnifiedView::new(engine.store.as_ref(), &engine.connectors);
        return match view.list(0, FIRST_PAGE).await {
            Ok(page) => (
                StatusCode::OK,
                json!({"listing": true, "total": page.total,
                       "people": page.people.iter().map(person_row).collect::<Vec<_>>()}),
            ),
            Err(e) => {
                let (status, message) = view_error(&e, "People");
                (
                    status,
                    json!({"listing": true, "people": [], "error": message}),
                )
            }
        };
    }
    match search(ui, q).await {
        Ok(f) => (
            StatusCode::OK,
            json!({"q": q, "by": f.by, "scanned": f.scanned, "capped": f.capped, "scan_max": SCAN_MAX,
                   "people": f.people.iter().map(person_row).collect::<Vec<_>>()}),
        ),
        Err(e) => {
            let (status, message) = view_error(&e, "Search");
            (status, json!({"q": q, "people": [], "error": message}))
        }
    }
}

/// `GET /ui/people?q=`: the search form, and its results (or the first linked people).
pub async fn page(State(ui): State<Arc<Ui>>, Query(sq): Query<SearchQuery>) -> Response {
    let (status, results) = results_ctx(&ui, &sq.q).await;
    render::page_status(
        status,
        "people.html",
        json!({"nav": "people", "q": sq.q, "results": results}),
    )
}

/// `GET /ui/people/results?q=`: the results block alone, for the search form's htmx request;
/// the address bar then shows the full page's address, so reload and back work.
pub async fn results(State(ui): State<Arc<Ui>>, Query(sq): Query<SearchQuery>) -> Response {
    let (_, results) = results_ctx(&ui, &sq.q).await;
    let push = if sq.q.trim().is_empty() {
        "/ui/people".to_string()
    } else {
        format!(
            "/ui/people?{}",
            serde_urlencoded::to_string([("q", sq.q.trim())]).unwrap_or_default()
        )
    };
    // htmx swaps only 2xx answers: errors are shown inside the block, with a 200.
    let html = render::page("_people_results.html", json!({ "results": results }));
    ([("hx-push-url", push)], html).into_response()
}

/// A contact not linked to anything yet, by connection and id.
#[derive(Debug, Deserialize)]
pub struct ContactQuery {
    #[serde(default)]
    connection: String,
    #[serde(default)]
    id: String,
}

impl ContactQuery {
    fn who(&self) -> Result<Who, String> {
        if self.connection.trim().is_empty() || self.id.trim().is_empty() {
            return Err(
                "connection and id: give both in the address (…/contact?connection=ghl&id=…)."
                    .into(),
            );
        }
        Ok(Who::Contact {
            connection: Some(self.connection.trim().to_string()),
            id: self.id.trim().to_string(),
        })
    }
}

fn identity_who(id: &str) -> Result<Who, String> {
    id.parse::<i64>()
        .map(|i| Who::Identity(IdentityId(i)))
        .map_err(|_| format!("`{id}` is not a person number: open a person from the People page."))
}

fn error_page(status: StatusCode, message: String) -> Response {
    render::page_status(
        status,
        "error.html",
        json!({"nav": "people", "title": "Person", "message": message}),
    )
}

/// Reads one person; `Err` is the page to answer with.
async fn person_of(ui: &Ui, who: Result<Who, String>) -> Result<PersonView, Response> {
    let who = who.map_err(|m| error_page(StatusCode::BAD_REQUEST, m))?;
    let engine = &ui.app.engine;
    let view = UnifiedView::new(engine.store.as_ref(), &engine.connectors);
    match view.person(&who).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(error_page(
            StatusCode::NOT_FOUND,
            "Nobody matches: the person may have been unlinked or deleted. Search again on the People page.".into(),
        )),
        Err(e) => {
            let (status, m) = view_error(&e, "Person");
            Err(error_page(status, m))
        }
    }
}

async fn show_person(ui: &Ui, who: Result<Who, String>, export_href: String) -> Response {
    match person_of(ui, who).await {
        Ok(p) => render::page("person.html", show::context(&p, &export_href)),
        Err(r) => r,
    }
}

/// `GET /ui/people/{id}`: a linked person.
pub async fn person(State(ui): State<Arc<Ui>>, Path(id): Path<String>) -> Response {
    let href = format!("/ui/people/{id}/export.csv");
    show_person(&ui, identity_who(&id), href).await
}

/// `GET /ui/people/contact?connection=&id=`: a contact no flow has linked yet.
pub async fn contact(State(ui): State<Arc<Ui>>, Query(cq): Query<ContactQuery>) -> Response {
    let href = format!(
        "/ui/people/contact/export.csv?{}",
        serde_urlencoded::to_string([("connection", &cq.connection), ("id", &cq.id)])
            .unwrap_or_default()
    );
    show_person(&ui, cq.who(), href).await
}

/// Which export: `records` (default: one row per record), `report` or `timeline`.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    kind: Option<ExportKind>,
}

/// A CSV download.
fn csv(people: &[PersonView], kind: ExportKind, file: &str) -> Response {
    let body = export(people, kind, ExportFormat::Csv);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

fn file_name(stem: &str, kind: ExportKind) -> String {
    match kind {
        ExportKind::Records => format!("{stem}.csv"),
        ExportKind::Report => format!("{stem}-report.csv"),
        ExportKind::Timeline => format!("{stem}-timeline.csv"),
    }
}

/// `GET /ui/people/export.csv`: every linked person.
pub async fn export_all(State(ui): State<Arc<Ui>>, Query(eq): Query<ExportQuery>) -> Response {
    let engine = &ui.app.engine;
    let view = UnifiedView::new(engine.store.as_ref(), &engine.connectors);
    let kind = eq.kind.unwrap_or(ExportKind::Records);
    match view.people(&Scope::All).await {
        Ok(people) => csv(&people, kind, &file_name("people", kind)),
        Err(e) => {
            let (status, m) = view_error(&e, "Export");
            error_page(status, m)
        }
    }
}

/// `GET /ui/people/{id}/export.csv`: one linked person.
pub async fn export_person(
    State(ui): State<Arc<Ui>>,
    Path(id): Path<String>,
    Query(eq): Query<ExportQuery>,
) -> Response {
    let kind = eq.kind.unwrap_or(ExportKind::Records);
    match person_of(&ui, identity_who(&id)).await {
        Ok(p) => csv(&[p], kind, &file_name(&format!("person-{id}"), kind)),
        Err(r) => r,
    }
}

/// `GET /ui/people/contact/export.csv?connection=&id=`: one unlinked contact.
pub async fn export_contact(
    State(ui): State<Arc<Ui>>,
    Query(cq): Query<ContactQuery>,
    Query(eq): Query<ExportQuery>,
) -> Response {
    let kind = eq.kind.unwrap_or(ExportKind::Records);
    match person_of(&ui, cq.who()).await {
        Ok(p) => csv(&[p], kind, &file_name("contact", kind)),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_told_from_names() {
        assert!(looks_like_phone("+1 (415) 555-0123"));
        assert!(looks_like_phone("4155550123"));
        assert!(!looks_like_phone("Ada"));
        assert!(!looks_like_phone("123"));
        assert!(!looks_like_phone("Flat 4155550123"));
    }

    #[test]
    fn bad_person_numbers_say_what_to_do() {
        assert!(identity_who("12").is_ok());
        assert!(identity_who("abc").unwrap_err().contains("People page"));
        let q = ContactQuery {
            connection: "ghl".into(),
            id: String::new(),
        };
        assert!(q.who().unwrap_err().contains("connection and id"));
    }
}
