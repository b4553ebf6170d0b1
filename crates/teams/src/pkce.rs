//! Proof Key for Code Exchange (RFC 7636) with S256: the verifier stays in memory for the one
//! sign-in, the authorize request carries only its hash, so a code caught on the way back to
//! the loopback redirect is worth nothing to whoever caught it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

#[derive(Clone)]
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl Pkce {
    /// From 32 random bytes (the caller's randomness, so tests are deterministic): a verifier
    /// of 43 characters, the shortest RFC 7636 §4.1 allows, with 256 bits of entropy.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self::from_verifier(URL_SAFE_NO_PAD.encode(bytes))
    }

    fn from_verifier(verifier: String) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
        let challenge = URL_SAFE_NO_PAD.encode(digest.as_ref());
        Self {
            verifier,
            challenge,
        }
    }

    /// `code_verifier` in the token request.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// `code_challenge` in the authorize request (`code_challenge_method=S256`).
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_the_rfc_7636_appendix_b_example() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(
            pkce.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_verifier_from_random_bytes_has_the_length_and_alphabet_rfc_7636_asks() {
        let pkce = Pkce::from_random([0xfb; 32]);
        assert_eq!(pkce.verifier().len(), 43);
        assert!(pkce
            .verifier()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
        assert_ne!(Pkce::from_random([1; 32]).verifier(), pkce.verifier());
    }

    #[test]
    fn the_verifier_is_not_in_the_debug_output() {
        let pkce = Pkce::from_random([7; 32]);
        assert!(!format!("{pkce:?}").contains(pkce.verifier()));
    }
}
