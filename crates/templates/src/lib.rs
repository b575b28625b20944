//! Templates: ready flow projects for common use cases, one per folder of the repository's
//! `templates/` (`template.yaml` describing it, `ghl-bridge.yaml` naming the connections with
//! `${VAR}` for every address and key, and `flows/*.yaml`). The files are embedded in the binary
//! at build time (see `build.rs`), so `ghl-bridge templates init <id> <dir>` works anywhere and
//! always writes exactly what was tested.
//!
//! ```
//! let t = templates::get("your-app-contacts-realtime").expect("shipped");
//! let meta = t.meta().expect("described");
//! assert!(meta.apps.contains(&"your_app".to_string()));
//! assert!(t.file("ghl-bridge.yaml").is_some());
//! ```

mod meta;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use meta::{EnvSetting, Meta};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// The file every template describes itself in.
pub const META_FILE: &str = "template.yaml";
/// The project file of every template.
pub const PROJECT_FILE: &str = "ghl-bridge.yaml";

/// One shipped template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// Its folder name, e.g. `investnext-tasks`.
    pub id: &'static str,
    files: &'static [(&'static str, &'static str)],
}

/// One file of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateFile {
    /// Relative to the template folder, `/`-separated (`flows/tasks.yaml`).
    pub path: &'static str,
    pub contents: &'static str,
}

/// A template's `template.yaml` is missing or does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template `{template}`: {file}: {message}")]
pub struct TemplateError {
    pub template: String,
    pub file: String,
    pub message: String,
}

/// `init` could not write the project.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Files (or a flows folder) already there: nothing was written.
    #[error("{} already exist{}; nothing was written. Pick a new or empty folder", list(paths), if paths.len() == 1 { "s" } else { "" })]
    Exists { paths: Vec<PathBuf> },
    /// The file system refused a write.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every shipped template, sorted by id.
pub fn all() -> Vec<Template> {
    embedded::EMBEDDED
        .iter()
        .map(|(id, files)| Template { id, files })
        .collect()
}

/// The template with this id.
pub fn get(id: &str) -> Option<Template> {
    all().into_iter().find(|t| t.id == id)
}

/// Every template id, sorted.
pub fn ids() -> Vec<&'static str> {
    all().into_iter().map(|t| t.id).collect()
}

impl Template {
    /// Its files, sorted by path.
    pub fn files(&self) -> impl Iterator<Item = TemplateFile> {
        self.files
            .iter()
            .map(|(path, contents)| TemplateFile { path, contents })
    }

    /// One file's contents.
    pub fn file(&self, path: &str) -> Option<&'static str> {
        self.files
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, contents)| *contents)
    }

    /// The flow files (`flows/*.yaml`).
    pub fn flow_files(&self) -> impl Iterator<Item = TemplateFile> {
        self.files().filter(|f| {
            f.path.starts_with("flows/") && (f.path.ends_with(".yaml") || f.path.ends_with(".yml"))
        })
    }

    /// What `template.yaml` says: title, apps, use case, the settings to fill.
    pub fn meta(&self) -> Result<Meta, TemplateError> {
        let err = |message: String| TemplateError {
            template: self.id.to_string(),
            file: META_FILE.to_string(),
            message,
        };
        let text = self
            .file(META_FILE)
            .ok_or_else(|| err("is missing".into()))?;
        Meta::parse(text).map_err(err)
    }

    /// The environment variables the project file reads (`${NAME}`, `${NAME:-default}`), in
    /// order of first use, with their defaults.
    pub fn variables(&self) -> Vec<(String, Option<String>)> {
        self.file(PROJECT_FILE).map(variables).unwrap_or_default()
    }

    /// Writes every file under `dir` (created if needed). Refuses, writing nothing, when any of
    /// the files or a `flows` folder already exists there: another project's flows in that
    /// folder would silently join this one. Returns the paths written.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>, InitError> {
        let targets: Vec<(PathBuf, &str)> = self
            .files()
            .map(|f| (dir.join(f.path), f.contents))
            .collect();
        let mut existing: Vec<PathBuf> = targets
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| p.exists())
            .collect();
        let flows = dir.join("flows");
        if flows.exists() {
            existing.insert(0, flows);
        }
        if !existing.is_empty() {
            return Err(InitError::Exists { paths: existing });
        }
        let mut written = Vec::new();
        for (path, contents) in targets {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| InitError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            // `create_new`: a file that appeared since the check is still never overwritten.
            let write = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, contents.as_bytes()));
            if let Err(source) = write {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    return Err(InitError::Exists { paths: vec![path] });
                }
                return Err(InitError::Io { path, source });
            }
            written.push(path);
        }
        Ok(written)
    }
}

/// The `${NAME}` / `${NAME:-default}` references of a project file's values, in order of first
/// use (comments are skipped; `$$` is a literal `$`).
pub fn variables(text: &str) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for line in text.lines() {
        let value = strip_comment(line);
        let mut rest = value;
        while let Some(i) = rest.find('$') {
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('$') {
                rest = r;
                continue;
            }
            let Some(inner) = after.strip_prefix('{') else {
                rest = after;
                continue;
            };
            let Some(end) = inner.find('}') else { break };
            let (name, default) = match inner[..end].split_once(":-") {
                Some((n, d)) => (n, Some(d.to_string())),
                None => (&inner[..end], None),
            };
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_string(), default));
            }
            rest = &inner[end + 1..];
        }
    }
    out
}

/// The line without a YAML comment (`#` at the start or after a space, outside quotes).
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// The apps a project file's connections use (`connections.<name>.app`), sorted.
pub fn connection_apps(project_yaml: &str) -> Result<BTreeSet<String>, String> {
    #[derive(serde::Deserialize)]
    struct Conn {
        app: String,
    }
    #[derive(serde::Deserialize)]
    struct Project {
        connections: std::collections::BTreeMap<String, Conn>,
    }
    let p: Project = serde_saphyr::from_str(project_yaml).map_err(|e| e.to_string())?;
    Ok(p.connections.into_values().map(|c| c.app).collect())
}

#[cfg(test)]
mod tests;
