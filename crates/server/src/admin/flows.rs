//! Flow files over the admin API: read, create, replace and delete `flows/<name>.yaml` in the
//! project folder, dry-run a flow on a sample record, and switch a running flow off and on.
//!
//! A flow is checked with the project's own flow parser, against the project's connections,
//! before anything is written: an invalid flow answers 422 with every diagnostic (line, column,
//! field) in `details.diagnostics` and leaves the folder untouched. Files are written to a
//! temporary file in the same folder and renamed over the target, so a crash never leaves half a
//! flow. Created, replaced and deleted flows take effect when the server restarts (connectors are
//! built for the flows loaded at start-up), which every answer says with `restart_required`.
//! Enable and disable apply at once (see `engine::flow_state`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use connectors::{EntityKind, Record};
use engine::flow::{dry_run_with, parse_flow, Direction, DryRunOptions, Flow, FlowBody};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::validate::DiagnosticOut;
use crate::AppState;

/// Largest flow file or dry-run body accepted (256 KiB).
const MAX_BODY: usize = 256 << 10;

/// A flow file and what the server does with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowDetailOut {
    pub name: String,
    /// `sync` or `actions`.
    pub kind: String,
    /// `enabled:` in the file.
    pub enabled_in_file: bool,
    /// Switched off at runtime (`POST /flows/{name}/disable`).
    pub disabled_at_runtime: bool,
    /// Loaded by the running server (false for a flow created since it started).
    pub running: bool,
    /// The file, relative to the project folder.
    pub file: String,
    /// The file's text.
    pub yaml: String,
}

/// The answer to a create, replace or delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowWriteOut {
    pub name: String,
    pub file: String,
    /// Always true: the running server keeps the flows it started with until restarted.
    pub restart_required: bool,
}

/// The answer to enable or disable.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowSwitchOut {
    pub name: String,
    pub enabled: bool,
    /// False: the switch applies to the running engine at once.
    pub restart_required: bool,
}

/// A flow to create or replace, as JSON (a YAML body works too).
#[derive(Debug, Deserialize, ToSchema)]
pub struct FlowIn {
    /// Must match the `name:` in the YAML when given.
    pub name: Option<String>,
    /// The flow file's text.
    pub yaml: String,
}

/// A sample record to dry-run a flow on.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DryRunIn {
    /// `contact`, `opportunity`, `task`, …
    #[schema(value_type = String)]
    pub kind: EntityKind,
    /// The record's id in its app (default `sample`).
    pub id: Option<String>,
    pub parent_id: Option<String>,
    /// The record's fields, in canonical names.
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// `to_target` (default) or `to_source` (a target record of a two-way sync).
    pub direction: Option<String>,
}

fn store_err(e: engine::store::StoreError) -> ApiError {
    ApiError::from(e)
}

/// The folder flow files live in, or 503 when the server was started without a project.
fn flows_dir(s: &AppState) -> Result<&Path, ApiError> {
    s.admin.flows_dir.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_project",
            "this server was started without a project folder, so it cannot read or write flow files",
        )
    })
}

/// `(file, flow name)` of every flow file in the folder that parses (broken files are skipped:
/// they are reported by `ghl-bridge validate`).
pub fn scan(s: &AppState, dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, String)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let flow = parse_flow(&text, &p.display().to_string(), &s.admin.apps).ok()?;
            Some((p, flow.name))
        })
        .collect();
    out.sort();
    out
}

/// The file of the flow called `name`, if the folder has one.
pub fn file_of(s: &AppState, dir: &Path, name: &str) -> Option<PathBuf> {
    scan(s, dir)
        .into_iter()
        .find(|(_, n)| n == name)
        .map(|(p, _)| p)
}

/// A file name for a flow name: lower case letters, digits, `-` and `_`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// `flows/x.yaml`: how files are shown (relative to the project folder, never absolute).
pub fn shown(dir: &Path, file: &Path) -> String {
    let folder = dir
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if folder.is_empty() {
        name
    } else {
        format!("{folder}/{name}")
    }
}

