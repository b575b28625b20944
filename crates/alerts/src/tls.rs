//! TLS for SMTP: rustls (already in the build through reqwest) with the aws-lc-rs provider, the
//! system's root certificates and, optionally, a PEM file of extra roots for a relay with a
//! self-signed or private-CA certificate. The server's name is always verified: a relay whose
//! certificate does not match `host` is refused rather than trusted.

use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::smtp::SmtpError;

/// The trusted roots: the system's, plus every certificate in `ca_file`.
fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, SmtpError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<_, _>>())
            .map_err(|e| {
                SmtpError::new(
                    format!(
                        "ca_file {}: not a PEM certificate file: {e}",
                        path.display()
                    ),
                    false,
                )
            })?;
        if certs.is_empty() {
            return Err(SmtpError::new(
                format!("ca_file {}: holds no certificate", path.display()),
                false,
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| SmtpError::new(format!("ca_file {}: {e}", path.display()), false))?;
        }
    } else if added == 0 {
        return Err(SmtpError::new(
            "no trusted root certificates on this system; install ca-certificates or set ca_file",
            false,
        ));
    }
    Ok(roots)
}

/// A connector trusting the system's roots and `ca_file`.
pub fn connector(ca_file: Option<&Path>) -> Result<TlsConnector, SmtpError> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SmtpError::new(format!("TLS setup: {e}"), false))?
        .with_root_certificates(roots(ca_file)?)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The TLS handshake over `io` (a TCP connection, possibly after STARTTLS), verifying the
/// certificate against `host`.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    connector: &TlsConnector,
    host: &str,
    io: S,
) -> Result<TlsStream<S>, SmtpError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_string()).map_err(|e| {
        SmtpError::new(
            format!("host `{host}` is not a TLS server name: {e}"),
            false,
        )
    })?;
    connector.connect(name, io).await.map_err(|e| {
        // Certificate problems do not heal by retrying; network trouble might.
        let retryable = !matches!(e.kind(), std::io::ErrorKind::InvalidData);
        SmtpError::new(format!("TLS handshake with {host}: {e}"), retryable)
    })
}
