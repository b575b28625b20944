//! Diagnostics: what is wrong in a project or flow file, where, and how to fix it.
//!
//! People write flows by hand, so every problem names its file, line and column, the field path
//! inside the document (`sync.mapping.contact[2].transform`), what was found and what is allowed,
//! and is printed like a compiler message with the offending line underlined.

use std::fmt;

use super::yaml::Pos;

/// The text of one file being decoded, kept so diagnostics can quote the offending line.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    /// A named text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// The 1-based line `n`, without its line break.
    pub fn line(&self, n: usize) -> Option<&str> {
        n.checked_sub(1)
            .and_then(|i| self.text.lines().nth(i))
            .map(|l| l.trim_end_matches('\r'))
    }
}

/// One problem in one file, located precisely enough to jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the loader was given it (relative paths stay relative).
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column in characters; 0 when unknown.
    pub col: usize,
    /// Characters to underline from `col`.
    pub len: usize,
    /// Where in the document: `sync.mapping.contact[2].transform`; empty for the document root.
    pub path: String,
    /// What is wrong, naming what was found.
    pub message: String,
    /// How to fix it: what is allowed, a likely intended spelling.
    pub help: Option<String>,
    /// The offending source line, for display.
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(
        src: &Source,
        pos: Pos,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: src.name.clone(),
            line: pos.line,
            col: pos.col,
            len: pos.len,
            path: path.into(),
            message: message.into(),
            help: None,
            source_line: src.line(pos.line).map(str::to_owned),
        }
    }

    /// A problem with a file as a whole (unreadable, missing).
    pub fn file_level(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: 0,
            col: 0,
            len: 0,
            path: String::new(),
            message: message.into(),
            help: None,
            source_line: None,
        }
    }

    /// Adds the "how to fix it" line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        let gutter = " ".repeat(self.line.max(1).to_string().len());
        if self.line == 0 {
            writeln!(f, "{gutter}--> {}", self.file)?;
        } else {
            writeln!(f, "{gutter}--> {}:{}:{}", self.file, self.line, self.col)?;
        }
        if let Some(src) = &self.source_line {
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{} | {}", self.line, src)?;
            let indent: String = src
                .chars()
                .take(self.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let room = src
                .chars()
                .count()
                .saturating_sub(self.col.saturating_sub(1));
            let carets = self.len.clamp(1, room.max(1));
            writeln!(f, "{gutter} | {indent}{}", "^".repeat(carets))?;
        }
        if !self.path.is_empty() {
            writeln!(f, "{gutter} = field: {}", self.path)?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "{gutter} = help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found while loading a project or a flow; loading stops only when it must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    /// Sorted by file, line and column.
    pub diagnostics: Vec<Diagnostic>,
}

impl FlowError {
    pub(crate) fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        diagnostics.dedup();
        Self { diagnostics }
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        match self.diagnostics.len() {
            0 | 1 => Ok(()),
            n => write!(f, "\n{n} errors"),
        }
    }
}

impl std::error::Error for FlowError {}

/// The allowed name closest to `word`, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, allowed: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_l = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    allowed
        .into_iter()
        .map(|c| (edit_distance(&word_l, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "did you mean `x`? allowed: a, b, c" — or only the allowed list.
pub(crate) fn allowed_help(word: &str, allowed: &[&str]) -> String {
    let list = allowed.join(", ");
    match did_you_mean(word, allowed.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? allowed: {list}"),
        None => format!("allowed: {list}"),
    }
}

/// Levenshtein distance over characters, with adjacent swaps counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let allowed = ["uppercase", "lowercase", "trim"];
        assert_eq!(did_you_mean("uppercse", allowed), Some("uppercase"));
        assert_eq!(did_you_mean("Trim", allowed), Some("trim"));
        assert_eq!(did_you_mean("tirm", allowed), Some("trim"));
        assert_eq!(did_you_mean("zzz", allowed), None);
    }

    #[test]
    fn display_underlines_the_value() {
        let src = Source::new("f.yaml", "a: 1\nname: bad\n");
        let pos = Pos {
            line: 2,
            col: 7,
            len: 3,
        };
        let d = Diagnostic::new(&src, pos, "name", "wrong").with_help("fix it");
        let text = d.to_string();
        assert!(text.contains("--> f.yaml:2:7"), "{text}");
        assert!(text.contains("2 | name: bad\n  |       ^^^\n"), "{text}");
        assert!(text.contains("= field: name"), "{text}");
        assert!(text.contains("= help: fix it"), "{text}");
    }
}
