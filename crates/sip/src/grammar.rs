//! Whether a split message obeys RFC 3261's grammar where it matters to a user agent: the start
//! line, the fields every message must carry once, the scalar fields' ranges, and the shape of
//! the address fields. rsipstack's parser is lenient where the RFC says to refuse (RFC 4475
//! lists the cases), so this runs first and decides.

use crate::wire::{is_token_byte, WireMessage};

/// Why a message is refused, and the status a request gets for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// 400, or 505 for a SIP version other than 2.0.
    pub status: u16,
    pub why: String,
}

fn bad(why: impl Into<String>) -> Malformed {
    Malformed {
        status: 400,
        why: why.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: String, uri: String },
    Response { code: u16 },
}

/// A message that passed: what it starts with, and how much of the datagram it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub start: StartLine,
    /// Head plus the body Content-Length covers (trailing octets in a datagram are not ours).
    pub len: usize,
}

/// Fields that every request and response carries (RFC 3261 8.1.1; Max-Forwards is left out:
/// RFC 2543 peers omit it and a user agent does not forward).
const REQUIRED: [&str; 5] = ["via", "from", "to", "call-id", "cseq"];
/// Fields that may appear once only (RFC 3261 7.3.1: only list-valued fields repeat).
const SINGLE: [&str; 7] = [
    "from",
    "to",
    "call-id",
    "cseq",
    "max-forwards",
    "content-length",
    "content-type",
];

pub fn check(msg: &WireMessage) -> Result<Checked, Malformed> {
    if let Some(defect) = msg.defects.first() {
        return Err(bad(*defect));
    }
    let start = start_line(&msg.start_line)?;
    for name in REQUIRED {
        if msg.first(name).is_none() {
            return Err(bad(format!("no {name} header field")));
        }
    }
    for name in SINGLE {
        if msg.all(name).nth(1).is_some() {
            return Err(bad(format!("{name} appears more than once")));
        }
    }
    if let StartLine::Request { method, uri } = &start {
        request_uri(uri)?;
        cseq(msg.first("cseq").unwrap_or_default(), Some(method))?;
    } else {
        cseq(msg.first("cseq").unwrap_or_default(), None)?;
    }
    if let Some(mf) = msg.first("max-forwards") {
        bounded_number(mf, 255).ok_or_else(|| bad("Max-Forwards is not 0 to 255"))?;
    }
    for via in msg.all("via") {
        via_field(via)?;
    }
    for name in ["from", "to"] {
        name_addr(msg.first(name).unwrap_or_default())
            .map_err(|why| bad(format!("{name}: {why}")))?;
    }
    for contact in msg.all("contact") {
        if contact.trim() != "*" {
            for value in split_outside_quotes(contact, ',') {
                name_addr(value).map_err(|why| bad(format!("contact: {why}")))?;
            }
        }
    }
    let call_id = msg.first("call-id").unwrap_or_default();
    if call_id.is_empty() || call_id.contains(char::is_whitespace) {
        return Err(bad("Call-ID is empty or holds white space"));
    }
    let body = content_length(msg)?;
    Ok(Checked {
        start,
        len: msg.head_len + body,
    })
}

fn start_line(line: &str) -> Result<StartLine, Malformed> {
    if line
        .get(..4)
        .is_some_and(|s| s.eq_ignore_ascii_case("SIP/"))
    {
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        if version != "SIP/2.0" {
            return Err(version_error(version));
        }
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("status code is not three digits"));
        }
        let code: u16 = code.parse().map_err(|_| bad("status code"))?;
        if !(100..=699).contains(&code) {
            return Err(bad("status code out of range"));
        }
        return Ok(StartLine::Response { code });
    }
    if line.contains(|c: char| c.is_whitespace() && c != ' ') {
        return Err(bad("white space other than SP in the request line"));
    }
    // Tolerated: several SP between the parts, and SP at the end (RFC 4475 3.1.2.9, .10).
    let parts: Vec<&str> = line.split(' ').filter(|p| !p.is_empty()).collect();
    let [method, uri, version] = parts[..] else {
        return Err(bad("request line is not method, Request-URI, version"));
    };
    if !method.bytes().all(is_token_byte) {
        return Err(bad("method is not a token"));
    }
    if version != "SIP/2.0" {
        return Err(version_error(version));
    }
    Ok(StartLine::Request {
        method: method.to_owned(),
        uri: uri.to_owned(),
    })
}

