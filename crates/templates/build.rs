//! Embeds every file under the repository's `templates/<template-id>/` folders: generates
//! `$OUT_DIR/templates.rs`, a table of `(template id, relative path, include_str!(file))`, so the
//! binary carries the templates and `ghl-bridge templates init` needs nothing on disk.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../../templates");
    println!("cargo:rerun-if-changed={}", root.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut templates: Vec<(String, Vec<(String, PathBuf)>)> = Vec::new();
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => panic!("cannot read the templates folder {}: {e}", root.display()),
    };
    dirs.sort();
    for dir in dirs {
        let id = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("template folder names are UTF-8")
            .to_string();
        if id.starts_with('.') {
            continue;
        }
        assert!(
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "template folder `{id}`: use lower-case letters, digits and `-`"
        );
        let mut files = Vec::new();
        walk(&dir, &dir, &mut files);
        files.sort();
        templates.push((id, files));
    }
    let mut out = String::from(
        "/// Every embedded template: (id, [(path relative to the template folder, contents)]).\n\
         pub(crate) static EMBEDDED: &[(&str, &[(&str, &str)])] = &[\n",
    );
    for (id, files) in &templates {
        let _ = writeln!(out, "    ({id:?}, &[");
        for (rel, abs) in files {
            let _ = writeln!(
                out,
                "        ({rel:?}, include_str!({:?})),",
                abs.display().to_string()
            );
        }
        out.push_str("    ]),\n");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("templates.rs");
    std::fs::write(&dest, out).expect("write the generated table");
}

/// Every regular file under `dir` (hidden files and folders skipped), as (path relative to
/// `base` with `/` separators, absolute path).
fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(base, &path, out);
        } else if path.is_file() {
            let rel = path
                .strip_prefix(base)
                .expect("under the template folder")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let abs = path.canonicalize().unwrap_or(path);
            out.push((rel, abs));
        }
    }
}
