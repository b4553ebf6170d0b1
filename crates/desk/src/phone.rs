//! Phone numbers in E.164 (`+` and at most 15 digits), the key customer records are found by.
//! Callers arrive as SIP or tel URIs written every way a trunk or a CRM writes them: with or
//! without `+`, with an international (00, 011) or national (0, 1) prefix, with dashes, dots,
//! spaces and parentheses. Anything that is not a number (a SIP user name) has no E.164 form.

/// How numbers without `+` are read: the country they are dialled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberPlan {
    /// The country calling code national numbers belong to ("1", "44", "86").
    pub country_code: String,
    /// The trunk prefix of national numbers ("1" in North America, "0" in most of the world).
    pub national_prefix: String,
    /// The prefixes that announce an international number ("011", "00").
    pub international_prefixes: Vec<String>,
}

impl Default for NumberPlan {
    fn default() -> Self {
        Self::for_country("1")
    }
}

impl NumberPlan {
    /// The usual prefixes for a country code: NANP ("1") dials 1 and 011, the rest 0 and 00.
    pub fn for_country(country_code: &str) -> Self {
        let nanp = country_code == "1";
        Self {
            country_code: country_code.to_owned(),
            national_prefix: if nanp { "1" } else { "0" }.to_owned(),
            international_prefixes: if nanp {
                vec!["011".into()]
            } else {
                vec!["00".into()]
            },
        }
    }

    /// `raw` (a number, or a `sip:`/`sips:`/`tel:` URI) in E.164, or `None` when it is not a
    /// phone number.
    pub fn e164(&self, raw: &str) -> Option<String> {
        let written = number_part(raw);
        let (plus, digits) = digits_of(written)?;
        let international = if plus {
            Some(digits.as_str())
        } else {
            self.international_prefixes
                .iter()
                .find_map(|p| digits.strip_prefix(p.as_str()))
        };
        let full = match international {
            Some(rest) => rest.to_owned(),
            None => {
                let national = digits
                    .strip_prefix(self.national_prefix.as_str())
                    .filter(|rest| rest.len() >= 6)
                    .unwrap_or(&digits);
                format!("{}{national}", self.country_code)
            }
        };
        // E.164: a country code (never starting with 0) and at most 15 digits in all; shorter
        // than 8 is an extension or a short code, not a number to find a customer by.
        let plausible = (8..=15).contains(&full.len()) && !full.starts_with('0');
        plausible.then(|| format!("+{full}"))
    }
}

/// The user part of a URI (`sip:+1415...@host;user=phone`), the number of a tel URI, or `raw`
/// itself.
fn number_part(raw: &str) -> &str {
    let raw = raw.trim();
    let raw = raw
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(raw);
    let lower = raw
        .get(..5)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower.starts_with("sips:") {
        &raw[5..]
    } else if lower.starts_with("sip:") || lower.starts_with("tel:") {
        &raw[4..]
    } else {
        raw
    };
    let end = rest.find(['@', ';', '?']).unwrap_or(rest.len());
    &rest[..end]
}

/// The digits of a written number, and whether it began with `+`. Visual separators are
/// dropped; any other character means it is not a number.
fn digits_of(written: &str) -> Option<(bool, String)> {
    let (plus, body) = match written.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, written),
    };
    let mut digits = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '-' | '.' | ' ' | '(' | ')' => {}
            _ => return None,
        }
    }
    (!digits.is_empty()).then_some((plus, digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn north_american_numbers_are_read_every_way_they_are_written() {
        let plan = NumberPlan::for_country("1");
        for raw in [
            "+14155550142",
            "sip:+14155550142@127.0.0.1;user=phone",
            "<sip:14155550142@trunk>",
            "tel:+1-415-555-0142",
            "(415) 555-0142",
            "415.555.0142",
            "01114155550142",
            "SIP:4155550142@h",
        ] {
            assert_eq!(plan.e164(raw).as_deref(), Some("+14155550142"), "{raw}");
        }
        assert_ne!(
            plan.e164("sip:00442079460123@trunk").as_deref(),
            Some("+442079460123"),
            "00 is not international in North America"
        );
    }

    #[test]
    fn elsewhere_the_national_zero_and_double_zero_are_read() {
        let uk = NumberPlan::for_country("44");
        assert_eq!(uk.e164("020 7946 0123").as_deref(), Some("+442079460123"));
        assert_eq!(uk.e164("00442079460123").as_deref(), Some("+442079460123"));
        assert_eq!(
            uk.e164("+86 10 5555 0100").as_deref(),
            Some("+861055550100")
        );
    }

    #[test]
    fn names_extensions_and_oversized_numbers_have_no_e164_form() {
        let plan = NumberPlan::default();
        for raw in [
            "sip:customer@127.0.0.1",
            "sip:2001@pbx",
            "+1234567890123456",
            "",
            "sip:@host",
            "+",
            "tel:+1-415-555-0142x9",
            "sip:+0123456789@h",
            "ſip:+14155550142@h",
        ] {
            assert_eq!(plan.e164(raw), None, "{raw:?}");
        }
    }
}
