//! `ghl-bridge init` and `ghl-bridge secrets seal` as a user meets them: init creates a private
//! key and admin token (shown once, never overwritten) and a starter project that loads; seal
//! turns a secret from stdin into a `sealed:v1:…` value that opens only for its connection and
//! setting with the project's key.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");

fn ghl_bridge(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("GHL_BRIDGE_SECRET_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ghl-bridge");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[cfg(unix)]
fn assert_private(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p).expect("metadata").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", p.display());
}

#[cfg(not(unix))]
fn assert_private(_: &Path) {}

#[test]
fn init_creates_private_files_once_and_a_starter_project_that_loads() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("proj");
    let d = dir.to_str().expect("utf-8 path");
    let (code, out, err) = ghl_bridge(&["init", "--dir", d], "");
    assert_eq!(code, 0, "{err}");

    let key_file = dir.join(".ghl-bridge/secret.key");
    let token_file = dir.join(".ghl-bridge/admin-token");
    assert_private(&key_file);
    assert_private(&token_file);
    assert_eq!(read(&dir.join(".ghl-bridge/.gitignore")), "*\n");
    let key = secrets::SecretKey::from_base64(&read(&key_file), "key file").expect("a 32-byte key");
    let token = read(&token_file).trim().to_string();
    assert_eq!(token.len(), 43, "32 bytes in base64url: {token}");
    assert!(
        out.contains(&format!("Authorization: Bearer {token}")),
        "{out}"
    );
    assert!(out.contains("GHL_BRIDGE_ADMIN_TOKEN"), "{out}");

    let project = dir.join("ghl-bridge.yaml");
    let env = |k: &str| match k {
        "GHL_LOCATION_ID" => Some("loc-1".to_string()),
        "GHL_TOKEN" => Some("pit-1".to_string()),
        _ => None,
    };
    let loaded = engine::flow::load_project_with(&project, &env).expect("the starter loads");
    assert_eq!(loaded.connections.keys().collect::<Vec<_>>(), ["ghl"]);
    assert!(
        loaded.flows.iter().all(|f| !f.enabled),
        "no flow is enabled"
    );

    // A second run keeps everything and never shows the token again.
    std::fs::write(&project, "version: 1\nconnections: {}\n").expect("edit project");
    let (code, out, err) = ghl_bridge(&["init", "--dir", d], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("exists, kept").count(), 3, "{out}");
    assert!(!out.contains(&token), "the token is shown only once: {out}");
    assert_eq!(read(&token_file).trim(), token);
    assert_eq!(
        secrets::SecretKey::from_base64(&read(&key_file), "key file").expect("key"),
        key
    );
    assert_eq!(read(&project), "version: 1\nconnections: {}\n");
}

#[test]
fn seal_reads_stdin_and_opens_only_for_its_connection_and_setting() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let d = tmp.path().to_str().expect("utf-8 path");
    let seal = [
        "secrets",
        "seal",
        "--connection",
        "ghl",
        "--setting",
        "token",
        "--dir",
        d,
    ];

    let (code, _, err) = ghl_bridge(&seal, "pit-very-secret\n");
    assert_ne!(code, 0, "no key yet");
    assert!(err.contains("ghl-bridge init"), "{err}");

    assert_eq!(ghl_bridge(&["init", "--dir", d], "").0, 0);
    let (code, out, err) = ghl_bridge(&seal, "pit-very-secret\n");
    assert_eq!(code, 0, "{err}");
    let sealed = out.trim();
    assert!(sealed.starts_with("sealed:v1:"), "{out}");
    assert!(!format!("{out}{err}").contains("pit-very-secret"));

    let (key, _) = secrets::SecretKey::load_with(tmp.path(), None).expect("key");
    let opened = secrets::open_setting(&key, sealed, "ghl", "token").expect("opens");
    assert_eq!(
        opened.expose(),
        "pit-very-secret",
        "the trailing newline is dropped"
    );
    assert!(secrets::open_setting(&key, sealed, "crm", "token").is_err());

    let (code, _, err) = ghl_bridge(&seal, "\n");
    assert_ne!(code, 0);
    assert!(err.contains("no secret on stdin"), "{err}");
}
