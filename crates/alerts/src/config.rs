//! The alerts file (`alerts.yaml`, next to `ghl-bridge.yaml`): channels, rules and the check
//! interval. It is its own file so the project file's parser stays untouched; `${VAR}` and
//! `${VAR:-default}` read the environment the same way the project file does, so webhook URLs
//! and SMTP passwords never live in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::Value;

use crate::secret::Secret;

/// A configuration problem, naming the field (`rules[2].condition.percent`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// Path of the offending field.
    pub field: String,
    /// What is wrong, without any secret value.
    pub message: String,
}

impl ConfigError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The whole alerts file, validated.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// How often rules are evaluated.
    pub interval: Duration,
    /// Named delivery targets.
    pub channels: BTreeMap<String, ChannelConfig>,
    /// Rules, in file order.
    pub rules: Vec<Rule>,
}

/// Where a notification goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    /// JSON POST of the alert event; with `hmac_secret`, signed in `X-Alert-Signature`.
    Webhook {
        /// Target URL (secret: it often carries a token).
        url: Secret,
        /// HMAC-SHA256 key for the signature header.
        #[serde(default)]
        hmac_secret: Option<Secret>,
    },
    /// Slack-compatible incoming webhook: `{"text": …, "blocks": …}`.
    Slack {
        /// Incoming-webhook URL (secret: the path is the token).
        url: Secret,
        /// Also send Block Kit blocks (some Slack-compatible receivers reject them).
        #[serde(default = "yes")]
        blocks: bool,
    },
    /// Plain SMTP email (see [`EmailConfig`]).
    Email(EmailConfig),
}

fn yes() -> bool {
    true
}

/// SMTP settings. The connection is encrypted unless the relay is on this host: `tls`
/// defaults to `starttls` (port 587), `implicit` is TLS from the first byte (port 465), and
/// `none` (port 25) is the default only for a relay on loopback. A password is refused over
/// `none` unless the relay is on loopback, so credentials never cross a network in clear text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Server host name or address (also the name its certificate must carry).
    pub host: String,
    /// Server port; default from `tls` (587, 465, or 25).
    #[serde(default)]
    pub port: Option<u16>,
    /// How the connection is encrypted; default `starttls`, or `none` for a loopback relay.
    #[serde(default)]
    pub tls: Option<SmtpTls>,
    /// A PEM file of extra trusted certificates (a relay with a self-signed or private-CA
    /// certificate), on top of the system's roots.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// AUTH user name (PLAIN, or LOGIN when the server offers only that).
    #[serde(default)]
    pub username: Option<String>,
    /// AUTH password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Sender address.
    pub from: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    /// Name sent in EHLO.
    #[serde(default = "hello_name")]
    pub hello_name: String,
}

/// How an SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS before anything else is sent; a server that
    /// does not offer STARTTLS is an error, never a silent fallback to clear text.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Implicit,
    /// No encryption: for a relay on the same host.
    None,
}

impl EmailConfig {
    /// Whether the relay is on this host (where clear text never leaves the machine).
    pub fn loopback(&self) -> bool {
        matches!(
            self.host.as_str(),
            "localhost" | "127.0.0.1" | "::1" | "[::1]"
        )
    }

    /// The encryption in effect: as set, else `none` on loopback and `starttls` elsewhere.
    pub fn tls(&self) -> SmtpTls {
        self.tls.unwrap_or(if self.loopback() {
            SmtpTls::None
        } else {
            SmtpTls::Starttls
        })
    }

    /// The port in effect: as set, else the usual one for the encryption.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls() {
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        })
    }
}

fn hello_name() -> String {
    "ghl-bridge".into()
}

/// One alert rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name, shown in notifications.
    pub name: String,
    /// What makes it fire.
    pub condition: Condition,
    /// Channel names to notify.
    pub channels: Vec<String>,
    /// Minimum time between two "firing" notifications of a rule that keeps firing.
    pub cooldown: Duration,
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// At least `min_new` jobs went to the dead-letter queue within `window`.
    DlqGrowth {
        /// New dead jobs needed to fire.
        min_new: u64,
        /// Look-back window.
        window: Dur,
    },
    /// Failed API calls / all API calls in the audit trail within `window` ≥ `percent`.
    ErrorRate {
        /// Threshold, 0–100.
        percent: f64,
        /// Look-back window.
        window: Dur,
        /// Fewer calls than this never fire (one failure out of one call is no trend).
        #[serde(default = "min_calls")]
        min_calls: u64,
    },
    /// The longest-waiting due job has waited at least `max_age`.
    Delay {
        /// Age that fires.
        max_age: Dur,
    },
    /// A connection needs someone to reconnect it: its status is `needs_reauth`, or it got at
    /// least `min_401` answers 401 within `window`.
    ReconnectNeeded {
        /// Look-back window for 401 answers.
        #[serde(default = "reconnect_window")]
        window: Dur,
        /// 401 answers needed to fire.
        #[serde(default = "one")]
        min_401: u64,
    },
    /// A connector's remaining budget share is at or below `max_left` (0–1).
    QuotaLow {
        /// Fraction left that fires, e.g. 0.1.
        max_left: f64,
        /// Which budget: `daily` (default) or `burst`.
        #[serde(default)]
        budget: BudgetKind,
    },
}

