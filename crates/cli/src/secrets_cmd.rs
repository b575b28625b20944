//! `ghl-bridge secrets seal --connection NAME --setting S`: reads a secret from stdin and prints
//! it sealed (`sealed:v1:…`) with the project's key, for the project file in place of the plain
//! value. The sealed value opens only for that connection and setting.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use secrets::{seal_setting, KeySource, SecretKey};

/// Options of `ghl-bridge secrets`.
#[derive(Args, Debug, Clone)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub action: SecretsAction,
}

/// What to do with secrets.
#[derive(Subcommand, Debug, Clone)]
pub enum SecretsAction {
    /// Seal a secret read from stdin for one connection's setting; prints `sealed:v1:…`.
    Seal {
        /// The connection's name in ghl-bridge.yaml.
        #[arg(long)]
        connection: String,
        /// The setting, e.g. `token` or `api_key`.
        #[arg(long)]
        setting: String,
        /// The project folder whose `.ghl-bridge/secret.key` is used (unless
        /// GHL_BRIDGE_SECRET_KEY is set).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// Runs `ghl-bridge secrets …`.
pub fn run(args: SecretsArgs) -> Result<(), String> {
    match args.action {
        SecretsAction::Seal {
            connection,
            setting,
            dir,
        } => {
            let (key, source) = SecretKey::load(&dir).map_err(|e| e.to_string())?;
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| format!("reading the secret from stdin: {e}"))?;
            let plain = input.trim_end_matches(['\n', '\r']);
            if plain.trim().is_empty() {
                return Err("no secret on stdin: pipe the value in, e.g. \
                            `printf %s \"$GHL_TOKEN\" | ghl-bridge secrets seal …`"
                    .into());
            }
            println!("{}", seal_setting(&key, plain, &connection, &setting));
            let from = match source {
                KeySource::Env => "GHL_BRIDGE_SECRET_KEY".to_string(),
                KeySource::File(p) => p.display().to_string(),
            };
            eprintln!(
                "Sealed with the key from {from}. Put it in ghl-bridge.yaml as \
                 `{setting}: sealed:v1:…` under connection `{connection}`."
            );
            Ok(())
        }
    }
}
