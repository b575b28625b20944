//! Approving the sandbox's consent page as a person would, for tests and scripts that drive an
//! OAuth connect end to end without a browser: open the consent URL, follow its "Allow" link
//! (first location) and return where the sandbox sends the browser — the app's redirect URI
//! with `code` and `state`.

/// Opens `consent_url` (a `/oauth/chooselocation?...` URL of the sandbox at `base`), follows the
/// page's "Allow" link and returns the redirect target. Errors say which step failed.
pub async fn approve(base: &str, consent_url: &str) -> Result<String, String> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let html = http
        .get(consent_url)
        .send()
        .await
        .map_err(|e| format!("consent page: {e}"))?
        .text()
        .await
        .map_err(|e| format!("consent page: {e}"))?;
    let at = html
        .find("href=\"/oauth/chooselocation/approve?")
        .ok_or_else(|| format!("no Allow link on the consent page:\n{html}"))?
        + "href=\"".len();
    let end = at + html[at..].find('"').ok_or("unterminated Allow link")?;
    let href = html[at..end].replace("&amp;", "&");
    let resp = http
        .get(format!("{}{href}", base.trim_end_matches('/')))
        .send()
        .await
        .map_err(|e| format!("approve: {e}"))?;
    if resp.status().as_u16() != 302 {
        return Err(format!(
            "approve answered {}, not a redirect",
            resp.status()
        ));
    }
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| "approve answered no Location".into())
}