fn version_error(version: &str) -> Malformed {
    let looks_like_sip = version
        .get(..4)
        .is_some_and(|s| s.eq_ignore_ascii_case("SIP/"));
    if looks_like_sip {
        Malformed {
            status: 505,
            why: format!("SIP version {version} is not supported"),
        }
    } else {
        bad("no SIP version")
    }
}

/// The scheme of a URI, if it has a well-formed one.
pub fn scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let mut bytes = scheme.bytes();
    let first_alpha = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    let rest = bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    (first_alpha && rest).then_some(scheme)
}

fn request_uri(uri: &str) -> Result<(), Malformed> {
    let scheme = scheme(uri).ok_or_else(|| bad("Request-URI has no scheme"))?;
    if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        sip_uri_host(uri).ok_or_else(|| bad("Request-URI host is malformed"))?;
    }
    Ok(())
}

/// The host of a SIP URI, checked: a bracketed IPv6 reference or a name/IPv4 with at most one
/// colon before the port (RFC 5118 4.4: an unbracketed IPv6 address is refused).
pub fn sip_uri_host(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once(':')?;
    // The user part may hold '?', ';' and ':' (RFC 4475 3.1.1.2): the host follows the last '@'.
    let hostpart = match rest.rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let hostport = hostpart.split([';', '?']).next().unwrap_or_default();
    host_port(hostport).then_some(hostport)
}

fn host_port(text: &str) -> bool {
    let text = text.trim();
    let (host_ok, port) = if let Some(inner) = text.strip_prefix('[') {
        let Some((v6, after)) = inner.split_once(']') else {
            return false;
        };
        let v6_ok = !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        match after.strip_prefix(':') {
            Some(port) => (v6_ok, Some(port)),
            None => (v6_ok && after.is_empty(), None),
        }
    } else {
        let mut parts = text.split(':');
        let host = parts.next().unwrap_or_default();
        let port = parts.next();
        if parts.next().is_some() {
            return false;
        }
        // '_' is not in RFC 3261's hostname, but real SBCs are named with it: tolerated.
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
        (host_ok, port)
    };
    host_ok && port.is_none_or(|p| bounded_number(p.trim(), 65535).is_some())
}

fn bounded_number(text: &str, max: u64) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|n| *n <= max)
}

/// `CSeq: number method`, the number below 2^31 (RFC 3261 8.1.1.5), the method the request's.
fn cseq(value: &str, request_method: Option<&str>) -> Result<(), Malformed> {
    let mut parts = value.split_whitespace();
    let (Some(number), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("CSeq is not a number and a method"));
    };
    bounded_number(number, (1 << 31) - 1).ok_or_else(|| bad("CSeq number out of range"))?;
    if let Some(request_method) = request_method {
        if method != request_method {
            return Err(bad("CSeq method differs from the request's"));
        }
    }
    Ok(())
}

/// The body's length: Content-Length where given (it must fit what arrived), else the rest of
/// the datagram (RFC 3261 18.3).
fn content_length(msg: &WireMessage) -> Result<usize, Malformed> {
    let Some(value) = msg.first("content-length") else {
        return Ok(msg.body.len());
    };
    let length = bounded_number(value, u32::MAX.into())
        .ok_or_else(|| bad("Content-Length is not a number"))?;
    let length = usize::try_from(length).map_err(|_| bad("Content-Length too large"))?;
    if length > msg.body.len() {
        return Err(bad("Content-Length is larger than the message"));
    }
    Ok(length)
}

