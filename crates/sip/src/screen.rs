//! What happens to a datagram before the SIP stack sees it: passed on, dropped, or answered
//! here. Sans-IO: bytes and their source in, a verdict out.
//!
//! The order is RFC 3261 8.2's, with the trunk check in front: grammar (400, 505), then who
//! sent it (403: only the trunk may reach us), then the method (405 for one we know but do not
//! serve, 501 for one we do not know), the Request-URI scheme (416), required extensions
//! (420), the body's encoding and type (415), what the caller accepts (406), and last the
//! Request-URI's user (404), so a misaddressed request still learns what else was wrong.
//! Strangers get no answer to anything malformed: an answer would only help a scanner.

use std::net::SocketAddr;

use crate::grammar::{self, Checked, StartLine};
use crate::stateless_reply::{self, Reply};
use crate::trust::TrustPolicy;
use crate::wire::WireMessage;

/// The methods we serve.
pub const ALLOW: [&str; 9] = [
    "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "UPDATE", "REFER", "NOTIFY",
];
/// Methods we know but do not serve as a user agent on a trunk.
const KNOWN: [&str; 5] = ["REGISTER", "SUBSCRIBE", "PUBLISH", "MESSAGE", "PRACK"];
/// Option tags a request may require of us: session timers (RFC 4028) and Replaces (RFC 3891).
pub const SUPPORTED: [&str; 2] = ["timer", "replaces"];
/// Body types we read: SDP offers and answers, DTMF by INFO, transfer progress by NOTIFY.
const BODY_TYPES: [&str; 4] = [
    "application/sdp",
    "application/dtmf-relay",
    "application/dtmf",
    "message/sipfrag",
];

#[derive(Debug)]
pub enum Verdict {
    /// Hand the first `len` octets on to the stack.
    Pass {
        len: usize,
    },
    Drop {
        why: String,
    },
    Answer {
        status: u16,
        why: String,
        reply: Reply,
    },
}

pub struct Screen {
    pub policy: TrustPolicy,
    /// Our Server header.
    pub server: String,
}

impl Screen {
    /// `tag` is a fresh random number for the To tag of an answer.
    pub fn inspect(&self, datagram: &[u8], source: SocketAddr, tag: u64) -> Verdict {
        // Keepalives (CRLF, double CRLF) are the transport's business.
        if datagram.iter().all(u8::is_ascii_whitespace) {
            return Verdict::Pass {
                len: datagram.len(),
            };
        }
        let Some(msg) = WireMessage::split(datagram) else {
            return drop("not a SIP message");
        };
        let from_trunk = self.policy.is_trunk(source.ip());
        let method = msg.method().map(str::to_owned);
        let answerable = from_trunk && method.as_deref().is_some_and(|m| m != "ACK");
        let checked = match grammar::check(&msg) {
            Ok(checked) => checked,
            Err(e) if answerable => return self.answer(&msg, source, e.status, e.why, &[], tag),
            Err(e) => return drop(format!("malformed: {}", e.why)),
        };
        let (method, uri) = match &checked.start {
            StartLine::Response { .. } if from_trunk || self.policy.trunk.is_empty() => {
                return pass(&checked)
            }
            StartLine::Response { .. } => return drop("a response from outside the trunk"),
            StartLine::Request { method, uri } => (method.as_str(), uri.as_str()),
        };
        if method == "ACK" {
            return if from_trunk {
                pass(&checked)
            } else {
                drop("an ACK from outside the trunk")
            };
        }
        if !from_trunk {
            let why = format!("{method} from {} outside the trunk", source.ip());
            return self.answer(&msg, source, 403, why, &[], tag);
        }
        match refusal(&msg, &checked, method, uri, &self.policy, source) {
            Some(Refusal { status, why, extra }) => {
                self.answer(&msg, source, status, why, &extra, tag)
            }
            None => pass(&checked),
        }
    }

