//! `ghl-bridge templates` as a user meets it: the list names every shipped template (text and
//! JSON); `init` writes the embedded files exactly, says which variables to set and how to run,
//! refuses to overwrite anything, and suggests the right id for a typo.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ghl-bridge");

fn ghl_bridge(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run ghl-bridge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_list_names_every_template_in_text_and_json() {
    let (code, out, err) = ghl_bridge(&["templates"]);
    assert_eq!(code, 0, "{err}");
    for t in templates::all() {
        let meta = t.meta().expect("meta");
        let line = out
            .lines()
            .find(|l| l.starts_with(t.id))
            .unwrap_or_else(|| panic!("{} listed in:\n{out}", t.id));
        assert!(line.contains(&meta.title), "{line}");
    }
    assert!(out.contains("templates init"), "{out}");

    let (code, out, err) = ghl_bridge(&["templates", "--json"]);
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), templates::all().len());
    let tasks = list
        .iter()
        .find(|t| t["id"] == "your-app-tasks")
        .expect("your-app-tasks");
    assert_eq!(tasks["apps"], serde_json::json!(["ghl", "your_app"]));
    assert!(tasks["files"]
        .as_array()
        .expect("files")
        .iter()
        .any(|f| f == "connectors/your_app.yaml"));
    assert!(tasks["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .any(|s| s["env"] == "YOUR_APP_KEY" && s["secret"] == true));
}

#[test]
fn init_writes_the_project_and_never_overwrites() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("my project");
    let dir_s = dir.to_str().expect("utf-8 path");
    let (code, out, err) = ghl_bridge(&["templates", "init", "investnext-report", dir_s]);
    assert_eq!(code, 0, "{err}");
    let t = templates::get("investnext-report").expect("shipped");
    for f in t.files() {
        let text = std::fs::read_to_string(dir.join(f.path)).expect("written");
        assert_eq!(text, f.contents, "{}", f.path);
        assert!(out.contains(f.path), "{} listed in:\n{out}", f.path);
    }
    for s in t.meta().expect("meta").required() {
        assert!(
            out.contains(&format!("export {}=", s.env)),
            "{}:\n{out}",
            s.env
        );
    }
    assert!(
        out.contains("'") && out.contains("ghl-bridge run --project ghl-bridge.yaml"),
        "{out}"
    );
    assert!(
        out.contains("--report --csv"),
        "the template's next steps: {out}"
    );

    // Again: refused, nothing touched.
    std::fs::write(dir.join("ghl-bridge.yaml"), "mine").expect("edit");
    let (code, _, err) = ghl_bridge(&["templates", "init", "investnext-report", dir_s]);
    assert_ne!(code, 0);
    assert!(
        err.contains("already exist") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("ghl-bridge.yaml")).expect("read"),
        "mine"
    );

    // A typo is answered with the right id, and writes nothing.
    let other = tmp.path().join("other");
    let (code, _, err) = ghl_bridge(&[
        "templates",
        "init",
        "investnext-reprot",
        other.to_str().expect("utf-8"),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("did you mean `investnext-report`?"), "{err}");
    assert!(!other.exists());
}
