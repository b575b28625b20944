//! Value conversions behind the transforms: names, emails and dates.
//!
//! Apps disagree on formats (Insightly writes `2025-04-19 00:49:32`, forms send `03/05/2024`,
//! some APIs send epoch milliseconds), so reading is liberal and writing is always one
//! canonical form: RFC 3339 in UTC for dates, lower-case for emails.

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, SecondsFormat, TimeZone,
    Utc,
};

const HONORIFICS: [&str; 8] = ["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir"];
const SUFFIXES: [&str; 9] = ["jr", "sr", "ii", "iii", "iv", "v", "phd", "md", "esq"];
const PARTICLES: [&str; 18] = [
    "van", "von", "de", "da", "del", "della", "der", "den", "di", "du", "la", "le", "st", "bin",
    "ibn", "al", "dos", "ter",
];

fn bare(token: &str) -> String {
    token.trim_end_matches(['.', ',']).to_lowercase()
}

/// Splits a full name into first and last name.
///
/// Handles "Last, First", drops a leading honorific (Mr, Dr …), keeps suffixes (Jr, III) and
/// lower-case particles (van, de, …) with the last name. A single word is a first name.
pub fn split_name(full: &str) -> (String, String) {
    let full = full.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((last, first)) = full.split_once(',') {
        let first = first.trim();
        if !first.is_empty() && !SUFFIXES.contains(&bare(first).as_str()) {
            return (first.to_owned(), last.trim().to_owned());
        }
    }
    let mut tokens: Vec<&str> = full.split(' ').filter(|t| !t.is_empty()).collect();
    if tokens.len() > 1 && HONORIFICS.contains(&bare(tokens[0]).as_str()) {
        tokens.remove(0);
    }
    let mut end = tokens.len();
    while end > 1 && SUFFIXES.contains(&bare(tokens[end - 1]).as_str()) {
        end -= 1;
    }
    if end <= 1 {
        return (tokens.join(" "), String::new());
    }
    let mut start = end - 1;
    while start > 1
        && PARTICLES.contains(&bare(tokens[start - 1]).as_str())
        && tokens[start - 1]
            .chars()
            .next()
            .is_some_and(char::is_lowercase)
    {
        start -= 1;
    }
    (tokens[..start].join(" "), tokens[start..].join(" "))
}

/// Joins name parts with `separator`, skipping empty parts.
pub fn join_name(parts: &[&str], separator: &str) -> String {
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(separator)
}

/// Trims and lower-cases an email address (also unwrapping `<…>` and `mailto:`); `None` when
/// the text is not an address.
pub fn normalize_email(raw: &str) -> Option<String> {
    let s = raw.trim();
    let s = s
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s);
    let s = s.strip_prefix("mailto:").unwrap_or(s).trim().to_lowercase();
    let (local, domain) = s.split_once('@')?;
    let valid = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace);
    valid.then_some(s)
}

/// Parses a fixed UTC offset as written in flows: `UTC`, `Z`, `+02:00`, `-0500`.
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

const ZONED: [&str; 4] = [
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M%:z",
];

const NAIVE_TIMES: [&str; 10] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%d.%m.%Y %H:%M",
];

const NAIVE_DATES: [&str; 11] = [
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%m-%d-%Y",
    "%d.%m.%Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%Y%m%d",
];

/// Reads a date or date-time in any common format; naive values are taken as UTC.
/// `day_first` reads `03/05/2024` as 3 May instead of March 5.
pub fn parse_datetime(raw: &str, day_first: bool) -> Option<DateTime<Utc>> {
    parse_datetime_in(raw, day_first, Utc.fix())
}

/// [`parse_datetime`] with naive values taken in `tz`.
pub fn parse_datetime_in(raw: &str, day_first: bool, tz: FixedOffset) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(dt) = dotnet_date(s) {
        return Some(dt);
    }
    if s.len() >= 9 && s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse::<i64>().ok().and_then(from_epoch);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt.with_timezone(&Utc));
    }
    for f in ZONED {
        if let Ok(dt) = DateTime::parse_from_str(s, f) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    let swap = |f: &str| -> String {
        if day_first {
            f.replace("%m/%d/", "%d/%m/").replace("%m-%d-", "%d-%m-")
        } else {
            f.to_owned()
        }
    };
    let local = |n: NaiveDateTime| {
        tz.from_local_datetime(&n)
            .single()
            .map(|d| d.with_timezone(&Utc))
    };
    for f in NAIVE_TIMES {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, &swap(f)) {
            return local(n);
        }
    }
    for f in NAIVE_DATES {
        if let Ok(d) = NaiveDate::parse_from_str(s, &swap(f)) {
            return local(d.and_time(NaiveTime::MIN));
        }
    }
    // 25/12/2024 cannot be month-first; read it day-first rather than fail.
    if !day_first {
        return parse_datetime_in(s, true, tz).filter(|_| s.contains('/') || s.contains('-'));
    }
    None
}