/// One Via field value: `SIP / 2.0 / transport sent-by *(; param)`, comma-separated.
fn via_field(value: &str) -> Result<(), Malformed> {
    for via in split_outside_quotes(value, ',') {
        via_value(via).map_err(|why| bad(format!("Via: {why}")))?;
    }
    Ok(())
}

fn via_value(via: &str) -> Result<(), &'static str> {
    let via = via.trim();
    if via.is_empty() {
        return Err("empty value");
    }
    let mut pieces = split_outside_quotes(via, ';').into_iter();
    let protocol = pieces.next().unwrap_or_default();
    let parts: Vec<&str> = protocol.split('/').map(str::trim).collect();
    let [name, version, rest] = parts[..] else {
        return Err("protocol is not SIP/2.0/transport");
    };
    if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
        return Err("protocol is not SIP/2.0");
    }
    let mut words = rest.split_whitespace();
    let (Some(transport), Some(sent_by), None) = (words.next(), words.next(), words.next()) else {
        return Err("no transport and sent-by");
    };
    if !transport.bytes().all(is_token_byte) || !host_port(sent_by) {
        return Err("malformed transport or sent-by");
    }
    pieces.try_for_each(parameter)
}

/// `name [= value]`; the value a token, a host (IPv6 with or without brackets) or quoted.
fn parameter(param: &str) -> Result<(), &'static str> {
    let (name, value) = match param.split_once('=') {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (param.trim(), None),
    };
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err("empty or malformed parameter");
    }
    match value {
        None => Ok(()),
        Some(v) if v.starts_with('"') => quoted_end(v)
            .filter(|end| *end == v.len())
            .map(|_| ())
            .ok_or("unterminated quoted parameter"),
        Some(v) if !v.is_empty() && v.bytes().all(|b| is_token_byte(b) || b"[]:".contains(&b)) => {
            Ok(())
        }
        Some(_) => Err("malformed parameter value"),
    }
}

/// `[display-name] <uri> *(; param)` or `addr-spec *(; param)`.
pub fn name_addr(value: &str) -> Result<(), &'static str> {
    let value = value.trim();
    let after_display = if value.starts_with('"') {
        let end = quoted_end(value).ok_or("unterminated quoted display name")?;
        if !value[end..].trim_start().starts_with('<') {
            return Err("quoted display name without <URI>");
        }
        &value[end..]
    } else {
        value
    };
    let params = match after_display.find('<') {
        Some(open) => {
            if after_display[..open].contains('"') {
                return Err("stray quote");
            }
            let close = after_display[open..].find('>').ok_or("< without >")? + open;
            let uri = &after_display[open + 1..close];
            scheme(uri).ok_or("URI without a scheme")?;
            &after_display[close + 1..]
        }
        None => {
            // addr-spec: parameters after the first ';' belong to the header field.
            let uri = after_display.split(';').next().unwrap_or_default().trim();
            scheme(uri).ok_or("URI without a scheme")?;
            &after_display[uri.len()..]
        }
    };
    let params = params.trim();
    if params.is_empty() {
        return Ok(());
    }
    let params = params.strip_prefix(';').ok_or("text after the address")?;
    split_outside_quotes(params, ';')
        .into_iter()
        .try_for_each(parameter)
}

