//! A SIP message as it arrived: the start line, the header fields (unfolded, compact names
//! expanded) and the body, split from raw bytes without judging them.
//!
//! The screen reads this before rsipstack sees anything, so that a message rsipstack would
//! drop in silence, or accept though RFC 3261 forbids it, still gets its answer. Splitting is
//! lenient on purpose: a malformed request must still yield its Via, From, To, Call-ID and
//! CSeq, which are what a 400 is made of. Judging is [`crate::grammar`]'s job.

/// Header fields past this count make the message refused: nothing legitimate needs more,
/// and a flood of tiny fields is cheap to send and costly to keep.
pub const MAX_HEADERS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Lowercase, compact forms expanded (`v` is `via`).
    pub name: String,
    /// Unfolded (continuation lines joined by one space) and trimmed.
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct WireMessage<'a> {
    pub start_line: String,
    pub headers: Vec<Header>,
    /// Everything after the blank line, before Content-Length is applied.
    pub body: &'a [u8],
    /// Octets before the body (start line, headers, blank line).
    pub head_len: usize,
    /// What made the split uneasy (a line without a colon, bytes that are not UTF-8...): such
    /// a message is refused, but can still be answered.
    pub defects: Vec<&'static str>,
}

impl<'a> WireMessage<'a> {
    /// Splits a datagram. `None` when there is no message to speak of: no end of the header
    /// block, or no start line.
    pub fn split(bytes: &'a [u8]) -> Option<Self> {
        let head_end = find(bytes, b"\r\n\r\n")?;
        let head_len = head_end + 4;
        let mut defects = Vec::new();
        let head = match std::str::from_utf8(&bytes[..head_end]) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => {
                defects.push("header bytes that are not UTF-8");
                String::from_utf8_lossy(&bytes[..head_end])
            }
        };
        let mut lines = head.split("\r\n");
        let start_line = lines.next().filter(|l| !l.trim().is_empty())?.to_owned();
        let mut headers: Vec<Header> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                match headers.last_mut() {
                    Some(last) => {
                        if !last.value.is_empty() {
                            last.value.push(' ');
                        }
                        last.value.push_str(line.trim());
                    }
                    None => defects.push("a continuation line before any header field"),
                }
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                defects.push("a header line without a colon");
                continue;
            };
            let name = name.trim_end_matches([' ', '\t']);
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                defects.push("a header name that is not a token");
                continue;
            }
            headers.push(Header {
                name: long_name(&name.to_ascii_lowercase()).to_owned(),
                value: value.trim().to_owned(),
            });
        }
        if headers.len() > MAX_HEADERS {
            defects.push("too many header fields");
        }
        Some(Self {
            start_line,
            headers,
            body: &bytes[head_len..],
            head_len,
            defects,
        })
    }

    /// Every value of a header field, in order.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| h.value.as_str())
    }

    /// The first value of a header field.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_str())
    }

    /// The method of a request (the first word of the start line), `None` for a response.
    pub fn method(&self) -> Option<&str> {
        let first = self.start_line.split(' ').next()?;
        (!first.to_ascii_uppercase().starts_with("SIP/")).then_some(first)
    }
}

/// RFC 3261 7.3.3 and the registry of compact forms.
fn long_name(name: &str) -> &str {
    match name {
        "i" => "call-id",
        "m" => "contact",
        "e" => "content-encoding",
        "l" => "content-length",
        "c" => "content-type",
        "f" => "from",
        "s" => "subject",
        "k" => "supported",
        "t" => "to",
        "v" => "via",
        "r" => "refer-to",
        "b" => "referred-by",
        "o" => "event",
        "u" => "allow-events",
        "x" => "session-expires",
        other => other,
    }
}

/// RFC 3261 25.1 `token` characters.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_lines_are_joined_and_compact_names_expanded() {
        let raw = b"OPTIONS sip:a@b SIP/2.0\r\nv:  SIP/2.0/UDP h\r\n  ;branch=z9hG4bK1\r\nTO :\r\n sip:x@y\r\nl: 3\r\n\r\nabcdef";
        let m = WireMessage::split(raw).expect("splits");
        assert_eq!(m.first("via"), Some("SIP/2.0/UDP h ;branch=z9hG4bK1"));
        assert_eq!(m.first("to"), Some("sip:x@y"));
        assert_eq!(m.first("content-length"), Some("3"));
        assert_eq!(m.body, b"abcdef");
        assert_eq!(m.method(), Some("OPTIONS"));
        assert!(m.defects.is_empty());
    }

    #[test]
    fn a_line_without_colon_is_a_defect_not_a_loss() {
        let raw = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\ngarbage\r\n\r\n";
        let m = WireMessage::split(raw).expect("splits");
        assert_eq!(m.first("via"), Some("SIP/2.0/UDP h"));
        assert_eq!(m.defects, vec!["a header line without a colon"]);
    }

    #[test]
    fn without_the_blank_line_there_is_no_message() {
        assert!(WireMessage::split(b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n").is_none());
        assert!(WireMessage::split(b"\r\n\r\n").is_none());
        assert_eq!(
            WireMessage::split(b"SIP/2.0 200 OK\r\n\r\n")
                .and_then(|m| m.method().map(str::to_owned)),
            None
        );
    }
}
