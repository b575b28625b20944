//! Webhook signing: both GHL signature schemes checked with an independent verifier (openssl),
//! key files, and payload shapes.

mod webhook_support;

use webhook_support::*;

#[tokio::test]
async fn signatures_verify_with_openssl_and_payloads_match_the_schemas() {
    let mut names: Vec<String> = std::fs::read_dir(spec_dir())
        .expect("spec dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 14, "examples found: {names:?}");
    let receiver = Receiver::start(Behaviour::default()).await;
    let events = names.iter().map(|n| example(n)).collect();
    run(&receiver, cfg(|_| {}), 1, events).await;
    let hits = receiver.take();
    assert_eq!(hits.len(), names.len());

    let k = keys();
    let (ed_pem, rsa_pem) = (k.ed25519_public_pem(), k.rsa_public_pem());
    assert!(ed_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(rsa_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    for hit in &hits {
        assert_common(hit);
        assert!(ed_ok(&ed_pem, &hit.body, hit.header("x-ghl-signature")));
        assert!(rsa_ok(&rsa_pem, &hit.body, hit.header("x-wh-signature")));

        let event_type = hit.json["type"].as_str().expect("type");
        let schema = spec_file(event_type)["schema"].clone();
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        assert!(validator.is_valid(&hit.json), "{event_type} off-schema");
        let mut expected = example(event_type);
        expected["timestamp"] = hit.json["timestamp"].clone();
        expected["webhookId"] = hit.json["webhookId"].clone();
        assert_eq!(hit.json, expected, "payload changed with no fault set");
    }

    // Tampered body: both signatures must fail.
    let hit = &hits[0];
    let (ed_sig, rsa_sig) = (hit.header("x-ghl-signature"), hit.header("x-wh-signature"));
    let mut tampered = hit.body.to_vec();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    assert!(!ed_ok(&ed_pem, &tampered, ed_sig));
    assert!(!rsa_ok(&rsa_pem, &tampered, rsa_sig));

    // Someone else's keys (fresh ones, and GHL's real legacy key) must not verify.
    let other = WebhookKeys::generate().expect("other keys");
    assert!(!ed_ok(&other.ed25519_public_pem(), &hit.body, ed_sig));
    assert!(!rsa_ok(&other.rsa_public_pem(), &hit.body, rsa_sig));
    let legacy = spec_dir().join("../webhook-public-key.pem");
    let legacy = std::fs::read_to_string(legacy).expect("GHL legacy key");
    assert!(!rsa_ok(&legacy, &hit.body, rsa_sig));
}

#[test]
fn load_or_create_round_trips_and_files_are_pkcs8() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys_dir = dir.path().join("nested/keys");
    let first = WebhookKeys::load_or_create(&keys_dir).expect("create");
    for file in ["ed25519.pk8", "rsa.pk8"] {
        let path = keys_dir.join(file);
        // openssl reads what was written as a PKCS#8 DER private key.
        let ok = Command::new("openssl")
            .args(["pkey", "-inform", "DER", "-noout", "-in"])
            .arg(&path)
            .status()
            .expect("run openssl");
        assert!(ok.success(), "{file} is not PKCS#8 DER");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "{file} readable by others");
        }
    }
    let second = WebhookKeys::load_or_create(&keys_dir).expect("reload");
    assert_eq!(first.ed25519_public_pem(), second.ed25519_public_pem());
    assert_eq!(first.rsa_public_pem(), second.rsa_public_pem());
    // A signature made after the reload verifies against the key published before it.
    let sig = second.sign_ed25519(b"{}");
    assert!(ed_ok(&first.ed25519_public_pem(), b"{}", &sig));
    let sig = second.sign_rsa(b"{}");
    assert!(rsa_ok(&first.rsa_public_pem(), b"{}", &sig));
}

#[test]
fn corrupt_or_wrong_kind_key_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    WebhookKeys::load_or_create(dir.path()).expect("create");
    let load_error = || {
        let result = WebhookKeys::load_or_create(dir.path());
        result.expect_err("bad key accepted").to_string()
    };

    let ed = dir.path().join("ed25519.pk8");
    let good = std::fs::read(&ed).expect("read");
    std::fs::write(&ed, b"definitely not DER").expect("corrupt");
    let message = load_error();
    assert!(message.contains("ed25519.pk8"), "{message}");
    assert!(message.contains("not a valid Ed25519"), "{message}");

    // A key of the wrong kind (Ed25519 in the RSA file) is refused too, naming the file.
    std::fs::write(&ed, good).expect("restore");
    std::fs::copy(&ed, dir.path().join("rsa.pk8")).expect("swap");
    let message = load_error();
    assert!(message.contains("rsa.pk8"), "{message}");
    assert!(message.contains("not a valid RSA"), "{message}");
}

// ---------- retries ----------
