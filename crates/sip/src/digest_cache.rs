//! Digest credentials sent before they are asked for (RFC 7616 §3.4's nonce counting).
//! rsipstack answers each challenge once, with nc=00000001, and forgets it: every REGISTER
//! refresh, keepalive and call then costs a 401 or 407 round trip first, and a registrar that
//! counts nonces (Kamailio's `nonce_count`) would refuse a repeated nc. We keep the last
//! challenge of each kind and put credentials on the next requests ourselves, with the nonce
//! count going up. A registrar that no longer takes the nonce challenges again, rsipstack
//! answers that, and the new challenge replaces ours.
//!
//! Sans-IO: messages in, messages out; the cnonce comes from the caller.

use std::collections::VecDeque;

use rsipstack::sip::headers::auth::{AuthQop, Qop};
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::typed::{Authorization, ProxyAuthorization, WwwAuthenticate};
use rsipstack::sip::{DigestGenerator, Header, Method, Request, Response, StatusCode};

/// Requests of ours that a trunk challenges: the registration, and requests outside a dialog.
const CHALLENGED: [Method; 3] = [Method::Register, Method::Invite, Method::Options];
/// Retransmissions carry the credentials they were first sent with; this many are kept.
const REMEMBERED_BRANCHES: usize = 32;

/// The last challenge of one kind, and how many times its nonce was used.
#[derive(Debug, Clone)]
struct Slot {
    challenge: WwwAuthenticate,
    /// Proxy-Authenticate (407) rather than WWW-Authenticate (401).
    proxy: bool,
    /// rsipstack holds nc in a byte (and writes it in decimal digits, which read as hex still
    /// rise): after 255 uses we stop and let the trunk challenge afresh.
    nonce_count: u8,
}

#[derive(Debug)]
pub struct DigestCache {
    username: String,
    password: String,
    /// Challenges to REGISTER, and to everything else (often from another realm or as 407).
    register: Option<Slot>,
    other: Option<Slot>,
    /// Credentials already put on a request, by Via branch.
    sent: VecDeque<(String, Header)>,
}

impl DigestCache {
    pub fn new(username: &str, password: &str) -> Self {
        Self {
            username: username.to_owned(),
            password: password.to_owned(),
            register: None,
            other: None,
            sent: VecDeque::new(),
        }
    }

    /// A challenge to a request of ours: kept for the next requests of its kind. rsipstack
    /// answers it itself, with the nonce's first count.
    pub fn on_response(&mut self, response: &Response) {
        let proxy = match response.status_code {
            StatusCode::Unauthorized => false,
            StatusCode::ProxyAuthenticationRequired => true,
            _ => return,
        };
        let challenge = if proxy {
            proxy_challenge(response)
        } else {
            response
                .www_authenticate_header()
                .and_then(|h| h.typed().ok())
        };
        let (Some(challenge), Ok(cseq)) = (challenge, response.cseq_header()) else {
            return;
        };
        let Ok(method) = cseq.method() else {
            return;
        };
        let slot = Slot {
            challenge,
            proxy,
            nonce_count: 1,
        };
        if method == Method::Register {
            self.register = Some(slot);
        } else {
            self.other = Some(slot);
        }
    }

    /// Puts credentials on a request that has none, when a challenge of its kind is known.
    /// `cnonce` is called once per new request.
    pub fn on_request(&mut self, request: &mut Request, cnonce: impl FnOnce() -> String) {
        let in_dialog = request
            .to_header()
            .ok()
            .and_then(|to| to.tag().ok().flatten())
            .is_some();
        let has_credentials = request
            .headers
            .iter()
            .any(|h| matches!(h, Header::Authorization(_) | Header::ProxyAuthorization(_)));
        if in_dialog || has_credentials || !CHALLENGED.contains(&request.method) {
            return;
        }
        let Some(branch) = branch(request) else {
            return;
        };
        if let Some((_, header)) = self.sent.iter().find(|(b, _)| *b == branch) {
            request.headers.push(header.clone());
            return;
        }
        let Some(header) = self.credentials(request, cnonce) else {
            return;
        };
        if self.sent.len() == REMEMBERED_BRANCHES {
            self.sent.pop_front();
        }
        self.sent.push_back((branch, header.clone()));
        request.headers.push(header);
    }

