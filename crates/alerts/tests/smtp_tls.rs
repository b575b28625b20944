//! SMTP over TLS against a local receiver with a self-signed certificate made by the `openssl`
//! CLI for each run: STARTTLS upgrades before AUTH (PLAIN and LOGIN), implicit TLS works, an
//! untrusted certificate or a server without STARTTLS is refused before any password is sent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use alerts::config::EmailConfig;
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

const PASSWORD: &str = "s3cret-smtp-pass";

/// A self-signed certificate for `localhost` and 127.0.0.1 (not a CA, so it can be its own
/// trust anchor): `(cert.pem, key.pem)`.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let conf = dir.join("openssl.cnf");
    std::fs::write(
        &conf,
        "[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN=localhost\n\
         [ext]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("openssl config");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .arg("-config")
        .arg(&conf)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl (install it: apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Offers STARTTLS; `login_only` offers AUTH LOGIN alone.
    StartTls { login_only: bool },
    /// TLS from the first byte.
    Implicit,
    /// Plain, without STARTTLS.
    NoTls,
}

/// What the receiver saw: each command with whether it came over TLS, and the message.
#[derive(Debug, Default)]
struct Seen {
    commands: Vec<(bool, String)>,
    data: String,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn receiver(mode: Mode, cert: &Path, key: &Path) -> (u16, Arc<Mutex<Seen>>) {
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .expect("cert file")
        .collect::<Result<_, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(key).expect("key");
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let out = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, out) = (acceptor.clone(), out.clone());
            tokio::spawn(async move {
                let io: Box<dyn Io> = if mode == Mode::Implicit {
                    match acceptor.accept(tcp).await {
                        Ok(t) => Box::new(t),
                        Err(_) => return,
                    }
                } else {
                    Box::new(tcp)
                };
                session(BufReader::new(io), mode, acceptor, out).await;
            });
        }
    });
    (port, seen)
}

async fn session(
    mut io: BufReader<Box<dyn Io>>,
    mode: Mode,
    acceptor: TlsAcceptor,
    seen: Arc<Mutex<Seen>>,
) {
    let mut tls = mode == Mode::Implicit;
    let _ = io.get_mut().write_all(b"220 relay.test ESMTP\r\n").await;
    loop {
        let mut line = String::new();
        if io.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end().to_owned();
        seen.lock().commands.push((tls, line.clone()));
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            match mode {
                Mode::StartTls { .. } if !tls => b"250-relay.test\r\n250 STARTTLS\r\n",
                Mode::StartTls { login_only: true } => b"250-relay.test\r\n250 AUTH LOGIN\r\n",
                Mode::NoTls => b"250-relay.test\r\n250 AUTH PLAIN\r\n",
                _ => b"250-relay.test\r\n250 AUTH PLAIN LOGIN\r\n",
            }
        } else if upper == "STARTTLS" && !tls && mode != Mode::NoTls {
            let _ = io.get_mut().write_all(b"220 go ahead\r\n").await;
            let Ok(t) = acceptor.accept(io.into_inner()).await else {
                return;
            };
            io = BufReader::new(Box::new(t));
            tls = true;
            continue;
        } else if upper.starts_with("AUTH PLAIN") {
            b"235 ok\r\n"
        } else if upper == "AUTH LOGIN" {
            // Username, then password, each answered 334; then 235.
            let _ = io.get_mut().write_all(b"334 VXNlcm5hbWU6\r\n").await;
            for prompt in [&b"334 UGFzc3dvcmQ6\r\n"[..], b"235 ok\r\n"] {
                let mut l = String::new();
                if io.read_line(&mut l).await.unwrap_or(0) == 0 {
                    return;
                }
                seen.lock().commands.push((tls, l.trim_end().to_owned()));
                let _ = io.get_mut().write_all(prompt).await;
            }
            continue;
        } else if upper.starts_with("MAIL FROM") || upper.starts_with("RCPT TO") {
            b"250 ok\r\n"
        } else if upper == "DATA" {
            let _ = io.get_mut().write_all(b"354 go\r\n").await;
            loop {
                let mut l = String::new();
                if io.read_line(&mut l).await.unwrap_or(0) == 0 || l == ".\r\n" {
                    break;
                }
                seen.lock().data.push_str(&l);
            }
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = io.get_mut().write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 unknown\r\n"
        };
        let _ = io.get_mut().write_all(reply).await;
    }
}