    fn answer(
        &self,
        msg: &WireMessage,
        source: SocketAddr,
        status: u16,
        why: String,
        extra: &[(&str, String)],
        tag: u64,
    ) -> Verdict {
        let mut extra = extra.to_vec();
        // Says what was wrong; the text is ours, never the request's.
        extra.push(("Warning", format!("399 switchboard \"{why}\"")));
        match stateless_reply::build(msg, source, status, &extra, &self.server, tag) {
            Some(reply) => Verdict::Answer { status, why, reply },
            None => drop(format!("{why}, and no Via to answer to")),
        }
    }
}

struct Refusal {
    status: u16,
    why: String,
    extra: Vec<(&'static str, String)>,
}

fn refuse(status: u16, why: impl Into<String>) -> Option<Refusal> {
    Some(Refusal {
        status,
        why: why.into(),
        extra: Vec::new(),
    })
}

/// RFC 3261 8.2.1 to 8.2.3 and our trust rule, for a well-formed request from the trunk.
fn refusal(
    msg: &WireMessage,
    checked: &Checked,
    method: &str,
    uri: &str,
    policy: &TrustPolicy,
    source: SocketAddr,
) -> Option<Refusal> {
    let allow = ("Allow", ALLOW.join(", "));
    if !ALLOW.contains(&method) {
        let status = if KNOWN.contains(&method) { 405 } else { 501 };
        let mut r = refuse(status, "method not served here")?;
        r.extra.push(allow);
        return Some(r);
    }
    let scheme = grammar::scheme(uri).unwrap_or_default();
    if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
        return refuse(416, "Request-URI scheme is not sip or sips");
    }
    if method != "CANCEL" {
        let unsupported = unsupported_options(msg);
        if !unsupported.is_empty() {
            let mut r = refuse(420, "a required extension is not supported")?;
            r.extra.push(("Unsupported", unsupported.join(", ")));
            return Some(r);
        }
    }
    if let Some(r) = body_refusal(msg, checked) {
        return Some(r);
    }
    if method == "INVITE" && !accepts_sdp(msg) {
        return refuse(406, "the caller accepts no SDP answer");
    }
    // The source is the trunk by now: what is left to refuse is a Request-URI not ours.
    match policy.admit(source.ip(), sip_user(uri)) {
        Ok(()) => None,
        Err(r) => refuse(r.status(), "Request-URI is not our address"),
    }
}

fn unsupported_options(msg: &WireMessage) -> Vec<String> {
    msg.all("require")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .filter(|tag| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag)))
        .map(str::to_owned)
        .collect()
}

fn body_refusal(msg: &WireMessage, checked: &Checked) -> Option<Refusal> {
    let accept = || ("Accept", BODY_TYPES.join(", "));
    if let Some(encoding) = msg.first("content-encoding") {
        if !encoding.trim().eq_ignore_ascii_case("identity") {
            let mut r = refuse(415, "the body's encoding is not supported")?;
            r.extra.push(("Accept-Encoding", "identity".into()));
            return Some(r);
        }
    }
    if checked.len == msg.head_len {
        return None;
    }
    let Some(content_type) = msg.first("content-type") else {
        return refuse(400, "a body without Content-Type");
    };
    let base = media_type(content_type);
    if BODY_TYPES.iter().any(|t| t.eq_ignore_ascii_case(&base)) {
        return None;
    }
    let mut r = refuse(415, "the body's type is not one we read")?;
    r.extra.push(accept());
    Some(r)
}

/// `type/subtype` of a Content-Type or Accept entry, lowercase, parameters left off.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .split('/')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("/")
        .to_ascii_lowercase()
}

/// An INVITE's answer is SDP: the caller must accept it where it lists what it accepts.
fn accepts_sdp(msg: &WireMessage) -> bool {
    let mut listed = msg
        .all("accept")
        .flat_map(|v| v.split(','))
        .map(media_type)
        .filter(|t| !t.is_empty())
        .peekable();
    if listed.peek().is_none() {
        return true;
    }
    listed.any(|t| matches!(t.as_str(), "application/sdp" | "application/*" | "*/*"))
}

/// The user part of a sip/sips Request-URI (before any password), if it names one.
fn sip_user(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once(':')?;
    let (userinfo, _) = rest.rsplit_once('@')?;
    userinfo.split(':').next()
}

fn pass(checked: &Checked) -> Verdict {
    Verdict::Pass { len: checked.len }
}

