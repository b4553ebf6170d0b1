//! DTMF over SIP INFO, for peers that offer no RFC 4733 telephone-events. There is no standard
//! body; `application/dtmf-relay` ("Signal=5", "Duration=160") is what trunks and phones
//! (Cisco, Asterisk, baresip) agree on, and `application/dtmf` (a bare key) is read too.

pub const CONTENT_TYPE: &str = "application/dtmf-relay";

/// Tone length announced, in milliseconds.
const DURATION_MS: u32 = 160;

/// Whether `key` is a DTMF key (0-9, *, #, A-D).
pub fn is_key(key: char) -> bool {
    key.is_ascii_digit() || matches!(key.to_ascii_uppercase(), '*' | '#' | 'A'..='D')
}

/// The INFO body for one key.
pub fn body(key: char) -> String {
    format!(
        "Signal={}\r\nDuration={DURATION_MS}\r\n",
        key.to_ascii_uppercase()
    )
}

/// The key in a received INFO, given its Content-Type value and body.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Option<char> {
    let media_type = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    let text = std::str::from_utf8(body).ok()?;
    let raw = match media_type.as_str() {
        "application/dtmf-relay" => text.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("signal")
                .then(|| value.trim())
        })?,
        "application/dtmf" => text.trim(),
        _ => return None,
    };
    let key = match raw {
        // Some senders use the RFC 4733 codes for * and #.
        "10" => '*',
        "11" => '#',
        _ => {
            let mut chars = raw.chars();
            let key = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            key.to_ascii_uppercase()
        }
    };
    is_key(key).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_we_send_reads_back() {
        for key in "0123456789*#ABCD".chars() {
            assert_eq!(parse(Some(CONTENT_TYPE), body(key).as_bytes()), Some(key));
        }
    }

    #[test]
    fn other_senders_variants_are_read_and_junk_refused() {
        assert_eq!(
            parse(Some("Application/DTMF-Relay"), b"signal= 5\nduration=250"),
            Some('5')
        );
        assert_eq!(parse(Some("application/dtmf"), b"#"), Some('#'));
        assert_eq!(
            parse(Some("application/dtmf-relay"), b"Signal=11\r\n"),
            Some('#')
        );
        assert_eq!(parse(Some("application/dtmf-relay"), b"Signal=X\r\n"), None);
        assert_eq!(
            parse(Some("application/dtmf-relay"), b"Signal=55\r\n"),
            None
        );
        assert_eq!(parse(Some("text/plain"), b"Signal=5"), None);
        assert_eq!(parse(None, b"Signal=5"), None);
        assert_eq!(parse(Some("application/dtmf"), &[0xc3]), None);
    }
}
