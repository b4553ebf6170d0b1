//! A final response made straight from the request's raw fields, for requests refused before
//! any transaction exists (malformed, from a stranger, for a method or extension we lack).
//!
//! Where it goes follows RFC 3261 18.2.2 and RFC 3581, with one deliberate narrowing: the
//! address is always the one the request came from, never a `maddr` or a host named in the
//! Via, so a forged Via cannot aim our answers at a third party. Only the port comes from the
//! Via (its sent-by port, 5060 by default), or the source port where the Via asks for rport.

use std::net::SocketAddr;

use crate::grammar::split_outside_quotes;
use crate::wire::WireMessage;

/// The fields copied from the request into the response, in this order.
const ECHOED: [&str; 4] = ["from", "to", "call-id", "cseq"];

#[derive(Debug)]
pub struct Reply {
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// The response, or `None` when the request's top Via does not say where answers go.
pub fn build(
    request: &WireMessage,
    source: SocketAddr,
    status: u16,
    extra: &[(&str, String)],
    server: &str,
    tag: u64,
) -> Option<Reply> {
    let mut vias = request.all("via");
    let first_via = vias.next()?;
    let mut values = split_outside_quotes(first_via, ',').into_iter();
    let top = values.next()?.trim();
    let port = destination_port(top, source)?;
    let mut text = format!("SIP/2.0 {status} {}\r\n", reason(status));
    let rest: Vec<&str> = values.collect();
    let mut top_via = stamp_via(top, source);
    if !rest.is_empty() {
        top_via = format!("{top_via},{}", rest.join(","));
    }
    push(&mut text, "Via", &top_via);
    for via in vias {
        push(&mut text, "Via", via);
    }
    for name in ECHOED {
        if let Some(value) = request.first(name) {
            let value = if name == "to" && !has_tag(value) {
                format!("{value};tag={tag:016x}")
            } else {
                value.to_owned()
            };
            push(&mut text, header_name(name), &value);
        }
    }
    for (name, value) in extra {
        push(&mut text, name, value);
    }
    push(&mut text, "Server", server);
    text.push_str("Content-Length: 0\r\n\r\n");
    Some(Reply {
        to: SocketAddr::new(source.ip(), port),
        bytes: text.into_bytes(),
    })
}

fn push(text: &mut String, name: &str, value: &str) {
    text.push_str(name);
    text.push_str(": ");
    text.push_str(value);
    text.push_str("\r\n");
}

/// The port from the top Via: the source port when it carries `rport`, else its sent-by port.
fn destination_port(top_via: &str, source: SocketAddr) -> Option<u16> {
    let mut pieces = split_outside_quotes(top_via, ';').into_iter();
    let protocol = pieces.next()?;
    if pieces.any(|p| param_name(p).eq_ignore_ascii_case("rport")) {
        return Some(source.port());
    }
    let sent_by = protocol.rsplit('/').next()?.split_whitespace().nth(1)?;
    let port = match sent_by.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.1.strip_prefix(':'),
        None => sent_by.split_once(':').map(|(_, p)| p),
    };
    match port {
        None => Some(5060),
        Some(p) => p.parse().ok().filter(|p: &u16| *p != 0),
    }
}

/// The top Via with `received` set to the source address and a bare `rport` filled in.
fn stamp_via(top_via: &str, source: SocketAddr) -> String {
    let mut pieces = split_outside_quotes(top_via, ';').into_iter();
    let mut stamped = pieces.next().unwrap_or_default().trim_end().to_owned();
    for param in pieces {
        let name = param_name(param);
        if name.eq_ignore_ascii_case("received") {
            continue;
        }
        stamped.push(';');
        if name.eq_ignore_ascii_case("rport") {
            stamped.push_str(&format!("rport={}", source.port()));
        } else {
            stamped.push_str(param.trim());
        }
    }
    stamped.push_str(&format!(";received={}", source.ip()));
    stamped
}

fn param_name(param: &str) -> &str {
    param.split('=').next().unwrap_or_default().trim()
}

fn has_tag(to: &str) -> bool {
    split_outside_quotes(to, ';')
        .into_iter()
        .skip(1)
        .any(|p| param_name(p).eq_ignore_ascii_case("tag"))
}

fn header_name(lower: &str) -> &str {
    match lower {
        "from" => "From",
        "to" => "To",
        "call-id" => "Call-ID",
        _ => "CSeq",
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        501 => "Not Implemented",
        505 => "Version Not Supported",
        _ => "Refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(via: &str, to: &str) -> String {
        format!("OPTIONS sip:a@b SIP/2.0\r\nVia: {via}\r\nFrom: <sip:x@y>;tag=9\r\nTo: {to}\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n")
    }

    fn reply(raw: &str) -> Option<(SocketAddr, String)> {
        let msg = WireMessage::split(raw.as_bytes())?;
        let source: SocketAddr = "127.0.0.1:40000".parse().ok()?;
        build(&msg, source, 400, &[], "test", 0xab)
            .map(|r| (r.to, String::from_utf8_lossy(&r.bytes).into_owned()))
    }

    #[test]
    fn answers_go_to_the_source_address_at_the_via_port() {
        let (to, text) = reply(&request(
            "SIP/2.0/UDP 192.0.2.5:5070;branch=z9hG4bK1;maddr=192.0.2.9",
            "<sip:a@b>",
        ))
        .expect("reply");
        assert_eq!(to, "127.0.0.1:5070".parse().expect("addr"));
        assert!(text.starts_with("SIP/2.0 400 Bad Request\r\n"), "{text}");
        assert!(text.contains("Via: SIP/2.0/UDP 192.0.2.5:5070;branch=z9hG4bK1;maddr=192.0.2.9;received=127.0.0.1\r\n"), "{text}");
        assert!(
            text.contains("To: <sip:a@b>;tag=00000000000000ab\r\n"),
            "{text}"
        );
        let (to, _) = reply(&request("SIP/2.0/UDP [2001:db8::1]", "<sip:a@b>")).expect("reply");
        assert_eq!(to.port(), 5060);
    }

    #[test]
    fn rport_sends_back_to_the_source_port_and_a_tag_is_kept() {
        let (to, text) = reply(&request(
            "SIP/2.0/UDP h;rport;branch=z9hG4bK1, SIP/2.0/UDP other",
            "<sip:a@b>;tag=t1",
        ))
        .expect("reply");
        assert_eq!(to.port(), 40000);
        assert!(text.contains("Via: SIP/2.0/UDP h;rport=40000;branch=z9hG4bK1;received=127.0.0.1, SIP/2.0/UDP other\r\n"), "{text}");
        assert!(text.contains("To: <sip:a@b>;tag=t1\r\n"), "{text}");
    }

    #[test]
    fn no_answer_without_a_usable_via() {
        assert!(reply("OPTIONS sip:a@b SIP/2.0\r\nFrom: x\r\n\r\n").is_none());
        assert!(reply(&request("SIP/2.0/UDP h:0", "<sip:a@b>")).is_none());
    }
}
