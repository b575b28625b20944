//! `ghl-bridge init [--dir DIR]`: prepares a folder to run a project. It creates
//! `.ghl-bridge/secret.key` (the key that seals secrets in the project file) and
//! `.ghl-bridge/admin-token` (the admin API's bearer token), both random and readable only by
//! their owner, never overwriting either; prints the admin token once; and writes a starter
//! `ghl-bridge.yaml` (connections from `${VAR}`s, no flows) when the folder has none.

use std::path::{Path, PathBuf};

use clap::Args;
use secrets::{
    admin_token_path, generate_admin_token, key_path, write_new_private, SecretKey, KEY_ENV,
};

/// Options of `ghl-bridge init`.
#[derive(Args, Debug, Clone)]
pub struct InitArgs {
    /// The project folder (created if missing).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// The project file `init` writes when the folder has none: a GHL connection whose secrets come
/// from the environment, and no flows yet.
pub const STARTER_PROJECT: &str = "\
# ghl-bridge project. Docs: docs/flows.md (flows), docs/security.md (secrets).
# Set the variables below in the environment, or seal a secret into this file:
#   printf %s \"$GHL_TOKEN\" | ghl-bridge secrets seal --connection ghl --setting token
# and write `token: sealed:v1:...` instead of `token: ${GHL_TOKEN}`.
version: 1
connections:
  ghl:
    app: ghl
    location_id: ${GHL_LOCATION_ID}
    token: ${GHL_TOKEN}
  # Another app, e.g.:
  # crm:
  #   app: your_app
  #   base_url: ${CRM_URL}
  #   api_key: ${CRM_API_KEY}
# Flows are YAML files in this folder; none is written yet (see `ghl-bridge templates`).
flows: flows
";

/// What `init` did, file by file, for the user and for tests.
#[derive(Debug, Default)]
pub struct InitReport {
    /// The admin token, when `init` created it (shown once).
    pub new_admin_token: Option<String>,
    /// Lines saying what was created and what already existed.
    pub lines: Vec<String>,
}

/// Runs `ghl-bridge init`.
pub fn run(args: InitArgs) -> Result<(), String> {
    let report = init(&args.dir)?;
    for line in &report.lines {
        println!("{line}");
    }
    let token_file = admin_token_path(&args.dir);
    match &report.new_admin_token {
        Some(token) => {
            println!();
            println!(
                "Admin API token (shown only now; it is also in {}):",
                token_file.display()
            );
            println!("  {token}");
            println!("Send it as `Authorization: Bearer {token}` to the admin API.");
            println!(
                "`ghl-bridge serve` reads it from {} or from GHL_BRIDGE_ADMIN_TOKEN.",
                token_file.display()
            );
        }
        None => println!(
            "The admin token is in {} (`Authorization: Bearer <token>`).",
            token_file.display()
        ),
    }
    if std::env::var(KEY_ENV).is_ok_and(|v| !v.trim().is_empty()) {
        println!("Note: {KEY_ENV} is set, so it is used instead of the key file.");
    }
    println!();
    println!("Keep .ghl-bridge/ private and out of version control. See docs/security.md.");
    Ok(())
}

/// Does the work of `init` in `dir` without printing the token (see [`run`]).
pub fn init(dir: &Path) -> Result<InitReport, String> {
    let mut report = InitReport::default();
    let key_file = key_path(dir);
    if key_file.exists() {
        report.lines.push(format!(
            "exists, kept: {} (the key that seals secrets)",
            key_file.display()
        ));
    } else {
        write_new_private(&key_file, &SecretKey::generate().to_base64())
            .map_err(|e| e.to_string())?;
        report.lines.push(format!(
            "created: {} (the key that seals secrets; back it up, sealed values need it)",
            key_file.display()
        ));
    }
    let token_file = admin_token_path(dir);
    if token_file.exists() {
        report.lines.push(format!(
            "exists, kept: {} (the admin API token)",
            token_file.display()
        ));
    } else {
        let token = generate_admin_token();
        write_new_private(&token_file, &token).map_err(|e| e.to_string())?;
        report.lines.push(format!(
            "created: {} (the admin API token)",
            token_file.display()
        ));
        report.new_admin_token = Some(token);
    }
    // Keeps the key and token out of git even where a user forgets to ignore the folder.
    let ignore = dir.join(secrets::STATE_DIR).join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n").map_err(|e| format!("{}: {e}", ignore.display()))?;
    }
    let project = dir.join("ghl-bridge.yaml");
    if project.exists() {
        report
            .lines
            .push(format!("exists, kept: {}", project.display()));
    } else {
        let flows = dir.join("flows");
        std::fs::create_dir_all(&flows).map_err(|e| format!("{}: {e}", flows.display()))?;
        std::fs::write(&project, STARTER_PROJECT)
            .map_err(|e| format!("{}: {e}", project.display()))?;
        report.lines.push(format!(
            "created: {} (a starter: a GHL connection from GHL_LOCATION_ID and GHL_TOKEN, no \
             flows; or start from a ready project with `ghl-bridge templates init <id> <dir>`)",
            project.display()
        ));
    }
    Ok(report)
}
