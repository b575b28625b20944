//! OAuth 2.0 as GHL runs it: the chooselocation consent page, `POST /oauth/token` for
//! `authorization_code` and `refresh_token` (form-encoded, per `oauth.json`), and the agency
//! endpoints `POST /oauth/locationToken` and `GET /oauth/installedLocations`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::auth::{IssuedTokens, TokenInfo, UserType, ALL_SCOPES};
use super::errors::{ApiError, ApiResult};
use super::Ghl;

type Params = Query<HashMap<String, String>>;

/// Routes that need no bearer token: consent and token exchange.
pub fn open_routes() -> Router<Arc<Ghl>> {
    Router::new()
        .route("/oauth/chooselocation", get(consent_page))
        .route("/v2/oauth/chooselocation", get(consent_page))
        .route("/oauth/chooselocation/approve", get(approve))
        .route("/oauth/token", post(token))
}

/// Agency-token routes; they pass the API gate like the Contacts API.
pub fn agency_routes() -> Router<Arc<Ghl>> {
    Router::new()
        .route("/oauth/locationToken", post(location_token))
        .route("/oauth/installedLocations", get(installed_locations))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\
         <body><h1>Authorization error</h1><p id=\"error\">{}</p></body></html>",
        escape(message)
    );
    (status, Html(body)).into_response()
}

/// Checks the consent request; returns the parsed scopes.
fn check_consent(g: &Ghl, p: &HashMap<String, String>) -> Result<BTreeSet<String>, String> {
    if p.get("response_type").map(String::as_str) != Some("code") {
        return Err("response_type must be code".into());
    }
    let client_id = p.get("client_id").ok_or("client_id is missing")?;
    if !g.auth.lock().apps.contains_key(client_id) {
        return Err(format!("Unknown client_id {client_id}"));
    }
    let redirect = p.get("redirect_uri").ok_or("redirect_uri is missing")?;
    if !(redirect.starts_with("http://") || redirect.starts_with("https://")) {
        return Err("redirect_uri must be an http(s) URL".into());
    }
    let scopes: BTreeSet<String> = p
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    if scopes.is_empty() {
        return Err("scope is missing".into());
    }
    if let Some(bad) = scopes.iter().find(|s| !ALL_SCOPES.contains(&s.as_str())) {
        return Err(format!("Unknown scope {bad}"));
    }
    Ok(scopes)
}

/// The chooselocation page: one "Allow" link per location of the agency.
async fn consent_page(State(g): State<Arc<Ghl>>, Query(p): Params) -> Response {
    let scopes = match check_consent(&g, &p) {
        Ok(s) => s,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let app_name = p
        .get("client_id")
        .and_then(|c| g.auth.lock().apps.get(c).map(|a| a.name.clone()))
        .unwrap_or_default();
    let mut items = String::new();
    for l in &g.store.read().locations {
        let mut q = p.clone();
        q.insert("location_id".into(), l.id.clone());
        let href = format!(
            "/oauth/chooselocation/approve?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        );
        items.push_str(&format!(
            "<li><a class=\"location\" data-location-id=\"{id}\" href=\"{href}\">Allow for {name}</a></li>",
            id = escape(&l.id),
            href = escape(&href),
            name = escape(&l.name)
        ));
    }
    let scope_list: Vec<String> = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Choose a location</title></head><body>\
         <h1>{app} wants access</h1><p>Scopes:</p><ul id=\"scopes\">{}</ul>\
         <p>Choose the sub-account to connect:</p><ul id=\"locations\">{items}</ul></body></html>",
        scope_list.join(""),
        app = escape(&app_name)
    ))
    .into_response()
}

/// Consent given: issue a code and send the browser back to `redirect_uri?code=…`.
async fn approve(State(g): State<Arc<Ghl>>, Query(p): Params) -> Response {
    let scopes = match check_consent(&g, &p) {
        Ok(s) => s,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let location = p.get("location_id").cloned().unwrap_or_default();
    let company = {
        let s = g.store.read();
        if s.location(&location).is_none() {
            return error_page(StatusCode::BAD_REQUEST, "Unknown location");
        }
        s.company_id.clone()
    };
    let client_id = p.get("client_id").cloned().unwrap_or_default();
    let redirect = p.get("redirect_uri").cloned().unwrap_or_default();
    let code =
        match g
            .auth
            .lock()
            .issue_code(&client_id, &company, Some(&location), scopes, &redirect)
        {
            Ok(c) => c,
            Err(e) => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    e.body["message"].as_str().unwrap_or("error"),
                )
            }
        };
    let mut q = vec![("code", code)];
    if let Some(state) = p.get("state") {
        q.push(("state", state.clone()));
    }
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let target = format!(
        "{redirect}{sep}{}",
        serde_urlencoded::to_string(&q).unwrap_or_default()
    );
    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
}

