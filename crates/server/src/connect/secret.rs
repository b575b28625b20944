//! Storing a token or API key someone typed in (`ghl-bridge connect … --token/--key`, the
//! dashboard's token form): checked against the connection it is for, sealed with the project
//! key and kept in the connection registry, so the project file needs no secret. One function
//! for both, so what the dashboard stores is exactly what the CLI stores and reads.

use engine::connections::oauth::{save_credential, StoredCredential};
use engine::flow::{AppKind, Project};
use engine::store::Store;
use secrets::SecretKey;

/// Which secret is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A GHL Private Integration Token.
    Token,
    /// Another app's API key.
    ApiKey,
}

impl SecretKind {
    /// The kind a connection takes: a token for GHL, an API key for the other apps.
    pub fn for_app(app: AppKind) -> Self {
        if app == AppKind::Ghl {
            Self::Token
        } else {
            Self::ApiKey
        }
    }

    /// The project-file setting a stored secret of this kind stands in for.
    pub fn setting(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::ApiKey => "api_key",
        }
    }
}

/// What was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// `token` or `api_key`.
    pub setting: &'static str,
    /// The project file sets the same setting, and that one wins: the stored secret is unused
    /// until it is removed from the file.
    pub shadowed: bool,
}

/// The project's secret key, which every stored credential is sealed with; the message says
/// where it is looked for.
pub fn project_key(project: &Project) -> Result<SecretKey, String> {
    SecretKey::load(&project.dir())
        .map(|(k, _)| k)
        .map_err(|e| format!("credentials are stored sealed with the project key, but {e}"))
}

/// Seals `secret` with `key` and stores it as the credential of connection `name`, after
/// checking that the connection takes that kind: GHL a Private Integration Token (and not when
/// it says `auth: oauth`, which only uses consented tokens), the other apps an API key. The
/// registry entry becomes `active`. Messages name the connection and say what to do; none holds
/// the secret.
pub async fn store_secret(
    store: &dyn Store,
    key: &SecretKey,
    project: &Project,
    name: &str,
    kind: SecretKind,
    secret: &str,
) -> Result<StoredSecret, String> {
    let conn = project.connections.get(name).ok_or_else(|| {
        format!(
            "no connection `{name}` in {}; add it under `connections:` first",
            project.file.display()
        )
    })?;
    let app = conn.app.as_str();
    let oauth = conn
        .settings
        .get("auth")
        .is_some_and(|a| a.expose().trim().eq_ignore_ascii_case("oauth"));
    match (conn.app, kind) {
        (AppKind::Ghl, SecretKind::ApiKey) => {
            return Err(format!("GHL connection `{name}` takes a Private Integration Token (`--token`) or OAuth, not an API key"))
        }
        (AppKind::Ghl, SecretKind::Token) if oauth => {
            return Err(format!("connection `{name}` says `auth: oauth`, so a stored token would not be used; connect it by OAuth (`ghl-bridge connect ghl --connection {name}`), or remove `auth: oauth` to use a token"))
        }
        (_, SecretKind::Token) if conn.app != AppKind::Ghl => {
            return Err(format!(
                "`{app}` connections take an API key: `ghl-bridge connect {app} --connection {name} --key` < key.txt"
            ))
        }
        _ => {}
    }
    let secret = secret.trim();
    let what = match kind {
        SecretKind::Token => "the Private Integration Token",
        SecretKind::ApiKey => "the API key",
    };
    if secret.is_empty() {
        return Err(format!("{what} is empty; paste the whole value"));
    }
    if secret.chars().any(char::is_control) {
        return Err(format!(
            "{what} has a line break or control character; paste it on one line"
        ));
    }
    let cred = match kind {
        SecretKind::Token => StoredCredential::Token {
            token: secret.to_string(),
        },
        SecretKind::ApiKey => StoredCredential::ApiKey {
            api_key: secret.to_string(),
        },
    };
    save_credential(store, key, name, app, &cred)
        .await
        .map_err(|e| format!("the store did not take the credential: {e}"))?;
    tracing::info!(connection = %name, setting = kind.setting(), "credential stored sealed");
    Ok(StoredSecret {
        setting: kind.setting(),
        shadowed: conn.settings.contains_key(kind.setting()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_kind_a_connection_uses_is_stored() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let file = tmp.path().join("ghl-bridge.yaml");
        std::fs::create_dir_all(tmp.path().join("flows")).expect("flows");
        std::fs::write(
            &file,
            "version: 1\nconnections:\n  ghl:\n    app: ghl\n    auth: oauth\n    client_id: c\n    client_secret: s\n  pit:\n    app: ghl\n    location_id: loc\n  crm:\n    app: your_app\n    base_url: 'http://127.0.0.1:9/v1'\n    api_key: in-the-file\n",
        )
        .expect("project");
        let project = engine::flow::load_project_with(&file, &|_: &str| None).expect("loads");
        let db = format!("sqlite://{}?mode=rwc", tmp.path().join("e.db").display());
        let store = engine::store::open(&db).await.expect("store");
        let key = SecretKey::generate();
        let put = |name: &'static str, kind, secret: &'static str| {
            let (store, key, project) = (store.clone(), key.clone(), project.clone());
            async move { store_secret(&*store, &key, &project, name, kind, secret).await }
        };
        let refused = [
            (put("ghl", SecretKind::Token, "t").await, "auth: oauth"),
            (put("pit", SecretKind::ApiKey, "k").await, "not an API key"),
            (put("crm", SecretKind::Token, "t").await, "take an API key"),
            (put("pit", SecretKind::Token, " ").await, "is empty"),
            (put("pit", SecretKind::Token, "a\nb").await, "one line"),
            (
                put("nope", SecretKind::Token, "t").await,
                "no connection `nope`",
            ),
        ];
        for (got, says) in refused {
            let e = got.expect_err(says);
            assert!(e.contains(says), "{e}");
        }
        assert!(store.connections().await.expect("list").is_empty());
        let pit = put("pit", SecretKind::Token, " pit-token\n")
            .await
            .expect("stored");
        assert_eq!((pit.setting, pit.shadowed), ("token", false));
        let crm = put("crm", SecretKind::ApiKey, "k").await.expect("stored");
        assert_eq!((crm.setting, crm.shadowed), ("api_key", true));
        match engine::connections::oauth::load_credential(&*store, &key, "pit").await {
            Ok(Some(StoredCredential::Token { token })) => assert_eq!(token, "pit-token"),
            other => panic!("{other:?}"),
        }
        store.close().await;
    }
}
