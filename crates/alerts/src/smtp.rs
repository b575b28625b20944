//! A minimal SMTP client (RFC 5321): EHLO (HELO fallback), STARTTLS (RFC 3207) or implicit
//! TLS, AUTH PLAIN or LOGIN, MAIL FROM, RCPT TO, DATA, QUIT. Written by hand instead of pulling
//! in `lettre` (and its address parser and MIME builder) for one plain-text message; TLS is
//! rustls, already in the build (see [`crate::tls`]).
//!
//! With `tls: starttls` a server that does not offer STARTTLS is an error, never a silent
//! fall back to clear text, and nothing but EHLO is sent before the upgrade; AUTH is only sent
//! over TLS or to a loopback relay ([`crate::config::EmailConfig`] refuses other set-ups).

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::config::{EmailConfig, SmtpTls};
use crate::tls;

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

/// A byte stream SMTP runs over: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Conn {
    stream: BufReader<Box<dyn Io>>,
}

impl Conn {
    fn new(io: Box<dyn Io>) -> Self {
        Self {
            stream: BufReader::new(io),
        }
    }

    /// Reads one (possibly multi-line) reply; fails unless its code is in `ok`. Returns the
    /// code and the text of each line.
    async fn expect(&mut self, step: &str, ok: &[u16]) -> Result<(u16, Vec<String>), SmtpError> {
        let mut lines = Vec::new();
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
            lines.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                if ok.contains(&code) {
                    return Ok((code, lines));
                }
                return Err(SmtpError::new(
                    format!(
                        "{step}: server answered {code} {}",
                        lines.join(" ").chars().take(200).collect::<String>()
                    ),
                    (400..500).contains(&code),
                ));
            }
        }
    }

    async fn send(&mut self, step: &str, line: &str) -> Result<(), SmtpError> {
        let w = self.stream.get_mut();
        w.write_all(line.as_bytes())
            .await
            .and(w.write_all(b"\r\n").await)
            .and(w.flush().await)
            .map_err(|e| SmtpError::new(format!("{step}: write failed: {e}"), true))
    }

    /// EHLO (HELO when refused); the extensions the server announced (none after HELO).
    async fn hello(&mut self, cfg: &EmailConfig) -> Result<Vec<String>, SmtpError> {
        self.send("EHLO", &format!("EHLO {}", cfg.hello_name))
            .await?;
        match self.expect("EHLO", &[250]).await {
            Ok((_, lines)) => Ok(lines.into_iter().skip(1).collect()),
            Err(_) => {
                self.send("HELO", &format!("HELO {}", cfg.hello_name))
                    .await?;
                self.expect("HELO", &[250]).await?;
                Ok(Vec::new())
            }
        }
    }

    /// STARTTLS, then the handshake on the same connection.
    async fn upgrade(
        &mut self,
        cfg: &EmailConfig,
        connector: &tokio_rustls::TlsConnector,
    ) -> Result<(), SmtpError> {
        self.send("STARTTLS", "STARTTLS").await?;
        self.expect("STARTTLS", &[220]).await?;
        if !self.stream.buffer().is_empty() {
            // Bytes sent before the handshake would be read as if they came over TLS.
            return Err(SmtpError::new(
                "STARTTLS: the server sent data before the TLS handshake; refused",
                false,
            ));
        }
        let (placeholder, _) = tokio::io::duplex(1);
        let plain = std::mem::replace(&mut self.stream, BufReader::new(Box::new(placeholder)));
        let tls = tls::handshake(connector, &cfg.host, plain.into_inner()).await?;
        self.stream = BufReader::new(Box::new(tls));
        Ok(())
    }
}