pub fn kind_of(f: &Flow) -> &'static str {
    match f.body {
        FlowBody::Sync(_) => "sync",
        FlowBody::Actions(_) => "actions",
    }
}

/// Reads a flow body: JSON `{name, yaml}` when the content type says JSON, else the YAML text.
async fn flow_body(headers: &HeaderMap, body: Body) -> Result<(Option<String>, String), ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {MAX_BODY} bytes"),
        )
    })?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        let v: FlowIn = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("the JSON body must be {{\"name\", \"yaml\"}}: {e}"),
            )
            .with_details(json!({"line": e.line(), "col": e.column()}))
        })?;
        return Ok((v.name, v.yaml));
    }
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("the body is not UTF-8 text: {e}"),
        )
    })?;
    Ok((None, text))
}

/// Parses a flow as the project loader does; 422 with every diagnostic when it is invalid.
pub fn check(s: &AppState, text: &str, file: &str) -> Result<Flow, ApiError> {
    parse_flow(text, file, &s.admin.apps).map_err(|e| {
        let diags: Vec<DiagnosticOut> = e
            .diagnostics
            .into_iter()
            .map(|d| DiagnosticOut {
                line: d.line,
                col: d.col,
                field: d.path,
                message: d.message,
                help: d.help,
            })
            .collect();
        let first = diags.first().map_or_else(String::new, |d| {
            format!(" (first: line {}, column {}: {})", d.line, d.col, d.message)
        });
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_flow",
            format!(
                "the flow has {} problem(s){first}; nothing was written",
                diags.len()
            ),
        )
        .with_details(json!({ "file": file, "diagnostics": diags }))
    })
}

/// 422 when a name given beside the YAML differs from the flow's own.
fn same_name(expected: &str, flow: &Flow, field: &str) -> Result<(), ApiError> {
    if flow.name == expected {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "name_mismatch",
        format!(
            "the flow file is named `{}` but the request says `{expected}`; make them the same \
             (renaming is delete + create)",
            flow.name
        ),
    )
    .with_details(json!({"field": field, "expected": expected, "found": flow.name})))
}

/// Writes `text` to `file` through a temporary file in the same folder and a rename, so readers
/// (and a crash) see the old file or the new one, never a mix.
fn write_atomically(file: &Path, text: &str) -> Result<(), ApiError> {
    use std::io::Write;
    let dir = file.parent().unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // Starts with a dot and ends in `.tmp`: the loader reads only `*.yaml`, never this.
    let tmp = dir.join(format!(".{name}.{}-{stamp}.tmp", std::process::id()));
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, file = %file.display(), "could not write a flow file");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "write_failed",
            format!("could not write the flow file: {e}; check the flows folder's permissions"),
        )
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

fn unknown_flow(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "no flow named `{name}` (GET /api/v1/flows lists them)"
    ))
    .with_details(json!({"flow": name}))
}