fn min_calls() -> u64 {
    20
}

fn one() -> u64 {
    1
}

fn reconnect_window() -> Dur {
    Dur(Duration::from_secs(900))
}

/// Which of a connector's budgets `quota_low` watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    /// The per-day budget.
    #[default]
    Daily,
    /// The burst window.
    Burst,
}

/// A duration written `30s`, `15m`, `2h`, `1d` (or a number of seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .map(|s| Dur(Duration::from_secs(s)))
                .ok_or_else(|| de::Error::custom("expected whole seconds or e.g. `15m`")),
            Value::String(s) => parse_duration(&s).map(Dur).map_err(de::Error::custom),
            _ => Err(de::Error::custom(
                "expected a duration such as `30s`, `15m`, `2h`",
            )),
        }
    }
}

/// Parses `30s`, `15m`, `2h`, `1d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write e.g. `30s`, `15m`, `2h`"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit `{unit}`; use s, m, h or d")),
    };
    Ok(Duration::from_secs(n * mult))
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Secret::new(s)),
            _ => Err(de::Error::custom("expected a string")),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    interval: Option<Dur>,
    #[serde(default)]
    channels: BTreeMap<String, Value>,
    #[serde(default)]
    rules: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    condition: Value,
    channels: Vec<String>,
    #[serde(default)]
    cooldown: Option<Dur>,
}

/// Parses and validates alerts YAML, reading `${VAR}` through `env`.
pub fn parse_alerts(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AlertsConfig, ConfigError> {
    let tree: Value = serde_saphyr::from_str(text)
        .map_err(|e| ConfigError::new("(file)", format!("not valid YAML: {e}")))?;
    let mut substituted = Vec::new();
    let tree = interpolate(tree, "", env, &mut substituted)?;
    let scrub = |msg: String| scrub(msg, &substituted);
    let raw: RawFile = serde_json::from_value(tree)
        .map_err(|e| ConfigError::new("(top level)", scrub(e.to_string())))?;

    let mut channels = BTreeMap::new();
    for (name, value) in raw.channels {
        let field = format!("channels.{name}");
        let channel: ChannelConfig = serde_json::from_value(value)
            .map_err(|e| ConfigError::new(&field, scrub(e.to_string())))?;
        validate_channel(&field, &channel)?;
        channels.insert(name, channel);
    }

    let mut names = BTreeSet::new();
    let mut rules = Vec::new();
    for (i, value) in raw.rules.into_iter().enumerate() {
        let field = format!("rules[{i}]");
        let r: RawRule = serde_json::from_value(value)
            .map_err(|e| ConfigError::new(&field, scrub(e.to_string())))?;
        if r.name.trim().is_empty() {
            return Err(ConfigError::new(
                format!("{field}.name"),
                "must not be empty",
            ));
        }
        if !names.insert(r.name.clone()) {
            return Err(ConfigError::new(
                format!("{field}.name"),
                format!("`{}` is used by another rule", r.name),
            ));
        }
        let cfield = format!("{field}.condition");
        let condition: Condition = serde_json::from_value(r.condition)
            .map_err(|e| ConfigError::new(&cfield, scrub(e.to_string())))?;
        validate_condition(&cfield, &condition)?;
        if r.channels.is_empty() {
            return Err(ConfigError::new(
                format!("{field}.channels"),
                "name at least one channel",
            ));
        }
        for (j, c) in r.channels.iter().enumerate() {
            if !channels.contains_key(c) {
                let known: Vec<&str> = channels.keys().map(String::as_str).collect();
                return Err(ConfigError::new(
                    format!("{field}.channels[{j}]"),
                    format!("no channel named `{c}` (defined: {})", known.join(", ")),
                ));
            }
        }
        rules.push(Rule {
            name: r.name,
            condition,
            channels: r.channels,
            cooldown: r.cooldown.map_or(Duration::from_secs(3600), |d| d.0),
        });
    }
    let interval = raw.interval.map_or(Duration::from_secs(30), |d| d.0);
    if interval.is_zero() {
        return Err(ConfigError::new("interval", "must be more than 0s"));
    }
    Ok(AlertsConfig {
        interval,
        channels,
        rules,
    })
}

fn validate_channel(field: &str, channel: &ChannelConfig) -> Result<(), ConfigError> {
    let check_url = |url: &Secret| {
        let u = url.expose();
        if u.starts_with("http://") || u.starts_with("https://") {
            Ok(())
        } else {
            Err(ConfigError::new(
                format!("{field}.url"),
                "must start with http:// or https://",
            ))
        }
    };
    match channel {
        ChannelConfig::Webhook { url, .. } | ChannelConfig::Slack { url, .. } => check_url(url),
        ChannelConfig::Email(e) => {
            if e.host.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("{field}.host"),
                    "must not be empty",
                ));
            }
            check_address(&format!("{field}.from"), &e.from)?;
            if e.to.is_empty() {
                return Err(ConfigError::new(
                    format!("{field}.to"),
                    "name at least one recipient",
                ));
            }
            for (i, to) in e.to.iter().enumerate() {
                check_address(&format!("{field}.to[{i}]"), to)?;
            }
            if e.password.is_some() && e.username.is_none() {
                return Err(ConfigError::new(
                    format!("{field}.username"),
                    "is required with a password",
                ));
            }
            if e.password.is_some() && !e.loopback() && e.tls() == SmtpTls::None {
                return Err(ConfigError::new(
                    format!("{field}.password"),
                    "is only sent over TLS or to a relay on localhost; remove `tls: none`",
                ));
            }
            if let Some(ca) = &e.ca_file {
                if !ca.is_file() {
                    return Err(ConfigError::new(
                        format!("{field}.ca_file"),
                        format!("{} is not a readable file", ca.display()),
                    ));
                }
            }
            Ok(())
        }
    }
}

