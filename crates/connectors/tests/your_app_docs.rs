//! Every YAML config example in docs/connectors/*.md reads and validates, so the documentation
//! cannot drift from what the connector accepts.

use connectors::your_app::{YourAppConfig, YourAppConnector};
use connectors::{Connector, EntityKind};

fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```yaml") => current = Some(String::new()),
            (Some(block), l) if l.starts_with("```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn documented_config_files_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/connectors");
    let mut seen = 0;
    for doc in ["your-app.md", "investnext.md", "invoco.md"] {
        let text = std::fs::read_to_string(format!("{dir}/{doc}")).expect("doc exists");
        for block in yaml_blocks(&text) {
            let config =
                YourAppConfig::from_yaml(&block).unwrap_or_else(|e| panic!("{doc}: {e}\n{block}"));
            let conn = YourAppConnector::new(config).expect("builds");
            assert!(conn.capabilities().kinds.contains(&EntityKind::Contact));
            seen += 1;
        }
    }
    assert!(seen >= 4, "examples found: {seen}");
}

#[test]
fn the_full_default_file_is_the_default() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/connectors");
    let text = std::fs::read_to_string(format!("{dir}/your-app.md")).expect("doc exists");
    let full = yaml_blocks(&text)
        .into_iter()
        .next()
        .expect("the full file");
    let mut read = YourAppConfig::from_yaml(&full).expect("reads");
    read.webhooks = None;
    let mut want = YourAppConfig::default_for("https://api.example.com/v1", "sk_live_…");
    want.webhooks = None;
    assert_eq!(
        read, want,
        "docs/connectors/your-app.md spells out the real defaults"
    );
}