/// One flow: its file's text and state.
#[utoipa::path(get, path = "/api/v1/flows/{name}", params(("name" = String, Path, description = "flow name")),
    responses((status = 200, body = FlowDetailOut), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_flow(
    State(s): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let dir = flows_dir(&s)?;
    let file = file_of(&s, dir, &name).ok_or_else(|| unknown_flow(&name))?;
    let yaml = std::fs::read_to_string(&file).map_err(|_| unknown_flow(&name))?;
    let flow = check(&s, &yaml, &shown(dir, &file))?;
    Ok(Json(FlowDetailOut {
        kind: kind_of(&flow).into(),
        enabled_in_file: flow.enabled,
        disabled_at_runtime: s.engine.options.disabled_flows.contains(&name),
        running: s.engine.flows.iter().any(|f| f.name == name),
        file: shown(dir, &file),
        name,
        yaml,
    })
    .into_response())
}

/// Creates a flow file (`flows/<name>.yaml`) from a YAML body or JSON `{name, yaml}`.
#[utoipa::path(post, path = "/api/v1/flows",
    request_body(content = FlowIn, description = "JSON {name, yaml}, or the YAML itself as application/yaml"),
    responses((status = 201, body = FlowWriteOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_flow(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let dir = flows_dir(&s)?;
    let (name, text) = flow_body(&headers, body).await?;
    let _guard = s.admin.write_lock.lock().await;
    let flow = check(&s, &text, "(request body)")?;
    if let Some(n) = &name {
        same_name(n, &flow, "name")?;
    }
    let file_name = slug(&flow.name);
    if file_name.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_name",
            "the flow name needs at least one letter or digit (it names the file)",
        )
        .with_details(json!({"field": "name"})));
    }
    let file = dir.join(format!("{file_name}.yaml"));
    let taken = scan(&s, dir).into_iter().any(|(_, n)| n == flow.name)
        || s.engine.flows.iter().any(|f| f.name == flow.name);
    if taken || file.exists() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "flow_exists",
            format!(
                "a flow named `{}` (or its file {}) already exists; replace it with PUT /api/v1/flows/{{name}}",
                flow.name,
                shown(dir, &file)
            ),
        )
        .with_details(json!({"flow": flow.name, "file": shown(dir, &file)})));
    }
    write_atomically(&file, &text)?;
    tracing::info!(flow = %flow.name, file = %file.display(), "flow created over the admin API; takes effect on restart");
    let out = FlowWriteOut {
        name: flow.name,
        file: shown(dir, &file),
        restart_required: true,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Replaces a flow's file; the YAML's `name:` must stay the same.
#[utoipa::path(put, path = "/api/v1/flows/{name}", params(("name" = String, Path, description = "flow name")),
    request_body(content = FlowIn, description = "JSON {name, yaml}, or the YAML itself as application/yaml"),
    responses((status = 200, body = FlowWriteOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update_flow(
    State(s): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let dir = flows_dir(&s)?;
    let (given, text) = flow_body(&headers, body).await?;
    let _guard = s.admin.write_lock.lock().await;
    let file = file_of(&s, dir, &name).ok_or_else(|| unknown_flow(&name))?;
    let flow = check(&s, &text, &shown(dir, &file))?;
    if let Some(g) = given.filter(|g| *g != name) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "name_mismatch",
            format!("the body names flow `{g}` but the URL names `{name}`; make them the same"),
        )
        .with_details(json!({"field": "name", "expected": name, "found": g})));
    }
    same_name(&name, &flow, "name")?;
    write_atomically(&file, &text)?;
    tracing::info!(flow = %name, file = %file.display(), "flow replaced over the admin API; takes effect on restart");
    Ok(Json(FlowWriteOut {
        name,
        file: shown(dir, &file),
        restart_required: true,
    })
    .into_response())
}

/// Deletes a flow's file (and its runtime switch). Queued jobs of the flow stay queued.
#[utoipa::path(delete, path = "/api/v1/flows/{name}", params(("name" = String, Path, description = "flow name")),
    responses((status = 200, body = FlowWriteOut), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete_flow(
    State(s): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let dir = flows_dir(&s)?;
    let _guard = s.admin.write_lock.lock().await;
    let file = file_of(&s, dir, &name).ok_or_else(|| unknown_flow(&name))?;
    std::fs::remove_file(&file).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "write_failed",
            format!("could not delete {}: {e}", shown(dir, &file)),
        )
    })?;
    // A flow created again under this name starts without the old switch.
    if !s.engine.flows.iter().any(|f| f.name == name) {
        engine::flow_state::set_enabled(s.engine.store.as_ref(), &name, true)
            .await
            .map_err(store_err)?;
    }
    tracing::info!(flow = %name, file = %file.display(), "flow deleted over the admin API; takes effect on restart");
    Ok(Json(FlowWriteOut {
        name,
        file: shown(dir, &file),
        restart_required: true,
    })
    .into_response())
}

