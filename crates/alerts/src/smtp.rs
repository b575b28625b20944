//! A minimal SMTP client (RFC 5321): EHLO (HELO fallback), optional AUTH PLAIN, MAIL FROM,
//! RCPT TO, DATA, QUIT, over plain TCP. Written by hand instead of pulling in `lettre` (and its
//! address parser, MIME builder and TLS stack) for one plain-text message to a nearby relay;
//! [`crate::config::EmailConfig`] refuses a password unless the relay is on loopback.

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::config::EmailConfig;

/// An SMTP failure: the step and the server's reply, never the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpError {
    /// What went wrong.
    pub message: String,
    /// Whether trying again may help (network trouble, 4xx replies).
    pub retryable: bool,
}

impl SmtpError {
    pub(crate) fn new(message: impl Into<String>, retryable: bool) -> Self {
        Self {
            message: message.into(),
            retryable,
        }
    }
}

struct Conn {
    stream: BufReader<TcpStream>,
}

impl Conn {
    /// Reads one (possibly multi-line) reply; fails unless its code is in `ok`.
    async fn expect(&mut self, step: &str, ok: &[u16]) -> Result<u16, SmtpError> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self
                .stream
                .read_line(&mut line)
                .await
                .map_err(|e| SmtpError::new(format!("{step}: read failed: {e}"), true))?;
            if n == 0 {
                return Err(SmtpError::new(
                    format!("{step}: server closed the connection"),
                    true,
                ));
            }
            let line = line.trim_end();
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| SmtpError::new(format!("{step}: not an SMTP reply"), false))?;
            text.push_str(line.get(4..).unwrap_or(""));
            if line.as_bytes().get(3) != Some(&b'-') {
                if ok.contains(&code) {
                    return Ok(code);
                }
                return Err(SmtpError::new(
                    format!(
                        "{step}: server answered {code} {}",
                        text.chars().take(200).collect::<String>()
                    ),
                    (400..500).contains(&code),
                ));
            }
            text.push(' ');
        }
    }

    async fn send(&mut self, step: &str, line: &str) -> Result<(), SmtpError> {
        let w = self.stream.get_mut();
        w.write_all(line.as_bytes())
            .await
            .and(w.write_all(b"\r\n").await)
            .map_err(|e| SmtpError::new(format!("{step}: write failed: {e}"), true))
    }
}

/// Sends one plain-text message to every recipient of `cfg`.
pub async fn send(cfg: &EmailConfig, subject: &str, body: &str) -> Result<(), SmtpError> {
    let tcp = TcpStream::connect((cfg.host.as_str(), cfg.port))
        .await
        .map_err(|e| SmtpError::new(format!("connect to {}:{}: {e}", cfg.host, cfg.port), true))?;
    let mut c = Conn {
        stream: BufReader::new(tcp),
    };
    let outcome = transaction(&mut c, cfg, subject, body).await;
    // Say goodbye either way, so the server ends the session at once; a relay that drops the
    // line before answering is harmless (the message, if any, is already accepted).
    if c.send("QUIT", "QUIT").await.is_ok() {
        let _ = c.expect("QUIT", &[221]).await;
    }
    outcome
}

/// Greeting to end of DATA.
async fn transaction(
    c: &mut Conn,
    cfg: &EmailConfig,
    subject: &str,
    body: &str,
) -> Result<(), SmtpError> {
    c.expect("greeting", &[220]).await?;
    c.send("EHLO", &format!("EHLO {}", cfg.hello_name)).await?;
    if c.expect("EHLO", &[250]).await.is_err() {
        c.send("HELO", &format!("HELO {}", cfg.hello_name)).await?;
        c.expect("HELO", &[250]).await?;
    }
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("\0{user}\0{}", pass.expose()));
        c.send("AUTH", &format!("AUTH PLAIN {token}")).await?;
        c.expect("AUTH", &[235]).await?;
    }
    c.send("MAIL FROM", &format!("MAIL FROM:<{}>", cfg.from))
        .await?;
    c.expect("MAIL FROM", &[250]).await?;
    for to in &cfg.to {
        c.send("RCPT TO", &format!("RCPT TO:<{to}>")).await?;
        c.expect("RCPT TO", &[250, 251]).await?;
    }
    c.send("DATA", "DATA").await?;
    c.expect("DATA", &[354]).await?;
    let message = compose(cfg, subject, body, chrono::Utc::now());
    c.send("message", &message).await?;
    c.send("message", ".").await?;
    c.expect("message", &[250]).await?;
    Ok(())
}

/// The message text: headers, blank line, body; CRLF line ends and dot-stuffed, without the
/// final `.` line.
pub fn compose(
    cfg: &EmailConfig,
    subject: &str,
    body: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let nonce = at.timestamp_nanos_opt().unwrap_or_default();
    let domain = cfg.from.rsplit('@').next().unwrap_or("localhost");
    let mut out = vec![
        format!("From: <{}>", cfg.from),
        format!(
            "To: {}",
            cfg.to
                .iter()
                .map(|t| format!("<{t}>"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("Subject: {}", encode_header(subject)),
        format!("Date: {}", at.to_rfc2822()),
        format!("Message-ID: <alert.{nonce}@{domain}>"),
        "MIME-Version: 1.0".into(),
        "Content-Type: text/plain; charset=utf-8".into(),
        "Content-Transfer-Encoding: 8bit".into(),
        String::new(),
    ];
    for line in body.replace("\r\n", "\n").split('\n') {
        out.push(if line.starts_with('.') {
            format!(".{line}")
        } else {
            line.to_owned()
        });
    }
    out.join("\r\n")
}

/// A header value with line breaks removed, RFC 2047-encoded when not plain ASCII.
fn encode_header(v: &str) -> String {
    let flat: String = v
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.is_ascii() {
        flat
    } else {
        format!(
            "=?utf-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(flat)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_encodes_and_flattens_subject() {
        let cfg: EmailConfig = serde_json::from_value(serde_json::json!({
            "host": "localhost", "from": "a@example.com", "to": ["b@example.com"]
        }))
        .expect("config");
        let at = chrono::Utc::now();
        let m = compose(&cfg, "[FIRING] naïve\r\nBcc: evil@x", "one\r\n.two", at);
        let subject = m
            .lines()
            .find(|l| l.starts_with("Subject: "))
            .expect("subject");
        assert!(subject.starts_with("Subject: =?utf-8?B?"), "{subject}");
        assert!(!m.contains("\r\nBcc:"), "{m}");
        assert!(m.ends_with("\r\n\r\none\r\n..two"), "{m}");
        let ascii = compose(&cfg, "plain", "x", at);
        assert!(ascii.contains("\r\nSubject: plain\r\n"), "{ascii}");
    }
}
