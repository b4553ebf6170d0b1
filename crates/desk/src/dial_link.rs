//! Click-to-dial: the `tel:`, `sip:`, `sips:` and `callto:` links other applications hand us
//! (a CRM page, a mail signature), as something to dial. A link is outside input: anything
//! that is not plainly a number or a SIP address is refused, never guessed at.

/// The dial string in `link`, or `None` when it is not a link we dial.
pub fn dial_target(link: &str) -> Option<String> {
    let link = link.trim();
    let (scheme, rest) = link.split_once(':')?;
    match scheme.to_ascii_lowercase().as_str() {
        "tel" => number(rest.split(';').next().unwrap_or_default()),
        // callto:+1415..., callto://+1415... (Skype's form), callto:user@host.
        "callto" => {
            let rest = rest.trim_start_matches("//");
            if rest.contains('@') {
                sip_address("sip", rest)
            } else {
                number(rest.split(['?', ';']).next().unwrap_or_default())
            }
        }
        "sip" | "sips" => sip_address(&scheme.to_ascii_lowercase(), rest),
        _ => None,
    }
}

/// Digits with an optional leading `+` (and `*`, `#`), visual separators dropped; browsers
/// percent-encode some of them.
fn number(text: &str) -> Option<String> {
    let decoded = text
        .replace("%2B", "+")
        .replace("%2b", "+")
        .replace("%20", " ");
    let mut out = String::new();
    for (i, c) in decoded.chars().enumerate() {
        match c {
            '+' if i == 0 => out.push(c),
            '0'..='9' | '*' | '#' => out.push(c),
            '-' | '.' | ' ' | '(' | ')' => {}
            _ => return None,
        }
    }
    let digits = out.chars().filter(char::is_ascii_digit).count();
    (1..=32).contains(&digits).then_some(out)
}

/// `user@host` (with optional port and URI parameters, no headers) as a SIP URI.
fn sip_address(scheme: &str, rest: &str) -> Option<String> {
    let address = rest.split('?').next().unwrap_or_default();
    let (user, host) = address.split_once('@')?;
    let fine = |s: &str, extra: &str| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric() || "-_.!~*'()+%".contains(c) || extra.contains(c)
            })
    };
    (fine(user, "&=$,;?/") && fine(host, ":[];=")).then(|| format!("{scheme}:{user}@{host}"))
}

#[cfg(test)]
mod tests {
    use super::dial_target;

    #[test]
    fn links_from_other_applications_become_dial_strings() {
        let cases = [
            ("tel:+1-415-555-0142", "+14155550142"),
            ("TEL:415.555.0142;phone-context=+1", "4155550142"),
            ("tel:%2B14155550142", "+14155550142"),
            ("callto:+14155550142", "+14155550142"),
            ("callto://+1 415 555 0142", "+14155550142"),
            ("callto:expert@127.0.0.1", "sip:expert@127.0.0.1"),
            (
                "sip:expert@127.0.0.1:5070;transport=tcp",
                "sip:expert@127.0.0.1:5070;transport=tcp",
            ),
            (
                "sips:4155550142@trunk.invalid?subject=hi",
                "sips:4155550142@trunk.invalid",
            ),
            ("tel:*72#", "*72#"),
        ];
        for (link, target) in cases {
            assert_eq!(dial_target(link).as_deref(), Some(target), "{link}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for link in [
            "https://crm.invalid/",
            "tel:",
            "tel:call-me",
            "tel:1+2",
            "sip:nobody",
            "sip:@host",
            "sip:a b@host",
            "sip:a@ho<st>",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "--disable-gpu",
            "",
            "tel:+123456789012345678901234567890123",
        ] {
            assert_eq!(dial_target(link), None, "{link:?}");
        }
    }
}