fn token_json(t: &IssuedTokens) -> Value {
    let mut v = json!({
        "access_token": t.access_token,
        "token_type": "Bearer",
        "expires_in": t.expires_in,
        "scope": t.info.scopes.iter().cloned().collect::<Vec<_>>().join(" "),
        "userType": match t.info.user_type { UserType::Location => "Location", UserType::Company => "Company" },
        "companyId": t.info.company_id,
        "userId": t.info.user_id,
        "isBulkInstallation": false,
    });
    if let Some(rt) = &t.refresh_token {
        v["refresh_token"] = json!(rt);
    }
    if let Some(l) = &t.info.location_id {
        v["locationId"] = json!(l);
    }
    v
}

fn form(body: &Bytes) -> ApiResult<HashMap<String, String>> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        ApiError::bad_request(format!(
            "The body must be application/x-www-form-urlencoded: {e}"
        ))
    })
}

/// `POST /oauth/token`.
async fn token(State(g): State<Arc<Ghl>>, body: Bytes) -> ApiResult<Json<Value>> {
    let f = form(&body)?;
    let missing: Vec<String> = ["client_id", "client_secret", "grant_type"]
        .iter()
        .filter(|k| f.get(**k).is_none_or(|v| v.is_empty()))
        .map(|k| format!("{k} should not be empty"))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::unprocessable(missing));
    }
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let user_type = match f.get("user_type") {
        None => UserType::Location,
        Some(u) => UserType::parse(u).ok_or_else(|| {
            ApiError::unprocessable(vec![
                "user_type must be one of the following values: Company, Location".into(),
            ])
        })?,
    };
    let issued = {
        let mut auth = g.auth.lock();
        match get("grant_type") {
        "authorization_code" => {
            if get("code").is_empty() {
                return Err(ApiError::unprocessable(vec!["code should not be empty".into()]));
            }
            auth.exchange_code(get("client_id"), get("client_secret"), get("code"), f.get("redirect_uri").map(String::as_str), user_type)?
        }
        "refresh_token" => {
            if get("refresh_token").is_empty() {
                return Err(ApiError::unprocessable(vec!["refresh_token should not be empty".into()]));
            }
            auth.refresh(get("client_id"), get("client_secret"), get("refresh_token"))?
        }
        "client_credentials" => return Err(ApiError::bad_request("client_credentials is not enabled for this app")),
        _ => {
            return Err(ApiError::unprocessable(vec![
                "grant_type must be one of the following values: authorization_code, refresh_token, client_credentials".into(),
            ]))
        }
    }
    };
    if let Some(location) = &issued.newly_installed {
        g.announce_install(&issued.info.app_id, location, true);
    }
    Ok(Json(token_json(&issued)))
}

/// `POST /oauth/locationToken` (agency token, `oauth.write`).
async fn location_token(
    State(g): State<Arc<Ghl>>,
    Extension(t): Extension<TokenInfo>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let f = form(&body)?;
    let company = f.get("companyId").cloned().unwrap_or_default();
    let location = f.get("locationId").cloned().unwrap_or_default();
    let mut missing = Vec::new();
    for (k, v) in [("companyId", &company), ("locationId", &location)] {
        if v.is_empty() {
            missing.push(format!("{k} should not be empty"));
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::unprocessable(missing));
    }
    if company != t.company_id {
        return Err(ApiError::forbidden(
            "The token does not have access to this company.",
        ));
    }
    if g.store.read().location(&location).is_none() {
        return Err(ApiError::bad_request("Location not found"));
    }
    let issued = g.auth.lock().location_token(&t, &location)?;
    let mut v = token_json(&issued);
    v["appId"] = json!(t.app_id);
    if let Some(o) = v.as_object_mut() {
        for k in ["companyId", "userType", "isBulkInstallation"] {
            o.remove(k);
        }
    }
    Ok(Json(v))
}

/// `GET /oauth/installedLocations` (agency token, `oauth.readonly`).
async fn installed_locations(
    State(g): State<Arc<Ghl>>,
    Extension(t): Extension<TokenInfo>,
    Query(p): Params,
) -> ApiResult<Json<Value>> {
    if p.get("companyId") != Some(&t.company_id) {
        return Err(ApiError::forbidden(
            "The token does not have access to this company.",
        ));
    }
    let app_id = p.get("appId").cloned().unwrap_or_default();
    let installed = g
        .auth
        .lock()
        .apps
        .get(&app_id)
        .map(|a| (a.installed_locations.clone(), a.version_id.clone()));
    let Some((installed, version)) = installed else {
        return Err(ApiError::bad_request("App not found"));
    };
    let num = |k: &str, d: usize| p.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let want_installed = p.get("isInstalled").map(|v| v == "true");
    let query = p.get("query").map(|q| q.to_lowercase());
    let s = g.store.read();
    let all: Vec<Value> = s
        .locations
        .iter()
        .filter(|l| want_installed.is_none_or(|w| installed.contains(&l.id) == w))
        .filter(|l| {
            query
                .as_ref()
                .is_none_or(|q| l.name.to_lowercase().contains(q))
        })
        .map(|l| {
            json!({"_id": l.id, "name": l.name, "address": l.address,
                   "isInstalled": installed.contains(&l.id), "versionId": version})
        })
        .collect();
    let count = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(num("skip", 0))
        .take(num("limit", 20))
        .collect();
    Ok(Json(
        json!({"locations": page, "count": count, "installToFutureLocations": false}),
    ))
}
