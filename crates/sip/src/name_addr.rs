//! `name-addr` / `addr-spec` of From and To (RFC 3261 25.1), read from the raw header value.
//!
//! Display names are attacker-controlled text. A quoted display name may itself contain `<`,
//! `>` or `"` (escaped), which the stack's typed parser takes for the URI's brackets; this
//! parser follows the grammar so the name and the URI come out as the caller sent them.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display_name: Option<String>,
    pub uri: String,
}

/// Parses a From/To header value; `None` when it is not a name-addr or addr-spec.
pub fn parse(value: &str) -> Option<NameAddr> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('"') {
        let (name, after) = quoted(rest)?;
        let uri = bracketed(after.trim_start())?;
        return Some(NameAddr {
            display_name: non_empty(name),
            uri,
        });
    }
    if let Some(open) = value.find('<') {
        let name = value[..open].trim().to_owned();
        let uri = bracketed(&value[open..])?;
        return Some(NameAddr {
            display_name: non_empty(name),
            uri,
        });
    }
    // addr-spec: header parameters follow the first ';'.
    let uri = value.split(';').next().unwrap_or_default().trim();
    (!uri.is_empty() && uri.contains(':')).then(|| NameAddr {
        display_name: None,
        uri: uri.to_owned(),
    })
}

/// The header value as the stack can carry it through a dialog: without its display name when
/// that name holds `<`, `>`, `"` or `\`, which the stack's typed parser misreads (and would
/// then write back into our in-dialog requests' To as a malformed header that proxies drop).
/// `None` when the value is fine as it is, or is not a name-addr at all.
///
/// Dropping the name is allowed: From and To compare by URI and parameters, never by display
/// name (RFC 3261 §19.1.4, §20.20).
pub fn for_stack(value: &str) -> Option<String> {
    let rest = value.trim().strip_prefix('"')?;
    let (name, after) = quoted(rest)?;
    if !name.contains(['<', '>', '"', '\\']) {
        return None;
    }
    let after = after.trim_start();
    bracketed(after)?;
    Some(after.to_owned())
}

/// The content of a quoted string (after its opening quote) and what follows its closing one.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut name = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => name.push(chars.next()?.1),
            '"' => return Some((name, &s[i + 1..])),
            _ => name.push(c),
        }
    }
    None
}

fn bracketed(s: &str) -> Option<String> {
    let inner = s.strip_prefix('<')?;
    let close = inner.find('>')?;
    let uri = inner[..close].trim();
    (!uri.is_empty()).then(|| uri.to_owned())
}

fn non_empty(name: String) -> Option<String> {
    let trimmed = name.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn na(name: Option<&str>, uri: &str) -> Option<NameAddr> {
        Some(NameAddr {
            display_name: name.map(str::to_owned),
            uri: uri.to_owned(),
        })
    }

    #[test]
    fn markup_and_brackets_inside_a_quoted_name_stay_in_the_name() {
        assert_eq!(
            parse(r#""<img src=x onerror=alert(1)>" <sip:c@127.0.0.1>;tag=1"#),
            na(Some("<img src=x onerror=alert(1)>"), "sip:c@127.0.0.1")
        );
        assert_eq!(
            parse(r#""Say \"hi\" \\ bye" <sip:a@b>"#),
            na(Some(r#"Say "hi" \ bye"#), "sip:a@b")
        );
    }

    #[test]
    fn names_the_stack_would_misread_are_dropped_for_the_dialog() {
        assert_eq!(
            for_stack(r#""<img src=x onerror=alert(1)>" <sip:c@127.0.0.1>;tag=1"#).as_deref(),
            Some("<sip:c@127.0.0.1>;tag=1")
        );
        assert_eq!(
            for_stack(r#""Say \"hi\"" <sip:a@b>;tag=2"#).as_deref(),
            Some("<sip:a@b>;tag=2")
        );
        assert_eq!(for_stack(r#""Dana Whitfield" <sip:a@b>;tag=3"#), None);
        assert_eq!(for_stack("Dana <sip:a@b>;tag=3"), None);
        assert_eq!(for_stack(r#""<x>" garbage"#), None);
    }

    #[test]
    fn token_names_bare_uris_and_garbage() {
        assert_eq!(
            parse("Dana Whitfield <sip:4471@pbx>;tag=x"),
            na(Some("Dana Whitfield"), "sip:4471@pbx")
        );
        assert_eq!(parse("<sip:4471@pbx>"), na(None, "sip:4471@pbx"));
        assert_eq!(parse("sip:4471@pbx;tag=abc"), na(None, "sip:4471@pbx"));
        assert_eq!(parse(r#""" <sip:a@b>"#), na(None, "sip:a@b"));
        assert_eq!(parse(r#""unterminated <sip:a@b>"#), None);
        assert_eq!(parse("name <sip:a@b"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("<>"), None);
    }
}

#[cfg(test)]
mod robustness {
    /// Every prefix and every single-byte corruption of tricky headers parses or is refused
    /// without a panic (multi-byte UTF-8 included).
    #[test]
    fn truncated_and_corrupted_headers_never_panic() {
        let samples = [
            r#""Zoë \"Ops\" <Lead>" <sip:zoe@127.0.0.1;transport=udp>;tag=9"#,
            "Jörg <sip:j@h>",
            "sip:a@b;tag=1",
        ];
        for sample in samples {
            for end in 0..=sample.len() {
                if let Some(prefix) = sample.get(..end) {
                    let _ = super::parse(prefix);
                }
            }
            for (i, _) in sample.char_indices() {
                for replacement in ['"', '\\', '<', '>', ';', ' '] {
                    let mut s = sample.to_owned();
                    let len = s[i..].chars().next().map_or(0, char::len_utf8);
                    s.replace_range(i..i + len, &replacement.to_string());
                    if let Some(na) = super::parse(&s) {
                        assert!(!na.uri.is_empty());
                    }
                }
            }
        }
    }
}
