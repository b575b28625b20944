//! `ghl-bridge templates`: the ready projects shipped in the binary. `templates [--json]` lists
//! them; `templates init <id> <dir>` writes one into a new folder (never over existing files)
//! and says what to fill in and how to run it.

use std::path::Path;

use clap::{Args, Subcommand};
use serde_json::json;

/// Options of `ghl-bridge templates`.
#[derive(Args, Debug, Clone)]
pub struct TemplatesArgs {
    #[command(subcommand)]
    pub action: Option<TemplatesAction>,
    /// List the templates as JSON (id, title, description, apps, use case, settings, files).
    #[arg(long)]
    pub json: bool,
}

/// What to do with the templates.
#[derive(Subcommand, Debug, Clone)]
pub enum TemplatesAction {
    /// Write a template's project (ghl-bridge.yaml, flows/, template.yaml) into a folder.
    Init {
        /// The template's id, as `ghl-bridge templates` lists it.
        id: String,
        /// The folder to create the project in (new or empty of these files).
        dir: std::path::PathBuf,
    },
}

/// Runs `ghl-bridge templates …`.
pub fn run(args: TemplatesArgs) -> Result<(), String> {
    match args.action {
        None => list(args.json),
        Some(TemplatesAction::Init { id, dir }) => init(&id, &dir),
    }
}

fn list(as_json: bool) -> Result<(), String> {
    let mut out = Vec::new();
    for t in templates::all() {
        let meta = t.meta().map_err(|e| e.to_string())?;
        out.push((t, meta));
    }
    if as_json {
        let list: Vec<_> = out
            .iter()
            .map(|(t, m)| {
                json!({
                    "id": t.id,
                    "title": m.title,
                    "description": m.description,
                    "apps": m.apps,
                    "use_case": m.use_case,
                    "settings": m.settings,
                    "run": m.run,
                    "next_steps": m.next_steps,
                    "files": t.files().map(|f| f.path).collect::<Vec<_>>(),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
        println!("{text}");
        return Ok(());
    }
    let width = out.iter().map(|(t, _)| t.id.len()).max().unwrap_or(0);
    for (t, m) in &out {
        println!("{:width$}  {}", t.id, m.title);
        println!("{:width$}  apps: {}", "", m.apps.join(", "));
    }
    println!();
    println!(
        "Start one: ghl-bridge templates init <id> <folder>   (details: --json, docs/templates.md)"
    );
    Ok(())
}

fn init(id: &str, dir: &Path) -> Result<(), String> {
    let Some(t) = templates::get(id) else {
        let ids = templates::ids();
        let hint = match engine::flow::did_you_mean(id, ids.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("known: {}", ids.join(", ")),
        };
        return Err(format!(
            "no template `{id}`; {hint} (`ghl-bridge templates` lists them)"
        ));
    };
    let meta = t.meta().map_err(|e| e.to_string())?;
    let written = t.write_to(dir).map_err(|e| e.to_string())?;
    println!("Created the `{}` project in {}:", t.id, dir.display());
    for p in &written {
        println!("  {}", p.display());
    }
    println!();
    println!("{}", meta.title);
    println!();
    println!("Next steps:");
    println!("  1. Set these environment variables (keys and tokens stay out of files):");
    let lines: Vec<(String, String)> = meta
        .required()
        .map(|s| {
            // A PEM key spans lines: read it from its file.
            let value = if s.env.ends_with("_PUBLIC_KEY") {
                "\"$(cat key.pem)\"".to_string()
            } else {
                "…".to_string()
            };
            let secret = if s.secret { "secret: " } else { "" };
            (
                format!("export {}={value}", s.env),
                format!("{secret}{}", s.about),
            )
        })
        .collect();
    let width = lines
        .iter()
        .map(|(c, _)| c.chars().count())
        .max()
        .unwrap_or(0);
    for (command, about) in &lines {
        println!("       {command:width$}   # {about}");
    }
    for s in meta.settings.iter().filter(|s| s.default.is_some()) {
        println!(
            "       optional: {} — {} (default {})",
            s.env,
            s.about,
            s.default.as_deref().unwrap_or_default()
        );
    }
    println!(
        "  2. Read the flows in {} and adjust them to your apps.",
        dir.join("flows").display()
    );
    println!("  3. Run it: cd {} && {}", shell_path(dir), meta.run);
    for (i, step) in meta.next_steps.iter().enumerate() {
        println!("  {}. {step}", i + 4);
    }
    Ok(())
}

/// A path as it can be pasted into a shell (quoted when it has spaces or quotes).
fn shell_path(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_the_shell_when_needed() {
        assert_eq!(shell_path(Path::new("my-project")), "my-project");
        assert_eq!(shell_path(Path::new("my project")), "'my project'");
        assert_eq!(shell_path(Path::new("it's")), "'it'\\''s'");
    }
}
