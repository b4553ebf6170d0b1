//! Sign-in with a code typed on another device (RFC 8628, as the identity platform documents
//! it), sans-IO: the window shows the code and the link, we poll the token endpoint at the
//! interval the service asks for (longer after `slow_down`), and stop on a final answer or
//! when the code expires, whichever comes first.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::token::{TokenError, Tokens};

/// The shortest poll interval we accept, whatever the service says: RFC 8628 §3.2's default.
const MIN_INTERVAL: Duration = Duration::from_secs(5);
/// What RFC 8628 §3.5 adds to the interval on `slow_down`.
const SLOW_DOWN: Duration = Duration::from_secs(5);

/// What `/devicecode` answered: what the user needs, and what we poll with.
#[derive(Clone)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub message: String,
    pub expires_at: Instant,
    pub interval: Duration,
}

impl std::fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCode")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DeviceCodeBody {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
    #[serde(default)]
    message: String,
}

/// Reads `/devicecode`'s answer; `now` is when the request was sent.
pub fn parse(status: u16, body: &[u8], now: Instant) -> Result<DeviceCode, TokenError> {
    if !(200..300).contains(&status) {
        return Err(crate::token::parse_error(status, body));
    }
    let b: DeviceCodeBody =
        serde_json::from_slice(body).map_err(|e| TokenError::Malformed(e.to_string()))?;
    let link_ok = b.verification_uri.starts_with("https://")
        && !b.verification_uri.chars().any(char::is_whitespace);
    if !link_ok {
        return Err(TokenError::Malformed(format!(
            "verification_uri {:?} is not an https link",
            b.verification_uri
        )));
    }
    if b.user_code.is_empty() || b.user_code.len() > 64 || b.device_code.is_empty() {
        return Err(TokenError::Malformed(
            "no usable user or device code".into(),
        ));
    }
    Ok(DeviceCode {
        device_code: b.device_code,
        user_code: b.user_code,
        verification_uri: b.verification_uri,
        message: b.message.chars().take(500).collect(),
        // The documented default is 15 minutes; an hour at most, whatever is said.
        expires_at: now + Duration::from_secs(b.expires_in.min(3600)),
        interval: Duration::from_secs(b.interval.unwrap_or(5)).max(MIN_INTERVAL),
    })
}

