//! What the token endpoint answers, sans-IO: tokens with their lifetime, or the documented
//! error body (`error`, `error_description`, `error_codes`). Token values never reach a log:
//! `Debug` shows that they are there, not what they are.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

/// Refresh this long before the access token runs out, so no request goes out with one about
/// to expire (and a clock a little off does not matter).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
    pub expires_at: Instant,
    /// Who signed in, from the ID token's claims (shown, never trusted for anything else).
    pub account: Option<String>,
}

impl Tokens {
    /// Whether the access token should be refreshed before its next use.
    pub fn is_stale(&self, now: Instant) -> bool {
        now + REFRESH_MARGIN >= self.expires_at
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access", &"<redacted>")
            .field("refresh", &self.refresh.as_ref().map(|_| "<redacted>"))
            .field("expires_at", &self.expires_at)
            .field("account", &self.account)
            .finish()
    }
}

/// An error the identity platform returned, as documented for its token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {}", first_line(description))]
pub struct OauthError {
    pub error: String,
    pub description: String,
    pub codes: Vec<u32>,
}

impl OauthError {
    /// The grant is gone (revoked, expired, password changed): only a new sign-in helps.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self.error.as_str(),
            "invalid_grant" | "interaction_required" | "consent_required" | "expired_token"
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the sign-in service refused: {0}")]
    Refused(OauthError),
    #[error("the sign-in service answered {status} with no error we can read")]
    Status { status: u16 },
    #[error("the sign-in service's answer is not what it documents: {0}")]
    Malformed(String),
    #[error("the sign-in service cannot be reached: {0}")]
    Unreachable(String),
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    token_type: String,
    expires_in: u64,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u32>,
}

/// Reads a token endpoint answer. `now` is when the request was sent, so the lifetime is
/// never counted from later than it began.
pub fn parse(status: u16, body: &[u8], now: Instant) -> Result<Tokens, TokenError> {
    if !(200..300).contains(&status) {
        return Err(parse_error(status, body));
    }
    let body: TokenBody =
        serde_json::from_slice(body).map_err(|e| TokenError::Malformed(e.to_string()))?;
    if !body.token_type.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Malformed(format!(
            "token_type {:?}, not Bearer",
            body.token_type
        )));
    }
    if body.access_token.is_empty() {
        return Err(TokenError::Malformed("an empty access_token".into()));
    }
    // A day at most: a lifetime past that is a broken answer, not a reason to never refresh.
    let lifetime = Duration::from_secs(body.expires_in.min(86_400));
    Ok(Tokens {
        access: body.access_token,
        refresh: body.refresh_token.filter(|r| !r.is_empty()),
        expires_at: now + lifetime,
        account: body.id_token.as_deref().and_then(account_of),
    })
}

/// The documented error body, or the status alone when there is none.
pub fn parse_error(status: u16, body: &[u8]) -> TokenError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => TokenError::Refused(OauthError {
            error: e.error,
            description: e.error_description,
            codes: e.error_codes,
        }),
        Err(_) => TokenError::Status { status },
    }
}

/// `preferred_username` (or `name`) from an ID token's payload. Unverified: it only labels
/// the account in the window; nothing is decided on it.
fn account_of(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["preferred_username", "upn", "name"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(|v| v.as_str()))
        .map(|s| s.chars().take(256).collect())
}

/// The identity platform's descriptions carry trace ids on further lines.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_token(claims: &str) -> String {
        format!(
            "eyJhbGciOiJub25lIn0.{}.",
            URL_SAFE_NO_PAD.encode(claims.as_bytes())
        )
    }

    #[test]
    fn a_token_answer_gives_tokens_an_expiry_and_the_account() {
        let now = Instant::now();
        let body = serde_json::json!({
            "token_type": "Bearer", "scope": "Presence.Read.All", "expires_in": 3599,
            "access_token": "at-1", "refresh_token": "rt-1",
            "id_token": id_token(r#"{"preferred_username":"ana@contoso.com","name":"Ana"}"#),
        });
        let t = parse(200, body.to_string().as_bytes(), now).unwrap();
        assert_eq!(t.access, "at-1");
        assert_eq!(t.refresh.as_deref(), Some("rt-1"));
        assert_eq!(t.expires_at, now + Duration::from_secs(3599));
        assert_eq!(t.account.as_deref(), Some("ana@contoso.com"));
        assert!(!t.is_stale(now));
        assert!(t.is_stale(now + Duration::from_secs(3599) - REFRESH_MARGIN));
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("at-1") && !shown.contains("rt-1"),
            "{shown}"
        );
    }

    #[test]
    fn the_documented_error_body_is_read_and_hostile_answers_are_refused() {
        let body = br#"{"error":"invalid_grant","error_description":"AADSTS70008: The refresh token has expired.\r\nTrace ID: x","error_codes":[70008],"timestamp":"2016-01-09 02:02:12Z","trace_id":"x","correlation_id":"y"}"#;
        let TokenError::Refused(e) = parse(400, body, Instant::now()).unwrap_err() else {
            panic!("not read as refused");
        };
        assert!(e.needs_sign_in());
        assert_eq!(e.codes, vec![70008]);
        assert_eq!(
            e.to_string(),
            "invalid_grant: AADSTS70008: The refresh token has expired."
        );
        assert_eq!(
            parse(502, b"<html>bad gateway</html>", Instant::now()).unwrap_err(),
            TokenError::Status { status: 502 }
        );
        for hostile in [
            &br#"{"token_type":"mac","expires_in":1,"access_token":"a"}"#[..],
            br#"{"token_type":"Bearer","expires_in":-1,"access_token":"a"}"#,
            br#"{"token_type":"Bearer","expires_in":1,"access_token":""}"#,
            b"not json",
        ] {
            assert!(matches!(
                parse(200, hostile, Instant::now()),
                Err(TokenError::Malformed(_))
            ));
        }
        let huge =
            br#"{"token_type":"Bearer","expires_in":18446744073709551615,"access_token":"a"}"#;
        let t = parse(200, huge, Instant::now()).unwrap();
        assert!(t.expires_at <= Instant::now() + Duration::from_secs(86_400));
        assert_eq!(account_of("a.!!!.c"), None);
    }
}
