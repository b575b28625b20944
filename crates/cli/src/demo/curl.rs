//! The GHL sandbox's ready-to-paste `curl` lines, printed by the demo so a user can poke the
//! GHL emulator by hand (`crates/cli/tests/cli.rs` runs each one exactly as printed).

/// The example calls printed by the demo, each a complete shell command.
pub fn curl_lines(
    base: &str,
    token: &str,
    location: &str,
    contact_id: &str,
) -> Vec<(String, String)> {
    let h = format!("-H 'Authorization: Bearer {token}' -H 'Version: 2021-07-28'");
    vec![
        (
            "Search the first 5 contacts, newest first".into(),
            format!(
                "curl -s -X POST {base}/contacts/search {h} -H 'Content-Type: application/json' \
                 -d '{{\"locationId\":\"{location}\",\"pageLimit\":5}}'"
            ),
        ),
        ("Read one contact".into(), format!("curl -s {base}/contacts/{contact_id} {h}")),
        ("Its tasks".into(), format!("curl -s {base}/contacts/{contact_id}/tasks {h}")),
        (
            "Create a contact".into(),
            format!(
                "curl -s -X POST {base}/contacts/ {h} -H 'Content-Type: application/json' \
                 -d '{{\"locationId\":\"{location}\",\"firstName\":\"Dana\",\"lastName\":\"Demo\",\"email\":\"dana.demo@example.com\",\"tags\":[\"demo\"]}}'"
            ),
        ),
        (
            "Add a note".into(),
            format!(
                "curl -s -X POST {base}/contacts/{contact_id}/notes {h} -H 'Content-Type: application/json' \
                 -d '{{\"body\":\"Called from the demo\"}}'"
            ),
        ),
        ("See the last requests the sandbox served".into(), format!("curl -s '{base}/_sandbox/requests?limit=5'")),
    ]
}
