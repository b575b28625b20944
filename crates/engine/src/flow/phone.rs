//! E.164 phone normalisation for the formats people actually type, without a 10 MB metadata
//! dependency.
//!
//! GHL stores phones in E.164 and matches contacts on them, so every phone a mapping writes
//! should be `+<country code><number>`. International forms (`+44 …`, `0044 …`, `011 44 …` from
//! North America) keep their country; national forms get the flow's default country, with its
//! trunk prefix (`0` in most of Europe, `1` in North America) removed. Extensions are dropped.
//! Validation is by length per country, not by number ranges.

/// A country the normaliser knows: ISO code, calling code, trunk prefix, national number length.
struct Country {
    iso: &'static str,
    code: &'static str,
    trunk: Option<&'static str>,
    min: usize,
    max: usize,
}

const fn c(
    iso: &'static str,
    code: &'static str,
    trunk: Option<&'static str>,
    min: usize,
    max: usize,
) -> Country {
    Country {
        iso,
        code,
        trunk,
        min,
        max,
    }
}

const COUNTRIES: [Country; 29] = [
    c("US", "1", Some("1"), 10, 10),
    c("CA", "1", Some("1"), 10, 10),
    c("GB", "44", Some("0"), 9, 10),
    c("IE", "353", Some("0"), 7, 9),
    c("AU", "61", Some("0"), 9, 9),
    c("NZ", "64", Some("0"), 8, 10),
    c("DE", "49", Some("0"), 6, 13),
    c("FR", "33", Some("0"), 9, 9),
    c("ES", "34", None, 9, 9),
    c("IT", "39", None, 6, 11),
    c("NL", "31", Some("0"), 9, 9),
    c("BE", "32", Some("0"), 8, 9),
    c("CH", "41", Some("0"), 9, 9),
    c("AT", "43", Some("0"), 4, 13),
    c("SE", "46", Some("0"), 7, 9),
    c("NO", "47", None, 8, 8),
    c("DK", "45", None, 8, 8),
    c("FI", "358", Some("0"), 5, 12),
    c("PL", "48", None, 9, 9),
    c("PT", "351", None, 9, 9),
    c("IN", "91", Some("0"), 10, 10),
    c("MX", "52", None, 10, 10),
    c("BR", "55", Some("0"), 10, 11),
    c("ZA", "27", Some("0"), 9, 9),
    c("SG", "65", None, 8, 8),
    c("JP", "81", Some("0"), 9, 10),
    c("PH", "63", Some("0"), 10, 10),
    c("AE", "971", Some("0"), 8, 9),
    c("IL", "972", Some("0"), 8, 9),
];

/// ISO codes accepted as `default_country`.
pub fn countries() -> impl Iterator<Item = &'static str> {
    COUNTRIES.iter().map(|c| c.iso)
}

fn country(iso: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.iso.eq_ignore_ascii_case(iso))
}

/// Cuts `ext 12`, `x12`, `#12`, `;ext=12` off the end.
fn strip_extension(s: &str) -> &str {
    let lower = s.to_ascii_lowercase();
    for marker in [";ext=", "extension", "ext.", "ext", "x", "#"] {
        if let Some(i) = lower.rfind(marker) {
            let rest = lower[i + marker.len()..]
                .trim()
                .trim_start_matches(['.', ':']);
            if i > 0 && !rest.is_empty() && rest.trim().chars().all(|c| c.is_ascii_digit()) {
                return &s[..i];
            }
        }
    }
    s
}