/// Sends one plain-text message to every recipient of `cfg`.
pub async fn send(cfg: &EmailConfig, subject: &str, body: &str) -> Result<(), SmtpError> {
    let mode = cfg.tls();
    let connector = match mode {
        SmtpTls::None => None,
        _ => Some(tls::connector(cfg.ca_file.as_deref())?),
    };
    let port = cfg.port();
    let tcp = TcpStream::connect((cfg.host.as_str(), port))
        .await
        .map_err(|e| SmtpError::new(format!("connect to {}:{port}: {e}", cfg.host), true))?;
    let io: Box<dyn Io> = match (&connector, mode) {
        (Some(c), SmtpTls::Implicit) => Box::new(tls::handshake(c, &cfg.host, tcp).await?),
        _ => Box::new(tcp),
    };
    let mut c = Conn::new(io);
    let outcome = transaction(&mut c, cfg, connector.as_ref(), subject, body).await;
    // Say goodbye either way, so the server ends the session at once; a relay that drops the
    // line before answering is harmless (the message, if any, is already accepted).
    if c.send("QUIT", "QUIT").await.is_ok() {
        let _ = c.expect("QUIT", &[221]).await;
    }
    outcome
}

/// Whether the EHLO extensions offer `keyword` (`STARTTLS`, `AUTH`), and its parameters.
/// Every line naming it counts (servers send both `AUTH PLAIN` and the old `AUTH=PLAIN`).
fn extension<'a>(extensions: &'a [String], keyword: &str) -> Option<Vec<&'a str>> {
    let mut found = None::<Vec<&str>>;
    for line in extensions {
        let mut words = line.split([' ', '=']).filter(|w| !w.is_empty());
        if words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
        {
            found.get_or_insert_with(Vec::new).extend(words);
        }
    }
    found
}

/// Greeting to end of DATA.
async fn transaction(
    c: &mut Conn,
    cfg: &EmailConfig,
    connector: Option<&tokio_rustls::TlsConnector>,
    subject: &str,
    body: &str,
) -> Result<(), SmtpError> {
    c.expect("greeting", &[220]).await?;
    let mut extensions = c.hello(cfg).await?;
    if let (SmtpTls::Starttls, Some(connector)) = (cfg.tls(), connector) {
        if extension(&extensions, "STARTTLS").is_none() {
            return Err(SmtpError::new(
                format!(
                    "{}:{} does not offer STARTTLS; use `tls: implicit` if it speaks TLS from the start, or `tls: none` only for a relay on this host",
                    cfg.host,
                    cfg.port()
                ),
                false,
            ));
        }
        c.upgrade(cfg, connector).await?;
        extensions = c.hello(cfg).await?;
    }
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        if cfg.tls() == SmtpTls::None && !cfg.loopback() {
            return Err(SmtpError::new(
                "AUTH: a password is only sent over TLS or to a relay on localhost",
                false,
            ));
        }
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let offered = extension(&extensions, "AUTH").unwrap_or_default();
        let has = |m: &str| offered.iter().any(|o| o.eq_ignore_ascii_case(m));
        if has("LOGIN") && !has("PLAIN") {
            c.send("AUTH", "AUTH LOGIN").await?;
            c.expect("AUTH", &[334]).await?;
            c.send("AUTH", &b64(user)).await?;
            c.expect("AUTH", &[334]).await?;
            c.send("AUTH", &b64(pass.expose())).await?;
        } else {
            let token = b64(&format!("\0{user}\0{}", pass.expose()));
            c.send("AUTH", &format!("AUTH PLAIN {token}")).await?;
        }
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
    fn extensions_are_read_from_ehlo_lines() {
        let ext: Vec<String> = ["PIPELINING", "AUTH=LOGIN", "AUTH PLAIN LOGIN", "STARTTLS"]
            .map(String::from)
            .to_vec();
        assert_eq!(extension(&ext, "starttls"), Some(vec![]));
        assert_eq!(
            extension(&ext, "AUTH"),
            Some(vec!["LOGIN", "PLAIN", "LOGIN"])
        );
        assert_eq!(extension(&ext, "8BITMIME"), None);
    }

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
