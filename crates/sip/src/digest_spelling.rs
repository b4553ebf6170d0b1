//! rsipstack 0.7.14 spells the SHA-256 digest algorithm `SHA256`, in what it parses and in what
//! it writes; RFC 8760 and RFC 7616 spell it `SHA-256`, and so do registrars (Kamailio,
//! Asterisk). Unmended, a registrar's SHA-256 challenge fails to parse and the agent can never
//! register. These two mend the spelling at the stack's edge, one way in each direction: the
//! challenge as it comes in, the credentials as they go out. The digest itself is computed
//! with the right hash by rsipstack.

use rsipstack::sip::headers::{
    Authorization, ProxyAuthenticate, ProxyAuthorization, WwwAuthenticate,
};
use rsipstack::sip::{Header, SipMessage};

/// `(RFC spelling, rsipstack's spelling)`, longest first so `-sess` is not cut short.
const SPELLINGS: [(&str, &str); 2] = [("SHA-256-sess", "SHA256-sess"), ("SHA-256", "SHA256")];

/// Rewrites challenges (WWW-Authenticate, Proxy-Authenticate) for rsipstack's parser.
pub fn incoming(mut message: SipMessage) -> SipMessage {
    let SipMessage::Response(response) = &mut message else {
        return message;
    };
    for header in response.headers.0.iter_mut() {
        let mended = match header {
            Header::WwwAuthenticate(h) => {
                respell(h.value(), true).map(|v| WwwAuthenticate::new(v).into())
            }
            Header::ProxyAuthenticate(h) => {
                respell(h.value(), true).map(|v| ProxyAuthenticate::new(v).into())
            }
            _ => None,
        };
        if let Some(mended) = mended {
            *header = mended;
        }
    }
    message
}

/// Rewrites credentials (Authorization, Proxy-Authorization) for the registrar.
pub fn outgoing(mut message: SipMessage) -> SipMessage {
    let SipMessage::Request(request) = &mut message else {
        return message;
    };
    for header in request.headers.0.iter_mut() {
        let mended = match header {
            Header::Authorization(h) => {
                respell(h.value(), false).map(|v| Authorization::new(v).into())
            }
            Header::ProxyAuthorization(h) => {
                respell(h.value(), false).map(|v| ProxyAuthorization::new(v).into())
            }
            _ => None,
        };
        if let Some(mended) = mended {
            *header = mended;
        }
    }
    message
}

/// The header value with its `algorithm=` token respelt, or `None` when there is nothing to
/// change. `to_stack`: RFC spelling to rsipstack's; otherwise back.
pub fn respell(value: &str, to_stack: bool) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let at = lower.find("algorithm=")? + "algorithm=".len();
    let quoted = value[at..].starts_with('"');
    let start = at + usize::from(quoted);
    let end = value[start..]
        .find(|c: char| c == ',' || c == '"' || c.is_whitespace())
        .map_or(value.len(), |n| start + n);
    let token = &value[start..end];
    let replacement = SPELLINGS.iter().find_map(|(rfc, stack)| {
        let (from, to) = if to_stack { (rfc, stack) } else { (stack, rfc) };
        token.eq_ignore_ascii_case(from).then_some(*to)
    })?;
    Some(format!("{}{replacement}{}", &value[..start], &value[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_respelt_both_ways_and_nothing_else_is_touched() {
        let challenge = r#"Digest realm="trunk", nonce="abc", qop="auth", algorithm=SHA-256"#;
        assert_eq!(
            respell(challenge, true).as_deref(),
            Some(r#"Digest realm="trunk", nonce="abc", qop="auth", algorithm=SHA256"#)
        );
        let quoted = r#"Digest algorithm="sha-256-sess", realm="r""#;
        assert_eq!(
            respell(quoted, true).as_deref(),
            Some(r#"Digest algorithm="SHA256-sess", realm="r""#)
        );
        let answer = r#"Digest username="a", algorithm=SHA256, response="f00""#;
        assert_eq!(
            respell(answer, false).as_deref(),
            Some(r#"Digest username="a", algorithm=SHA-256, response="f00""#)
        );
        assert_eq!(respell(r#"Digest realm="r", algorithm=MD5"#, true), None);
        assert_eq!(respell(r#"Digest realm="r""#, true), None);
        assert_eq!(respell("Digest algorithm=", true), None);
    }
}