/// Normalises `raw` to E.164 (`+14155550123`), reading national numbers as `default_country`.
/// The error says why the text is not a usable phone number.
pub fn normalize_phone(raw: &str, default_country: &str) -> Result<String, String> {
    let home = country(default_country)
        .ok_or_else(|| format!("unknown default country `{default_country}`"))?;
    let s = strip_extension(raw.trim()).trim();
    let plus = s.starts_with('+');
    let body = s.strip_prefix('+').unwrap_or(s);
    if let Some(bad) = body
        .chars()
        .find(|c| !c.is_ascii_digit() && !" -.()/\u{a0}".contains(*c))
    {
        return Err(format!(
            "`{raw}` is not a phone number (it contains `{bad}`)"
        ));
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return Err(format!("`{raw}` is not a phone number"));
    }
    let international = if plus {
        Some(digits.as_str())
    } else if let Some(rest) = digits.strip_prefix("00") {
        Some(rest)
    } else if home.code == "1" && digits.starts_with("011") {
        Some(&digits[3..])
    } else {
        None
    };
    if let Some(intl) = international {
        return international_number(raw, intl);
    }
    let mut national = digits.as_str();
    if let Some(trunk) = home.trunk {
        if let Some(rest) = national.strip_prefix(trunk) {
            if rest.len() >= home.min {
                national = rest;
            }
        }
    }
    if national.len() > home.max {
        // Typed with the country code but no `+`: 447911123456 for GB.
        if let Some(rest) = digits.strip_prefix(home.code) {
            if (home.min..=home.max).contains(&rest.len()) {
                national = rest;
            }
        }
    }
    if national.len() < home.min {
        return Err(format!("`{raw}` is too short for a {} number", home.iso));
    }
    if national.len() > home.max {
        return Err(format!("`{raw}` is too long for a {} number", home.iso));
    }
    if home.code == "1" && !national.starts_with(['2', '3', '4', '5', '6', '7', '8', '9']) {
        return Err(format!("`{raw}` has no valid area code"));
    }
    Ok(format!("+{}{national}", home.code))
}

fn international_number(raw: &str, digits: &str) -> Result<String, String> {
    if digits.starts_with('0') {
        return Err(format!(
            "`{raw}` has no country code after the international prefix"
        ));
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(format!(
            "`{raw}` has {} digits; international numbers have 8 to 15",
            digits.len()
        ));
    }
    if let Some(rest) = digits.strip_prefix('1') {
        if rest.len() != 10 {
            return Err(format!(
                "`{raw}` is not a North American number (+1 and 10 digits)"
            ));
        }
    }
    Ok(format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_formats() {
        let us = |s: &str| normalize_phone(s, "US");
        for s in [
            "(415) 555-0123",
            "415.555.0123",
            "415-555-0123",
            "1 415 555 0123",
            "+1 (415) 555-0123",
            "001 415 555 0123",
            "4155550123 ext. 12",
            "415-555-0123 x12",
        ] {
            assert_eq!(us(s).as_deref(), Ok("+14155550123"), "{s}");
        }
        assert_eq!(us("011 44 20 7946 0958").as_deref(), Ok("+442079460958"));
        let gb = |s: &str| normalize_phone(s, "GB");
        assert_eq!(gb("020 7946 0958").as_deref(), Ok("+442079460958"));
        assert_eq!(gb("07911 123456").as_deref(), Ok("+447911123456"));
        assert_eq!(gb("447911123456").as_deref(), Ok("+447911123456"));
        assert_eq!(
            normalize_phone("030 1234567", "de").as_deref(),
            Ok("+49301234567")
        );
        assert_eq!(
            normalize_phone("06 12 34 56 78", "FR").as_deref(),
            Ok("+33612345678")
        );
    }

    #[test]
    fn rejects() {
        assert!(normalize_phone("call me", "US").is_err());
        assert!(normalize_phone("555-0123", "US")
            .unwrap_err()
            .contains("too short"));
        assert!(normalize_phone("+1 415 555", "US").is_err());
        assert!(normalize_phone("0123456789", "US").is_err());
        assert!(normalize_phone("1-800-FLOWERS", "US").is_err());
        assert!(normalize_phone("123", "XX")
            .unwrap_err()
            .contains("unknown default country"));
    }
}
