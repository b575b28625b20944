//! `ghl-bridge catalog`: every trigger and action the product offers (the `catalog` crate), as a
//! table for people or JSON for tools, filtered by app and type.

use catalog::{Entry, EntryType, APPS};

/// Options of `ghl-bridge catalog`.
#[derive(clap::Args, Debug)]
pub struct CatalogArgs {
    /// Print a JSON array of entries (id, app, type, title, description, inputs, outputs,
    /// snippet) instead of a table.
    #[arg(long)]
    json: bool,
    /// Only this app: ghl, your_app, investnext, invoco, insightly, salesnexus, schedule, manual,
    /// engine.
    #[arg(long)]
    app: Option<String>,
    /// Only triggers or only actions.
    #[arg(long = "type", value_name = "trigger|action")]
    kind: Option<String>,
    /// Print the number of entries per app (the table of docs/catalog.md) instead.
    #[arg(long, conflicts_with = "json")]
    counts: bool,
}

/// Prints the catalog.
pub fn run(args: CatalogArgs) -> Result<(), String> {
    if args.counts {
        print!("{}", catalog::counts_markdown());
        return Ok(());
    }
    let app = match args.app.as_deref() {
        Some(a) if APPS.iter().any(|(known, _)| *known == a) => Some(a),
        Some(a) => {
            let known: Vec<&str> = APPS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "--app: unknown app `{a}` (apps: {})",
                known.join(", ")
            ));
        }
        None => None,
    };
    let kind = match args.kind.as_deref() {
        Some(k) => Some(
            EntryType::parse(k)
                .ok_or_else(|| format!("--type: `{k}` is neither `trigger` nor `action`"))?,
        ),
        None => None,
    };
    let entries = catalog::filtered(app, kind);
    if args.json {
        let text = serde_json::to_string_pretty(&entries).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", table(&entries));
    }
    Ok(())
}

/// The inputs of an entry for the table: required ones marked `*`.
fn inputs(e: &Entry) -> String {
    e.inputs
        .iter()
        .filter(|f| f.name != "connection")
        .map(|f| {
            if f.required {
                format!("{}*", f.name)
            } else {
                f.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A plain-text table: id, title, inputs; then a count line.
fn table(entries: &[&Entry]) -> String {
    let id_w = entries.iter().map(|e| e.id.len()).max().unwrap_or(2).max(2);
    let title_w = entries
        .iter()
        .map(|e| e.title.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "{:id_w$}  {:title_w$}  INPUTS (* required)\n",
        "ID", "TITLE"
    );
    for e in entries {
        let pad = title_w - e.title.chars().count();
        out.push_str(&format!(
            "{:id_w$}  {}{}  {}\n",
            e.id,
            e.title,
            " ".repeat(pad),
            inputs(e)
        ));
    }
    let triggers = entries
        .iter()
        .filter(|e| e.kind == EntryType::Trigger)
        .count();
    out.push_str(&format!(
        "\n{} entries: {triggers} triggers, {} actions. `--json` for inputs, outputs and flow snippets.\n",
        entries.len(),
        entries.len() - triggers
    ));
    out
}
