//! CSV as spreadsheets read it (RFC 4180): fields separated by commas, rows ended by CRLF, a
//! field quoted when it holds a comma, a quote, a line break or surrounding spaces, quotes
//! inside doubled. The text starts with a UTF-8 byte-order mark so that Excel reads accents
//! right. Written by hand (a few lines) rather than with a dependency; [`parse`] reads it back
//! and is tested against literal texts.
//!
//! A value a spreadsheet would run as a formula (`=HYPERLINK(…)`, `@SUM(…)`, `+cmd|…`) is
//! written with a leading `'` — a note or a name typed into an app must never execute in the
//! spreadsheet of whoever opens the export. Numbers and phone numbers (`-5`, `+1 415 555 0123`)
//! are left alone.

use std::borrow::Cow;

/// The byte-order mark written first.
pub const BOM: &str = "\u{feff}";

/// A CSV text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CSV line {line}: {message}")]
pub struct CsvError {
    pub line: usize,
    pub message: String,
}

/// `value` with a `'` in front when a spreadsheet would read it as a formula.
pub fn guard_formula(value: &str) -> Cow<'_, str> {
    let mut chars = value.chars();
    let risky = match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => {
            let rest = chars.as_str();
            rest.is_empty()
                || !rest
                    .chars()
                    .all(|c| c.is_ascii_digit() || " ().-".contains(c))
        }
        _ => false,
    };
    if risky {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// One field as written: guarded, then quoted when needed.
pub fn field(value: &str) -> Cow<'_, str> {
    let guarded = guard_formula(value);
    let needs_quotes = guarded.contains([',', '"', '\n', '\r'])
        || guarded.starts_with(' ')
        || guarded.ends_with(' ');
    if needs_quotes {
        Cow::Owned(format!("\"{}\"", guarded.replace('"', "\"\"")))
    } else {
        guarded
    }
}

/// Appends one row, CRLF-terminated.
pub fn write_row<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(c.as_ref()));
    }
    out.push_str("\r\n");
}

/// A whole CSV text: the byte-order mark, the header, the rows.
pub fn to_csv<S: AsRef<str>>(header: &[&str], rows: &[Vec<S>]) -> String {
    let mut out = String::from(BOM);
    write_row(&mut out, header);
    for r in rows {
        write_row(&mut out, r);
    }
    out
}

/// Reads a CSV text into rows of fields (a leading byte-order mark is skipped; CRLF or LF end
/// a row; a final line break adds no empty row).
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, CsvError> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut in_quotes = false;
    let mut quoted = false; // this cell was quoted: only a separator may follow the closing quote
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    cell.push(c);
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() && !quoted => {
                in_quotes = true;
                quoted = true;
            }
            ',' => {
                row.push(std::mem::take(&mut cell));
                quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
                quoted = false;
                line += 1;
            }
            _ if quoted => {
                return Err(CsvError {
                    line,
                    message: format!(
                    "`{c}` after a closing quote; a quote inside a quoted field is written twice"
                ),
                })
            }
            '"' => {
                return Err(CsvError {
                    line,
                    message: "a quote inside an unquoted field".into(),
                })
            }
            _ => cell.push(c),
        }
    }
    if in_quotes {
        return Err(CsvError {
            line,
            message: "a quoted field is not closed".into(),
        });
    }
    if quoted || !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_rfc_4180() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(" padded "), "\" padded \"");
        assert_eq!(field(""), "");
        let mut out = String::new();
        write_row(&mut out, &["a", "b,c", ""]);
        assert_eq!(out, "a,\"b,c\",\r\n");
    }

    #[test]
    fn formulas_are_defused_numbers_and_phones_are_not() {
        assert_eq!(guard_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard_formula("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(guard_formula("-2+3"), "'-2+3");
        assert_eq!(guard_formula("+1 (415) 555-0123"), "+1 (415) 555-0123");
        assert_eq!(guard_formula("+14155550123"), "+14155550123");
        assert_eq!(guard_formula("-5.25"), "-5.25");
        assert_eq!(guard_formula("a=b"), "a=b");
        assert_eq!(field("=1+1,2"), "\"'=1+1,2\"");
    }

    #[test]
    fn parses_literal_texts() {
        let text = "\u{feff}id,text\r\n1,\"a, b\"\r\n2,\"say \"\"hi\"\"\"\r\n3,\"line one\nline two\"\r\n4,\r\n,\r\n";
        assert_eq!(
            parse(text).unwrap(),
            vec![
                vec!["id", "text"],
                vec!["1", "a, b"],
                vec!["2", "say \"hi\""],
                vec!["3", "line one\nline two"],
                vec!["4", ""],
                vec!["", ""],
            ]
        );
        // LF endings and no final line break read the same.
        assert_eq!(
            parse("a,b\nc,d").unwrap(),
            vec![vec!["a", "b"], vec!["c", "d"]]
        );
        assert_eq!(parse("\"\"").unwrap(), vec![vec![""]]);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn malformed_texts_are_errors_with_their_line() {
        let e = parse("a\n\"open").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not closed"), "{e}");
        assert!(parse("a\"b").is_err());
        assert!(parse("\"a\"b").is_err());
    }

    #[test]
    fn what_is_written_reads_back() {
        let rows = vec![
            vec![
                "x, y".to_string(),
                "\"quoted\"".into(),
                "multi\r\nline\nvalue".into(),
            ],
            vec![" lead".into(), "".into(), "naïve café".into()],
        ];
        let text = to_csv(&["a", "b", "c"], &rows);
        let back = parse(&text).unwrap();
        assert_eq!(back[0], ["a", "b", "c"]);
        assert_eq!(&back[1..], &rows[..]);
    }
}
