//! Building a generic REST connection (`your_app`, `investnext`, `invoco`): a shipped profile, or
//! a connector config file over it, with the project's settings laid over both.

use super::*;

/// A generic REST connection: a shipped profile, or a config file over it, with the project's
/// settings (address, key, webhook secret) laid over both.
pub(super) fn rest(
    mut s: Settings<'_>,
    project_dir: &Path,
) -> Result<Arc<dyn Connector>, Vec<ConnectionError>> {
    s.check_known(REST_SETTINGS);
    let app = s.conn.app.as_str();
    let base_url = s.text("base_url");
    let api_key = s.text("api_key");
    let webhook_secret = s.text("webhook_secret");
    let config_file = s.text("config");
    let mut file = match &config_file {
        Some(f) => match read_yaml_map(&resolve(project_dir, f)) {
            Ok(m) => m,
            Err(message) => {
                s.push(Some("config"), message);
                return Err(s.errors);
            }
        },
        None => {
            if base_url.is_none() && !s.conn.settings.contains_key("base_url") {
                s.push(
                    Some("base_url"),
                    "is required: the API's address, e.g. `https://api.example.com/v1`",
                );
            }
            if api_key.is_none() && !s.conn.settings.contains_key("api_key") {
                s.push(
                    Some("api_key"),
                    "is required, e.g. `api_key: ${YOUR_APP_KEY}`",
                );
            }
            Map::new()
        }
    };
    if config_file.is_some() {
        let file_has = |key: &str| {
            file.get(key)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        };
        if base_url.is_none() && !file_has("base_url") {
            s.push(
                Some("base_url"),
                "is required: neither the connection nor its config file gives the API's address",
            );
        }
        let file_secret = file.get("auth").is_some_and(|a| {
            ["secret", "username"].iter().any(|k| {
                a.get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.is_empty())
            })
        });
        if api_key.is_none() && !file_secret {
            s.push(
                Some("api_key"),
                "is required: the config file's `auth` has no secret (keep secrets out of \
                 files: `api_key: ${YOUR_APP_KEY}`)",
            );
        }
    }
    if !s.errors.is_empty() {
        return Err(s.errors);
    }
    file.entry("profile")
        .or_insert_with(|| Value::String(app.to_string()));
    if let Some(url) = base_url {
        file.insert("base_url".into(), Value::String(url));
    }
    if let Some(key) = api_key {
        match file.get_mut("auth") {
            Some(Value::Object(auth)) => {
                let basic = auth.get("style").and_then(Value::as_str) == Some("basic");
                let field = if basic { "username" } else { "secret" };
                auth.insert(field.into(), Value::String(key));
            }
            _ => {
                file.insert("auth".into(), json!({"style": "bearer", "secret": key}));
            }
        }
    }
    if let Some(secret) = webhook_secret {
        match file.get_mut("webhooks") {
            Some(Value::Object(w)) => {
                w.insert("secret".into(), Value::String(secret));
            }
            _ => {
                file.insert("webhooks".into(), json!({ "secret": secret }));
            }
        }
    }
    let built =
        YourAppConfig::from_json(&Value::Object(file).to_string()).and_then(YourAppConnector::new);
    match built {
        Ok(c) => Ok(Arc::new(c)),
        Err(e) => {
            let m = e.message;
            let (setting, message) = if m.starts_with("auth") {
                (
                    Some("api_key"),
                    format!(
                        "is required (keep it out of files: `api_key: ${{YOUR_APP_KEY}}`); {m}"
                    ),
                )
            } else if let Some(setting) = setting_named_in(&m, &["base_url"]) {
                (Some(setting), m)
            } else if let Some(f) = &config_file {
                (Some("config"), format!("{f}: {m}"))
            } else {
                (None, m)
            };
            Err(vec![s.error(setting, message)])
        }
    }
}

/// Reads a connector config file (YAML) as a JSON object.
fn read_yaml_map(path: &Path) -> Result<Map<String, Value>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the connector config file {shown}: {e}"))?;
    match serde_saphyr::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(format!("{shown} must be a mapping of connector settings")),
        Err(e) => Err(format!("{shown} is not valid YAML: {e}")),
    }
}

fn resolve(dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}