/// The flow as the folder has it now, else as the server loaded it.
pub fn flow_named(s: &AppState, name: &str) -> Result<Flow, ApiError> {
    if let Some(dir) = s.admin.flows_dir.as_deref() {
        if let Some(file) = file_of(s, dir, name) {
            let text = std::fs::read_to_string(&file).map_err(|_| unknown_flow(name))?;
            return check(s, &text, &shown(dir, &file));
        }
    }
    s.engine
        .flows
        .iter()
        .find(|f| f.name == name)
        .cloned()
        .ok_or_else(|| unknown_flow(name))
}

/// What a flow would do with a sample record (mapped fields, planned actions, warnings),
/// without calling any app.
#[utoipa::path(post, path = "/api/v1/flows/{name}/dry-run", params(("name" = String, Path, description = "flow name")),
    request_body(content = DryRunIn),
    responses((status = 200, description = "before, after, warnings, skipped_by_filter, actions", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn dry_run(
    State(s): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let flow = flow_named(&s, &name)?;
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {MAX_BODY} bytes"),
        )
    })?;
    let input: DryRunIn = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("the body must be a sample record {{\"kind\", \"fields\", \"id\"?, \"direction\"?}}: {e}"),
        )
        .with_details(json!({"line": e.line(), "col": e.column()}))
    })?;
    let direction = match input.direction.as_deref() {
        None | Some("to_target") => Direction::ToTarget,
        Some("to_source") => Direction::ToSource,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("`direction` is `{other}`; use `to_target` or `to_source`"),
            )
            .with_details(json!({"field": "direction"})))
        }
    };
    let mut sample = Record::new(
        input.kind,
        input.id.unwrap_or_else(|| "sample".into()),
        input.fields,
    );
    sample.parent_id = input.parent_id;
    let opts = DryRunOptions {
        direction,
        ..DryRunOptions::default()
    };
    let run = dry_run_with(&flow, &sample, &opts).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "dry_run_refused",
            e.to_string(),
        )
        .with_details(json!({"flow": name}))
    })?;
    Ok(Json(run).into_response())
}

/// Switches a running flow on or off at once (persisted; shared by the admin API and the
/// dashboard, so both refuse the same cases with the same messages).
pub async fn switch(s: &AppState, name: String, enabled: bool) -> Result<Response, ApiError> {
    let Some(flow) = s.engine.flows.iter().find(|f| f.name == name) else {
        let on_disk = s
            .admin
            .flows_dir
            .as_deref()
            .and_then(|d| file_of(s, d, &name))
            .is_some();
        if on_disk {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_running",
                format!("flow `{name}` was created after the server started; restart the server to load it"),
            )
            .with_details(json!({"flow": name})));
        }
        return Err(unknown_flow(&name));
    };
    if enabled && !flow.enabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "disabled_in_file",
            format!("flow `{name}` says `enabled: false` in its file; set `enabled: true` there and restart"),
        )
        .with_details(json!({"flow": name, "file": flow.file})));
    }
    engine::flow_state::set_enabled(s.engine.store.as_ref(), &name, enabled)
        .await
        .map_err(store_err)?;
    s.engine.options.disabled_flows.set(&name, enabled);
    tracing::info!(flow = %name, enabled, "flow switched over the admin API");
    Ok(Json(FlowSwitchOut {
        name,
        enabled,
        restart_required: false,
    })
    .into_response())
}

/// Switches a running flow back on (removes the runtime override); applies at once.
#[utoipa::path(post, path = "/api/v1/flows/{name}/enable", params(("name" = String, Path, description = "flow name")),
    responses((status = 200, body = FlowSwitchOut), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn enable(
    State(s): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    switch(&s, name, true).await
}

/// Switches a running flow off: its new events and schedule ticks start no jobs (queued jobs
/// still run). Persisted, so it stays off across restarts until enabled.
#[utoipa::path(post, path = "/api/v1/flows/{name}/disable", params(("name" = String, Path, description = "flow name")),
    responses((status = 200, body = FlowSwitchOut), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn disable(
    State(s): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    switch(&s, name, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("Welcome Call"), "welcome-call");
        assert_eq!(slug("../etc/passwd"), "etc-passwd");
        assert_eq!(slug("sync_contacts-2"), "sync_contacts-2");
        assert_eq!(slug("  !! "), "");
    }
}
