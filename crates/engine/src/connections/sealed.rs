//! Opening `sealed:v1:…` settings (made by `ghl-bridge secrets seal`) before a connector is
//! built, so a project file can carry its tokens encrypted at rest. The key is the project's
//! (`GHL_BRIDGE_SECRET_KEY`, else `<project dir>/.ghl-bridge/secret.key`); each value opens only
//! for the connection and setting it was sealed for.

use std::borrow::Cow;
use std::path::Path;

use ghl::Secret;
use secrets::{open_setting, SecretKey, SecretsError, SEALED_PREFIX};

use super::ConnectionError;
use crate::flow::{Connection, Setting};

/// `conn` with every sealed setting opened (as a [`Setting::Secret`]); borrowed unchanged when
/// none is sealed, so projects without sealed values never need a key.
pub(super) fn open_sealed<'a>(
    conn: &'a Connection,
    project_dir: &Path,
) -> Result<Cow<'a, Connection>, Vec<ConnectionError>> {
    let sealed: Vec<&String> = conn
        .settings
        .iter()
        .filter(|(_, v)| {
            matches!(v, Setting::Text(_) | Setting::Secret(_))
                && v.expose().trim_start().starts_with(SEALED_PREFIX)
        })
        .map(|(k, _)| k)
        .collect();
    if sealed.is_empty() {
        return Ok(Cow::Borrowed(conn));
    }
    let error = |setting: &str, message: String| ConnectionError {
        connection: conn.name.clone(),
        app: conn.app.as_str().to_string(),
        setting: Some(setting.to_string()),
        message,
    };
    let key = match SecretKey::load(project_dir) {
        Ok((key, _)) => key,
        Err(e) => {
            return Err(sealed
                .iter()
                .map(|s| error(s, format!("is sealed, but {e}")))
                .collect())
        }
    };
    let mut opened = conn.clone();
    let mut errors = Vec::new();
    for name in sealed {
        let reseal = format!(
            "seal it again with `ghl-bridge secrets seal --connection {} --setting {name}`",
            conn.name
        );
        match open_setting(&key, &conn.settings[name].expose(), &conn.name, name) {
            Ok(plain) => {
                opened.settings.insert(
                    name.clone(),
                    Setting::Secret(Secret::new(plain.into_inner())),
                );
            }
            Err(SecretsError::Open) => errors.push(error(
                name,
                format!(
                    "is sealed but cannot be opened: the secret key in use (env \
                     GHL_BRIDGE_SECRET_KEY, else .ghl-bridge/secret.key next to the project) is \
                     not the one it was sealed with, the value was altered, or it was sealed for \
                     another connection or setting; use the right key, or {reseal}"
                ),
            )),
            Err(e) => errors.push(error(
                name,
                format!("is not a valid sealed value ({e}); {reseal}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(Cow::Owned(opened))
    } else {
        Err(errors)
    }
}