/// Epoch seconds, or milliseconds when the number is too large to be seconds.
pub fn from_epoch(n: i64) -> Option<DateTime<Utc>> {
    if n.abs() >= 100_000_000_000 {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

/// `/Date(1489116850787-0800)/`, as Insightly's webhooks write dates.
fn dotnet_date(s: &str) -> Option<DateTime<Utc>> {
    let inner = s.strip_prefix("/Date(")?.strip_suffix(")/")?;
    let digits_end = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map_or(inner.len(), |(i, _)| i);
    DateTime::from_timestamp_millis(inner[..digits_end].parse().ok()?)
}

/// The canonical form of a date-time: RFC 3339 in UTC, fractions only when present.
pub fn to_rfc3339(dt: DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Whether a chrono format string is valid (so bad formats fail at load, not per record).
pub fn valid_format(f: &str) -> bool {
    use chrono::format::{Item, StrftimeItems};
    !f.is_empty() && StrftimeItems::new(f).all(|i| !matches!(i, Item::Error))
}

/// Reads text written in `format` (in `tz` when it has no offset) back into a date-time.
pub fn parse_with_format(s: &str, format: &str, tz: FixedOffset) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_str(s, format) {
        return Some(dt.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, format).ok().or_else(|| {
        NaiveDate::parse_from_str(s, format)
            .ok()
            .map(|d| d.and_time(NaiveTime::MIN))
    })?;
    tz.from_local_datetime(&naive)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let s = |n: &str| split_name(n);
        assert_eq!(s("John Smith"), ("John".into(), "Smith".into()));
        assert_eq!(
            s("  Mary  Ann   Smith "),
            ("Mary Ann".into(), "Smith".into())
        );
        assert_eq!(s("Smith, John"), ("John".into(), "Smith".into()));
        assert_eq!(s("Dr. Jane Doe"), ("Jane".into(), "Doe".into()));
        assert_eq!(
            s("Martin Luther King Jr."),
            ("Martin Luther".into(), "King Jr.".into())
        );
        assert_eq!(
            s("Ludwig van Beethoven"),
            ("Ludwig".into(), "van Beethoven".into())
        );
        assert_eq!(s("Cher"), ("Cher".into(), String::new()));
        assert_eq!(s(""), (String::new(), String::new()));
        assert_eq!(join_name(&["Ann", " ", "Lee"], " "), "Ann Lee");
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Bob@Example.COM ").as_deref(),
            Some("bob@example.com")
        );
        assert_eq!(
            normalize_email("<mailto:a@b.co>").as_deref(),
            Some("a@b.co")
        );
        assert_eq!(normalize_email("not an email"), None);
        assert_eq!(normalize_email("a@b"), None);
    }

    #[test]
    fn dates() {
        let p = |s: &str| parse_datetime(s, false).map(to_rfc3339);
        let want = Some("2024-03-05T00:00:00Z".to_string());
        for s in [
            "2024-03-05",
            "03/05/2024",
            "March 5, 2024",
            "5 Mar 2024",
            "2024/03/05",
            "05.03.2024",
        ] {
            assert_eq!(p(s), want, "{s}");
        }
        assert_eq!(parse_datetime("05/03/2024", true).map(to_rfc3339), want);
        assert_eq!(p("25/12/2024"), Some("2024-12-25T00:00:00Z".into()));
        assert_eq!(
            p("2025-04-19 00:49:32"),
            Some("2025-04-19T00:49:32Z".into())
        );
        assert_eq!(
            p("2024-03-05T10:00:00+02:00"),
            Some("2024-03-05T08:00:00Z".into())
        );
        assert_eq!(
            p("Tue, 5 Mar 2024 10:00:00 GMT"),
            Some("2024-03-05T10:00:00Z".into())
        );
        assert_eq!(p("1709632800"), Some("2024-03-05T10:00:00Z".into()));
        assert_eq!(p("1709632800000"), Some("2024-03-05T10:00:00Z".into()));
        assert_eq!(
            p("/Date(1489116850787-0800)/"),
            Some("2017-03-10T03:34:10.787Z".into())
        );
        assert_eq!(p("yesterday-ish"), None);
        let tz = parse_offset("-05:00").unwrap();
        assert_eq!(
            parse_datetime_in("2024-03-05 09:00", false, tz).map(to_rfc3339),
            Some("2024-03-05T14:00:00Z".into())
        );
        assert!(valid_format("%Y-%m-%d") && !valid_format("%Q"));
    }
}