/// The index just past the closing quote of a quoted string starting at `text[0]`.
fn quoted_end(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Splits on `sep` where it is outside double quotes and angle brackets.
pub fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == sep && !quoted && !angle => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(raw: &str) -> Result<Checked, Malformed> {
        check(&WireMessage::split(raw.as_bytes()).expect("splits"))
    }

    const GOOD: &str = "OPTIONS sip:agent@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport\r\nFrom: \"A \\\"B\\\"\" <sip:a@b>;tag=1\r\nTo: sip:agent@127.0.0.1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn a_plain_request_passes() {
        let checked = verdict(GOOD).expect("valid");
        assert_eq!(checked.len, GOOD.len());
        assert!(
            matches!(checked.start, StartLine::Request { ref method, .. } if method == "OPTIONS")
        );
    }

    #[test]
    fn each_broken_rule_is_named() {
        let cases = [
            ("CSeq: 1 OPTIONS", "CSeq: 1 INVITE", "differs"),
            (
                "CSeq: 1 OPTIONS",
                "CSeq: 2147483648 OPTIONS",
                "out of range",
            ),
            ("Content-Length: 0", "Content-Length: -1", "not a number"),
            ("Content-Length: 0", "Content-Length: 5", "larger"),
            ("Call-ID: c1", "Call-ID: c1\r\ni: c2", "more than once"),
            (";branch=z9hG4bK1;rport", ";branch=z9hG4bK1;;", "Via"),
            ("<sip:a@b>;tag=1", "<sip:a@b;tag=1", "< without >"),
            ("\"A \\\"B\\\"\" <sip:a@b>", "\"A <sip:a@b>", "from"),
            (
                "sip:agent@127.0.0.1:5070 SIP",
                "sip:agent@2001:db8::1 SIP",
                "Request-URI",
            ),
            (
                "sip:agent@127.0.0.1:5070 SIP",
                "<sip:agent@127.0.0.1> SIP",
                "Request-URI",
            ),
            (
                "sip:agent@127.0.0.1:5070 SIP",
                "sip:agent@h; lr SIP",
                "request line",
            ),
        ];
        for (from, to, why) in cases {
            let raw = GOOD.replacen(from, to, 1);
            let err = verdict(&raw).expect_err(to);
            assert!(err.why.contains(why), "{to}: {err:?}");
            assert_eq!(err.status, 400);
        }
    }

    #[test]
    fn another_version_is_505_and_responses_need_three_digits() {
        let raw = GOOD.replacen("SIP/2.0\r\n", "SIP/7.0\r\n", 1);
        assert_eq!(verdict(&raw).map_err(|e| e.status), Err(505));
        let resp = GOOD.replacen(
            "OPTIONS sip:agent@127.0.0.1:5070 SIP/2.0",
            "SIP/2.0 4294967301 big",
            1,
        );
        assert!(verdict(&resp).is_err());
        let resp = GOOD.replacen(
            "OPTIONS sip:agent@127.0.0.1:5070 SIP/2.0",
            "SIP/2.0 200 ",
            1,
        );
        assert_eq!(
            verdict(&resp).map(|c| c.start),
            Ok(StartLine::Response { code: 200 })
        );
    }

    #[test]
    fn trailing_octets_are_not_part_of_the_message() {
        let raw = GOOD.replacen("Content-Length: 0", "Content-Length: 2", 1) + "v=0\r\nextra";
        assert_eq!(verdict(&raw).map(|c| c.len), Ok(GOOD.len() + 2));
    }

    #[test]
    fn folding_and_white_space_are_tolerated() {
        assert!(name_addr("\"J \\\\\\\"\"  <sip:j@e> ; tag = 98").is_ok());
        assert!(via_field(
            "SIP  / 2.0  / TCP  h   ; branch  =   z9 , SIP / 2.0 / UDP [::1]:5060 ; received=::1"
        )
        .is_ok());
        assert!(name_addr("sip:x@y;tag=1").is_ok());
        // Sloppy but real: an SBC named with '_', Content-Encoding on two lines (a list).
        assert!(via_field("SIP/2.0/UDP sbc_1.local:5060;branch=z9hG4bK1").is_ok());
        let two_encodings = GOOD.replacen(
            "Content-Length: 0",
            "Content-Encoding: identity\r\nContent-Encoding: identity\r\nContent-Length: 0",
            1,
        );
        assert!(verdict(&two_encodings).is_ok());
        assert!(name_addr("\"Joe\" <sip:joe@example.org>;;;;").is_err());
    }
}