/// What to do after a poll.
#[derive(Debug)]
pub enum Step {
    /// Poll again at this instant.
    PollAt(Instant),
    SignedIn(Tokens),
    /// Stop: the user declined, the code expired or is unknown, or the service refused.
    Failed(DeviceCodeError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceCodeError {
    #[error("the code expired before it was entered: start again")]
    Expired,
    #[error("sign-in was declined")]
    Declined,
    #[error("{0}")]
    Refused(TokenError),
}

/// The polling for one device code.
#[derive(Debug)]
pub struct DevicePoll {
    code: DeviceCode,
    interval: Duration,
}

impl DevicePoll {
    pub fn new(code: DeviceCode) -> Self {
        let interval = code.interval;
        Self { code, interval }
    }

    pub fn code(&self) -> &DeviceCode {
        &self.code
    }

    /// The first poll: one interval after the code was given.
    pub fn first_poll(&self, now: Instant) -> Step {
        self.poll_at(now)
    }

    /// What the token endpoint answered to a poll sent at `now`.
    pub fn on_answer(&mut self, now: Instant, answer: Result<Tokens, TokenError>) -> Step {
        let error = match answer {
            Ok(tokens) => return Step::SignedIn(tokens),
            Err(TokenError::Refused(e)) => e,
            // A glitch (the network, a 5xx with no body): keep polling until the code expires.
            Err(TokenError::Unreachable(_)) => return self.poll_at(now),
            Err(TokenError::Status { status }) if status >= 500 => return self.poll_at(now),
            Err(other) => return Step::Failed(DeviceCodeError::Refused(other)),
        };
        match error.error.as_str() {
            "authorization_pending" => self.poll_at(now),
            "slow_down" => {
                self.interval += SLOW_DOWN;
                self.poll_at(now)
            }
            "authorization_declined" | "access_denied" => Step::Failed(DeviceCodeError::Declined),
            "expired_token" => Step::Failed(DeviceCodeError::Expired),
            _ => Step::Failed(DeviceCodeError::Refused(TokenError::Refused(error))),
        }
    }

    fn poll_at(&self, now: Instant) -> Step {
        let at = now + self.interval;
        if at >= self.code.expires_at {
            Step::Failed(DeviceCodeError::Expired)
        } else {
            Step::PollAt(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::OauthError;

    fn code(now: Instant, expires_in: u64, interval: u64) -> DeviceCode {
        let body = serde_json::json!({
            "device_code": "GMMhmHCXhWEzkobqIHGG_EnNYYsAkukHspeYUk9E8",
            "user_code": "FRWXC9KQA", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": expires_in, "interval": interval,
            "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FRWXC9KQA to authenticate.",
        });
        parse(200, body.to_string().as_bytes(), now).unwrap()
    }

    fn refused(error: &str) -> Result<Tokens, TokenError> {
        Err(TokenError::Refused(OauthError {
            error: error.into(),
            description: String::new(),
            codes: vec![],
        }))
    }

    #[test]
    fn pending_polls_at_the_interval_slow_down_stretches_it_and_expiry_stops_it() {
        let t0 = Instant::now();
        let mut poll = DevicePoll::new(code(t0, 900, 5));
        let Step::PollAt(first) = poll.first_poll(t0) else {
            panic!()
        };
        assert_eq!(first, t0 + Duration::from_secs(5));
        let Step::PollAt(next) = poll.on_answer(first, refused("authorization_pending")) else {
            panic!()
        };
        assert_eq!(next, first + Duration::from_secs(5));
        let Step::PollAt(slower) = poll.on_answer(next, refused("slow_down")) else {
            panic!()
        };
        assert_eq!(slower, next + Duration::from_secs(10));
        let late = t0 + Duration::from_secs(895);
        assert!(matches!(
            poll.on_answer(late, refused("authorization_pending")),
            Step::Failed(DeviceCodeError::Expired)
        ));
    }

    #[test]
    fn final_answers_stop_polling() {
        let t0 = Instant::now();
        let mut poll = DevicePoll::new(code(t0, 900, 1));
        assert_eq!(
            poll.code().interval,
            Duration::from_secs(5),
            "never below 5 s"
        );
        for (error, expected) in [
            ("authorization_declined", DeviceCodeError::Declined),
            ("expired_token", DeviceCodeError::Expired),
        ] {
            match poll.on_answer(t0, refused(error)) {
                Step::Failed(e) => assert_eq!(e, expected),
                other => panic!("{error}: {other:?}"),
            }
        }
        assert!(matches!(
            poll.on_answer(t0, refused("bad_verification_code")),
            Step::Failed(DeviceCodeError::Refused(_))
        ));
        assert!(matches!(
            poll.on_answer(t0, Err(TokenError::Status { status: 503 })),
            Step::PollAt(_)
        ));
    }

    #[test]
    fn a_hostile_device_code_answer_is_refused() {
        let now = Instant::now();
        let bad_link = br#"{"device_code":"d","user_code":"u","verification_uri":"javascript:alert(1)","expires_in":900}"#;
        assert!(parse(200, bad_link, now).is_err());
        let no_code = br#"{"device_code":"d","user_code":"","verification_uri":"https://x","expires_in":900}"#;
        assert!(parse(200, no_code, now).is_err());
        let e = parse(
            400,
            br#"{"error":"invalid_client","error_description":"AADSTS7000218"}"#,
            now,
        );
        assert!(matches!(e, Err(TokenError::Refused(o)) if o.error == "invalid_client"));
        let long = code(now, 999_999, 5);
        assert!(long.expires_at <= now + Duration::from_secs(3600));
    }
}