    fn credentials(
        &mut self,
        request: &Request,
        cnonce: impl FnOnce() -> String,
    ) -> Option<Header> {
        let slot = if request.method == Method::Register {
            self.register.as_mut()?
        } else {
            self.other.as_mut()?
        };
        slot.nonce_count = slot.nonce_count.checked_add(1)?;
        let challenge = &slot.challenge;
        let qop = match challenge.qop {
            Some(Qop::Auth) => Some(AuthQop::Auth {
                cnonce: cnonce(),
                nc: slot.nonce_count,
            }),
            Some(Qop::AuthInt) => Some(AuthQop::AuthInt {
                cnonce: cnonce(),
                nc: slot.nonce_count,
            }),
            // Without qop there is no count: the same response every time, which a
            // registrar takes until the nonce expires.
            None => None,
        };
        let algorithm = challenge
            .algorithm
            .unwrap_or(rsipstack::sip::headers::auth::Algorithm::Md5);
        let response = DigestGenerator {
            username: &self.username,
            password: &self.password,
            algorithm,
            nonce: &challenge.nonce,
            method: &request.method,
            qop: qop.as_ref(),
            uri: &request.uri,
            realm: &challenge.realm,
        }
        .compute();
        let auth = Authorization {
            scheme: challenge.scheme.clone(),
            username: self.username.clone(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: request.uri.clone(),
            response,
            algorithm: Some(algorithm),
            opaque: challenge.opaque.clone(),
            qop,
        };
        Some(if slot.proxy {
            ProxyAuthorization {
                scheme: auth.scheme,
                username: auth.username,
                realm: auth.realm,
                nonce: auth.nonce,
                uri: auth.uri,
                response: auth.response,
                algorithm: auth.algorithm,
                opaque: auth.opaque,
                qop: auth.qop,
            }
            .into()
        } else {
            auth.into()
        })
    }
}

fn proxy_challenge(response: &Response) -> Option<WwwAuthenticate> {
    let header = response.headers.iter().find_map(|h| match h {
        Header::ProxyAuthenticate(p) => Some(p),
        _ => None,
    })?;
    let t = header.typed().ok()?;
    Some(WwwAuthenticate {
        scheme: t.scheme,
        realm: t.realm,
        domain: t.domain,
        nonce: t.nonce,
        opaque: t.opaque,
        stale: t.stale,
        algorithm: t.algorithm,
        qop: t.qop,
        charset: t.charset,
    })
}

fn branch(request: &Request) -> Option<String> {
    let via = request.via_header().ok()?.typed().ok()?;
    via.branch().map(|b| b.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsipstack::sip::SipMessage;

    fn response(text: &str) -> Response {
        match SipMessage::try_from(text) {
            Ok(SipMessage::Response(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn request(method: &str, branch: &str, to_tag: &str) -> Request {
        let text = format!(
            "{method} sip:trunk.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n\
             From: <sip:agent1@trunk.test>;tag=a\r\nTo: <sip:agent1@trunk.test>{to_tag}\r\n\
             Call-ID: c1\r\nCSeq: 2 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        match SipMessage::try_from(text.as_str()) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn challenge(status: &str, header: &str, method: &str) -> Response {
        response(&format!(
            "SIP/2.0 {status}\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
             From: <sip:agent1@trunk.test>;tag=a\r\nTo: <sip:agent1@trunk.test>;tag=k\r\n\
             Call-ID: c1\r\nCSeq: 1 {method}\r\n\
             {header}: Digest realm=\"trunk.test\", nonce=\"n0nce\", qop=\"auth\"\r\n\
             Content-Length: 0\r\n\r\n"
        ))
    }

    fn credentials(request: &Request) -> Option<String> {
        request.headers.iter().find_map(|h| match h {
            Header::Authorization(a) => Some(format!("Authorization: {}", a.value())),
            Header::ProxyAuthorization(a) => Some(format!("Proxy-Authorization: {}", a.value())),
            _ => None,
        })
    }

    #[test]
    fn nothing_is_sent_before_a_challenge() {
        let mut cache = DigestCache::new("agent1", "secret");
        let mut register = request("REGISTER", "z9hG4bKa", "");
        cache.on_request(&mut register, || "cn".into());
        assert_eq!(credentials(&register), None);
    }

    #[test]
    fn after_a_challenge_the_nonce_count_rises_and_retransmissions_repeat_it() {
        let mut cache = DigestCache::new("agent1", "secret");
        cache.on_response(&challenge(
            "401 Unauthorized",
            "WWW-Authenticate",
            "REGISTER",
        ));
        let mut first = request("REGISTER", "z9hG4bKa", "");
        cache.on_request(&mut first, || "cnonce1".into());
        let sent = credentials(&first).expect("credentials");
        assert!(sent.starts_with("Authorization:"), "{sent}");
        assert!(
            sent.contains("nc=00000002") && sent.contains("cnonce1"),
            "{sent}"
        );
        let mut again = request("REGISTER", "z9hG4bKa", "");
        cache.on_request(&mut again, || "other".into());
        assert_eq!(credentials(&again), Some(sent), "a retransmission");
        let mut next = request("REGISTER", "z9hG4bKb", "");
        cache.on_request(&mut next, || "cnonce2".into());
        assert!(credentials(&next).is_some_and(|c| c.contains("nc=00000003")));
        // The REGISTER's challenge is not used for other requests.
        let mut options = request("OPTIONS", "z9hG4bKc", "");
        cache.on_request(&mut options, || "cn".into());
        assert_eq!(credentials(&options), None);
    }

    #[test]
    fn a_proxy_challenge_serves_requests_outside_dialogs_only() {
        let mut cache = DigestCache::new("agent1", "secret");
        let proxy = challenge(
            "407 Proxy Authentication Required",
            "Proxy-Authenticate",
            "OPTIONS",
        );
        cache.on_response(&proxy);
        let mut invite = request("INVITE", "z9hG4bKd", "");
        cache.on_request(&mut invite, || "cn".into());
        assert!(credentials(&invite).is_some_and(|c| c.starts_with("Proxy-Authorization:")));
        for (method, to_tag) in [("BYE", ";tag=k"), ("ACK", ""), ("CANCEL", "")] {
            let mut r = request(method, "z9hG4bKe", to_tag);
            cache.on_request(&mut r, || "cn".into());
            assert_eq!(credentials(&r), None, "{method}");
        }
    }
}