fn email(port: u16, tls: &str, ca_file: Option<&Path>) -> EmailConfig {
    let mut v = json!({
        "host": "localhost", "port": port, "tls": tls,
        "username": "bridge", "password": PASSWORD,
        "from": "bridge@example.com", "to": ["ops@example.com"],
    });
    if let Some(ca) = ca_file {
        v["ca_file"] = json!(ca);
    }
    serde_json::from_value(v).expect("email config")
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// No command carried the password, in clear or in base64.
fn no_password(seen: &Seen) -> bool {
    let plain = b64(&format!("\0bridge\0{PASSWORD}"));
    !seen
        .commands
        .iter()
        .any(|(_, c)| c.contains(PASSWORD) || c.contains(&plain) || c.contains(&b64(PASSWORD)))
}

#[tokio::test]
async fn starttls_upgrades_before_auth_plain() {
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = certificate(dir.path());
    let (port, seen) = receiver(Mode::StartTls { login_only: false }, &cert, &key).await;
    let cfg = email(port, "starttls", Some(&cert));
    alerts::smtp::send(&cfg, "[FIRING] dlq", "three dead jobs")
        .await
        .expect("sent over STARTTLS");
    let seen = seen.lock();
    let plain: Vec<&str> = seen
        .commands
        .iter()
        .filter(|(tls, _)| !tls)
        .map(|(_, c)| c.as_str())
        .collect();
    assert_eq!(plain, ["EHLO ghl-bridge", "STARTTLS"], "{seen:?}");
    let auth = seen
        .commands
        .iter()
        .find(|(_, c)| c.starts_with("AUTH PLAIN "))
        .expect("AUTH PLAIN sent");
    assert!(auth.0, "AUTH went over TLS");
    assert_eq!(
        auth.1,
        format!("AUTH PLAIN {}", b64(&format!("\0bridge\0{PASSWORD}")))
    );
    assert!(seen.data.contains("Subject: [FIRING] dlq"), "{}", seen.data);
    assert!(seen.data.contains("three dead jobs"), "{}", seen.data);
}

#[tokio::test]
async fn auth_login_when_only_login_is_offered() {
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = certificate(dir.path());
    let (port, seen) = receiver(Mode::StartTls { login_only: true }, &cert, &key).await;
    let cfg = email(port, "starttls", Some(&cert));
    alerts::smtp::send(&cfg, "s", "b").await.expect("sent");
    let seen = seen.lock();
    let after: Vec<&(bool, String)> = seen
        .commands
        .iter()
        .skip_while(|(_, c)| c != "AUTH LOGIN")
        .take(3)
        .collect();
    assert_eq!(
        after,
        [
            &(true, "AUTH LOGIN".to_string()),
            &(true, b64("bridge")),
            &(true, b64(PASSWORD))
        ],
        "{seen:?}"
    );
}

#[tokio::test]
async fn implicit_tls_from_the_first_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = certificate(dir.path());
    let (port, seen) = receiver(Mode::Implicit, &cert, &key).await;
    let cfg = email(port, "implicit", Some(&cert));
    alerts::smtp::send(&cfg, "s", "implicit body")
        .await
        .expect("sent over implicit TLS");
    let seen = seen.lock();
    assert!(seen.commands.iter().all(|(tls, _)| *tls), "{seen:?}");
    assert!(seen.data.contains("implicit body"), "{}", seen.data);
}

#[tokio::test]
async fn untrusted_certificate_or_no_starttls_sends_no_password() {
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = certificate(dir.path());

    // The relay's self-signed certificate without `ca_file`: the handshake fails.
    let (port, seen) = receiver(Mode::StartTls { login_only: false }, &cert, &key).await;
    let e = alerts::smtp::send(&email(port, "starttls", None), "s", "b")
        .await
        .expect_err("an untrusted certificate is refused");
    assert!(e.message.contains("TLS handshake"), "{e:?}");
    assert!(!e.retryable, "{e:?}");
    assert!(!e.message.contains(PASSWORD), "{e:?}");
    assert!(no_password(&seen.lock()), "{:?}", seen.lock());

    // A relay that does not offer STARTTLS: no downgrade to clear text.
    let (port, seen) = receiver(Mode::NoTls, &cert, &key).await;
    let e = alerts::smtp::send(&email(port, "starttls", Some(&cert)), "s", "b")
        .await
        .expect_err("no STARTTLS offered");
    assert!(e.message.contains("does not offer STARTTLS"), "{e:?}");
    let seen = seen.lock();
    assert!(no_password(&seen), "{seen:?}");
    assert!(
        !seen.commands.iter().any(|(_, c)| c.starts_with("MAIL")),
        "{seen:?}"
    );
}
