use super::*;

fn env(k: &str) -> Option<String> {
    match k {
        "HOOK_URL" => Some("https://hooks.example.com/T0/secret-token-123".into()),
        "SMTP_PASS" => Some("hunter2-pass".into()),
        _ => None,
    }
}

const GOOD: &str = r#"
interval: 10s
channels:
  ops:
    type: webhook
    url: "${HOOK_URL}"
    hmac_secret: "${SIGNING:-k3y}"
  chat:
    type: slack
    url: "${HOOK_URL}"
  mail:
    type: email
    host: localhost
    port: 2525
    username: alerts
    password: "${SMTP_PASS}"
    from: bridge@example.com
    to: [ops@example.com]
rules:
  - name: dlq
    condition: { type: dlq_growth, min_new: 5, window: 15m }
    channels: [ops, mail]
    cooldown: 2h
  - name: errors
    condition: { type: error_rate, percent: 25, window: 10m }
    channels: [chat]
  - name: slow
    condition: { type: delay, max_age: 5m }
    channels: [chat]
  - name: auth
    condition: { type: reconnect_needed }
    channels: [chat]
  - name: quota
    condition: { type: quota_low, max_left: 0.1, budget: burst }
    channels: [chat]
"#;

#[test]
fn parses_every_rule_and_channel() {
    let c = parse_alerts(GOOD, &env).expect("valid");
    assert_eq!(c.interval, Duration::from_secs(10));
    assert_eq!(c.rules.len(), 5);
    assert_eq!(c.rules[0].cooldown, Duration::from_secs(7200));
    assert_eq!(
        c.rules[1].cooldown,
        Duration::from_secs(3600),
        "default cooldown"
    );
    assert_eq!(
        c.rules[0].condition,
        Condition::DlqGrowth {
            min_new: 5,
            window: Dur(Duration::from_secs(900))
        }
    );
    assert_eq!(
        c.rules[1].condition,
        Condition::ErrorRate {
            percent: 25.0,
            window: Dur(Duration::from_secs(600)),
            min_calls: 20
        }
    );
    assert_eq!(
        c.rules[4].condition,
        Condition::QuotaLow {
            max_left: 0.1,
            budget: BudgetKind::Burst
        }
    );
    match &c.channels["ops"] {
        ChannelConfig::Webhook { url, hmac_secret } => {
            assert_eq!(
                url.expose(),
                "https://hooks.example.com/T0/secret-token-123"
            );
            assert_eq!(hmac_secret.as_ref().map(Secret::expose), Some("k3y"));
        }
        other => panic!("wrong channel {other:?}"),
    }
    match &c.channels["mail"] {
        ChannelConfig::Email(e) => {
            assert_eq!((e.port(), e.to.len()), (2525, 1));
            assert_eq!(
                e.password.as_ref().map(Secret::expose),
                Some("hunter2-pass")
            );
        }
        other => panic!("wrong channel {other:?}"),
    }
    let debug = format!("{c:?}");
    assert!(!debug.contains("secret-token-123"), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(!debug.contains("k3y"), "{debug}");
}

fn err(text: &str) -> ConfigError {
    parse_alerts(text, &env).expect_err("must be rejected")
}

#[test]
fn errors_name_the_field() {
    let e = err(&GOOD.replace("percent: 25", "percent: 0"));
    assert_eq!(e.field, "rules[1].condition.percent");
    let e = err(&GOOD.replace("channels: [ops, mail]", "channels: [ops, pager]"));
    assert_eq!(e.field, "rules[0].channels[1]");
    assert!(e.message.contains("pager"), "{e}");
    let e = err(&GOOD.replace("window: 15m", "window: 15 parsecs"));
    assert_eq!(e.field, "rules[0].condition");
    assert!(e.message.contains("unit"), "{e}");
    let e = err(&GOOD.replace("min_new: 5", "min_new: 5, treshold: 3"));
    assert!(e.message.contains("treshold"), "{e}");
    let e = err(&GOOD.replace("type: delay", "type: latency"));
    assert_eq!(e.field, "rules[2].condition");
    let e = err(&GOOD.replace("name: slow", "name: dlq"));
    assert_eq!(e.field, "rules[2].name");
    let e = err(&GOOD.replace("max_left: 0.1", "max_left: 1.5"));
    assert_eq!(e.field, "rules[4].condition.max_left");
    let e = err(&GOOD.replace("to: [ops@example.com]", "to: []"));
    assert_eq!(e.field, "channels.mail.to");
    let e = err(&GOOD.replace("host: localhost", "host: smtp.example.com\n    tls: none"));
    assert_eq!(e.field, "channels.mail.password");
    let e = err(&GOOD.replace(
        "host: localhost",
        "host: x.example\n    ca_file: /nonexistent.pem",
    ));
    assert_eq!(e.field, "channels.mail.ca_file");
    let e = err(&GOOD.replace("${SMTP_PASS}", "${MISSING_VAR}"));
    assert_eq!(e.field, "channels.mail.password");
    assert!(e.message.contains("MISSING_VAR"), "{e}");
}

#[test]
fn errors_never_carry_substituted_secrets() {
    // A secret landing in a field of the wrong type would be echoed by serde; it is scrubbed.
    let text = GOOD.replace("port: 2525", "port: \"${SMTP_PASS}\"");
    let e = err(&text);
    assert_eq!(e.field, "channels.mail");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let text = GOOD.replace(
        "url: \"${HOOK_URL}\"\n    hmac",
        "url: \"ftp://${HOOK_URL}\"\n    hmac",
    );
    let e = err(&text);
    assert_eq!(e.field, "channels.ops.url");
    assert!(!e.to_string().contains("secret-token"), "{e}");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
    assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
    assert!(parse_duration("m").is_err());
    assert!(parse_duration("3w").is_err());
}

#[test]
fn dollar_escapes_and_defaults() {
    let mut seen = Vec::new();
    let s = interpolate_str("a$$b ${NOPE:-dflt} $x", "f", &env, &mut seen).expect("ok");
    assert_eq!(s, "a$b dflt $x");
    assert!(interpolate_str("${OPEN", "f", &env, &mut seen).is_err());
}

#[test]
fn channel_fields_are_checked() {
    let e = err(&GOOD.replace("port: 2525", "port: 2525\n    ssl: true"));
    assert_eq!(e.field, "channels.mail");
    assert!(e.message.contains("ssl"), "{e}");
    let e = err(&GOOD.replace("port: 2525", "port: 2525\n    tls: always"));
    assert_eq!(e.field, "channels.mail");
    assert!(e.message.contains("always"), "{e}");
    let e = err(&GOOD.replace("type: slack", "type: teams"));
    assert_eq!(e.field, "channels.chat");
    let e = err(&GOOD.replace("from: bridge@example.com", "from: \"a@b\\r\\nBcc: x@y\""));
    assert_eq!(e.field, "channels.mail.from");
}

#[test]
fn smtp_encrypts_by_default_except_on_loopback() {
    let email = |text: &str| -> EmailConfig {
        let cfg = parse_alerts(text, &env).expect("valid");
        match cfg.channels.get("mail") {
            Some(ChannelConfig::Email(e)) => e.clone(),
            other => panic!("{other:?}"),
        }
    };
    let remote = GOOD.replace("host: localhost\n    port: 2525", "host: smtp.example.com");
    let e = email(&remote);
    assert_eq!((e.tls(), e.port()), (SmtpTls::Starttls, 587));
    let e = email(&remote.replace("smtp.example.com", "smtp.example.com\n    tls: implicit"));
    assert_eq!((e.tls(), e.port()), (SmtpTls::Implicit, 465));
    let e = email(&GOOD.replace("port: 2525", "tls: none"));
    assert_eq!((e.tls(), e.port()), (SmtpTls::None, 25));
    assert_eq!(email(GOOD).tls(), SmtpTls::None);
}
