//! `template.yaml`: what a template is for and what a user fills in before running it.

use serde::{Deserialize, Serialize};

/// A template's description, as listed by `ghl-bridge templates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// One line, e.g. "GHL tasks → InvestNext, with status and due dates".
    pub title: String,
    /// What it does, in a paragraph.
    pub description: String,
    /// The apps of its connections (`ghl`, `your_app`, `investnext`, `invoco` …).
    pub apps: Vec<String>,
    /// The use case it answers, in a few words.
    pub use_case: String,
    /// The environment variables its project file reads.
    pub settings: Vec<EnvSetting>,
    /// The command that runs it, from inside the project folder.
    pub run: String,
    /// More things to do with it (shown after `init`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_steps: Vec<String>,
}

/// One environment variable a user sets before running a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSetting {
    /// The variable's name, as written in `ghl-bridge.yaml` (`${GHL_TOKEN}`).
    pub env: String,
    /// What to put in it.
    pub about: String,
    /// A key or token: keep it out of files and shell history.
    #[serde(default)]
    pub secret: bool,
    /// The value used when it is not set (the project writes `${NAME:-default}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl Meta {
    /// Reads `template.yaml` text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let meta: Meta = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        for (field, value) in [
            ("title", &meta.title),
            ("description", &meta.description),
            ("use_case", &meta.use_case),
            ("run", &meta.run),
        ] {
            if value.trim().is_empty() {
                return Err(format!("`{field}` is empty"));
            }
        }
        if meta.apps.is_empty() {
            return Err("`apps` is empty".into());
        }
        if let Some(s) = meta.settings.iter().find(|s| s.about.trim().is_empty()) {
            return Err(format!("settings: `{}` has no `about`", s.env));
        }
        Ok(meta)
    }

    /// The settings without a default: what a user must set.
    pub fn required(&self) -> impl Iterator<Item = &EnvSetting> {
        self.settings.iter().filter(|s| s.default.is_none())
    }
}
