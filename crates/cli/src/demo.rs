//! `ghl-bridge demo`: the one command that shows the product on a fresh machine. For now it runs
//! the GHL sandbox with seed data and prints ready-to-paste `curl` lines that work as printed.

use clap::Args;

use crate::sandbox_cmd::{until_stopped, GhlArgs};

/// Options of the demo.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Port of the GHL sandbox on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Contacts generated per location.
    #[arg(long, default_value_t = 200)]
    contacts: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print the banner and exit instead of running until Ctrl-C.
    #[arg(long)]
    once: bool,
}

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

pub async fn run(args: DemoArgs) -> Result<(), String> {
    let ghl = GhlArgs {
        port: args.port,
        seed: args.seed,
        contacts: args.contacts,
        locations: 1,
        webhook_url: None,
        token_ttl: 86_399,
        burst_max: 100,
        burst_interval_ms: 10_000,
        daily_max: 200_000,
        keys_dir: None,
    };
    let sandbox = ghl.start().await?;
    let creds = sandbox.credentials();
    let token = sandbox.token();
    let location = sandbox.location_id();
    let contact_id = {
        let store = sandbox.state.store.read();
        let mut with_tasks: Vec<_> = store
            .contacts_in(&location)
            .filter(|c| store.tasks.get(&c.id).is_some_and(|t| !t.is_empty()))
            .collect();
        with_tasks.sort_by(|a, b| a.date_added.cmp(&b.date_added).then(a.id.cmp(&b.id)));
        with_tasks.first().map(|c| c.id.clone()).unwrap_or_default()
    };
    let counts = sandbox.state.store.read().counts();
    println!("ghl-bridge demo: GoHighLevel sandbox is running\n");
    println!("  base URL      {}", sandbox.base_url);
    println!("  location id   {location}");
    println!(
        "  token         {token}   (Private Integration Token, contacts.readonly + contacts.write)"
    );
    println!(
        "  OAuth app     client_id={}  (client secret: GET {}/_sandbox/credentials)",
        creds.client_id, sandbox.base_url
    );
    println!("  consent page  {}/oauth/chooselocation?response_type=code&client_id={}&redirect_uri=http://127.0.0.1:9/callback&scope=contacts.readonly%20contacts.write", sandbox.base_url, creds.client_id);
    println!("  seed data     {counts}\n");
    println!("Try it:\n");
    for (what, line) in curl_lines(&sandbox.base_url, &token, &location, &contact_id) {
        println!("# {what}\n{line}\n");
    }
    println!(
        "Admin API: {}/_sandbox/  (docs/sandbox.md lists every knob)",
        sandbox.base_url
    );
    if args.once {
        sandbox.shutdown().await;
        return Ok(());
    }
    println!("Press Ctrl-C to stop.");
    until_stopped().await;
    sandbox.shutdown().await;
    Ok(())
}