fn drop(why: impl Into<String>) -> Verdict {
    Verdict::Drop { why: why.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen() -> Screen {
        Screen {
            policy: TrustPolicy {
                trunk: vec!["127.0.0.1".parse().expect("ip")],
                local_user: "agent".into(),
            },
            server: "test".into(),
        }
    }

    fn request(start: &str, extra: &str, body: &str) -> String {
        let method = start.split(' ').next().unwrap_or_default();
        format!(
            "{start} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK1\r\nFrom: <sip:t@trunk>;tag=1\r\nTo: <sip:agent@h>\r\nCall-ID: c\r\nCSeq: 1 {method}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    fn status(raw: &str, from: &str) -> Result<u16, String> {
        let source: SocketAddr = from.parse().expect("addr");
        match screen().inspect(raw.as_bytes(), source, 1) {
            Verdict::Answer { status, reply, .. } => {
                assert_eq!(reply.to, SocketAddr::new(source.ip(), 5099));
                Ok(status)
            }
            other => Err(format!("{other:?}")),
        }
    }

    const TRUNK: &str = "127.0.0.1:5060";

    #[test]
    fn each_refusal_has_its_status() {
        let sdp = "v=0\r\n";
        let cases = [
            (
                request("INVITE sip:agent@h", "", sdp).replace("SIP/2.0\r\nVia", "SIP/3.0\r\nVia"),
                505,
            ),
            (
                request("INVITE sip:agent@h", "CSeq: 2 INVITE\r\n", sdp),
                400,
            ),
            (request("SUBSCRIBE sip:agent@h", "", ""), 405),
            (request("FROB sip:agent@h", "", ""), 501),
            (request("OPTIONS tel:+123", "", ""), 416),
            (
                request("INVITE sip:agent@h", "Require: 100rel\r\n", sdp),
                420,
            ),
            (
                request(
                    "INVITE sip:agent@h",
                    "Content-Type: text/plain\r\n",
                    "hello",
                ),
                415,
            ),
            (
                request(
                    "INVITE sip:agent@h",
                    "Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n",
                    sdp,
                ),
                415,
            ),
            (
                request(
                    "INVITE sip:agent@h",
                    "Content-Type: application/sdp\r\nAccept: text/html\r\n",
                    sdp,
                ),
                406,
            ),
            (
                request(
                    "INVITE sip:someone@h",
                    "Content-Type: application/sdp\r\n",
                    sdp,
                ),
                404,
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(status(&raw, TRUNK), Ok(expected), "{raw}");
        }
    }

    #[test]
    fn a_good_request_from_the_trunk_passes_without_trailing_octets() {
        let raw = request(
            "INVITE sip:agent@h",
            "Content-Type: application/sdp\r\nAccept: application/sdp\r\n",
            "v=0\r\n",
        );
        let with_extra = format!("{raw}trailing");
        match screen().inspect(with_extra.as_bytes(), TRUNK.parse().expect("addr"), 1) {
            Verdict::Pass { len } => assert_eq!(len, raw.len()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn strangers_get_403_when_well_formed_and_silence_otherwise() {
        let good = request("INVITE sip:agent@h", "", "");
        assert_eq!(status(&good, "127.0.0.9:5060"), Ok(403));
        let bad = good.replace("CSeq: 1 INVITE", "CSeq: x");
        assert!(matches!(
            screen().inspect(bad.as_bytes(), "127.0.0.9:5060".parse().expect("addr"), 1),
            Verdict::Drop { .. }
        ));
        let response = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
        assert!(matches!(
            screen().inspect(
                response.as_bytes(),
                "127.0.0.9:5060".parse().expect("addr"),
                1
            ),
            Verdict::Drop { .. }
        ));
    }

    #[test]
    fn an_ack_is_never_answered() {
        let ack = request("ACK sip:agent@h", "", "").replace("CSeq: 1 ACK", "CSeq: 1 INVITE");
        assert!(matches!(
            screen().inspect(ack.as_bytes(), TRUNK.parse().expect("addr"), 1),
            Verdict::Drop { .. }
        ));
    }
}