fn check_address(field: &str, addr: &str) -> Result<(), ConfigError> {
    let ok = addr.contains('@')
        && !addr
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            field,
            format!("`{addr}` is not an email address"),
        ))
    }
}

fn validate_condition(field: &str, c: &Condition) -> Result<(), ConfigError> {
    let positive = |name: &str, d: &Dur| {
        if d.0.is_zero() {
            Err(ConfigError::new(
                format!("{field}.{name}"),
                "must be more than 0s",
            ))
        } else {
            Ok(())
        }
    };
    match c {
        Condition::DlqGrowth { min_new, window } => {
            if *min_new == 0 {
                return Err(ConfigError::new(
                    format!("{field}.min_new"),
                    "must be at least 1",
                ));
            }
            positive("window", window)
        }
        Condition::ErrorRate {
            percent, window, ..
        } => {
            if !(*percent > 0.0 && *percent <= 100.0) {
                return Err(ConfigError::new(
                    format!("{field}.percent"),
                    "must be above 0 and at most 100",
                ));
            }
            positive("window", window)
        }
        Condition::Delay { max_age } => positive("max_age", max_age),
        Condition::ReconnectNeeded { window, min_401 } => {
            if *min_401 == 0 {
                return Err(ConfigError::new(
                    format!("{field}.min_401"),
                    "must be at least 1",
                ));
            }
            positive("window", window)
        }
        Condition::QuotaLow { max_left, .. } => {
            if !(0.0..1.0).contains(max_left) {
                return Err(ConfigError::new(
                    format!("{field}.max_left"),
                    "must be a fraction from 0 up to (not including) 1",
                ));
            }
            Ok(())
        }
    }
}

/// Replaces `${VAR}` / `${VAR:-default}` in every string; `$$` is a literal `$`. Records each
/// substituted value so error messages can be scrubbed of them.
fn interpolate(
    v: Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<String>,
) -> Result<Value, ConfigError> {
    Ok(match v {
        Value::String(s) => Value::String(interpolate_str(&s, path, env, out)?),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, x)| interpolate(x, &format!("{path}[{i}]"), env, out))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut m = serde_json::Map::new();
            for (k, x) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                m.insert(k, interpolate(x, &p, env, out)?);
            }
            Value::Object(m)
        }
        other => other,
    })
}

fn interpolate_str(
    s: &str,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<String>,
) -> Result<String, ConfigError> {
    let mut result = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        result.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            result.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| {
                ConfigError::new(path, "unclosed `${`; write `${VARIABLE}` or `$$` for `$`")
            })?;
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(ConfigError::new(
                    path,
                    format!("`${{{inner}}}` is not a variable reference"),
                ));
            }
            let value = env(name)
                .or_else(|| default.map(str::to_owned))
                .ok_or_else(|| {
                    ConfigError::new(path, format!("environment variable `{name}` is not set"))
                })?;
            if !value.is_empty() {
                out.push(value.clone());
            }
            result.push_str(&value);
            rest = &body[end + 1..];
        } else {
            result.push('$');
            rest = after;
        }
    }
    result.push_str(rest);
    Ok(result)
}

fn scrub(mut msg: String, secrets: &[String]) -> String {
    for s in secrets {
        msg = msg.replace(s.as_str(), "***");
    }
    msg
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
