//! SDES (RFC 4568): SRTP master keys carried in the SDP's `a=crypto` attributes. Each side
//! writes the key it encrypts with; the other decrypts with it. Keys cross the signalling in
//! the clear, so they are only as safe as the SIP transport (TLS to the trunk).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rtc_srtp::crypto::RTCCryptoProvider;
use rtc_srtp::protection_profile::ProtectionProfile;
use serde::Deserialize;

use crate::error::MediaError;

pub(crate) const KEY_LEN: usize = 16;
pub(crate) const SALT_LEN: usize = 14;
const KEYING_LEN: usize = KEY_LEN + SALT_LEN;

/// Whether calls are encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SrtpPolicy {
    /// Plain RTP; an offer that insists on SRTP (RTP/SAVP) is refused.
    Off,
    /// Keys offered on RTP/AVP, so a peer without SRTP still connects (in the clear); a peer
    /// that offers keys gets SRTP.
    #[default]
    Offer,
    /// RTP/SAVP only: a call the peer will not encrypt is refused (488) or hung up.
    Required,
}

impl SrtpPolicy {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "off" => Ok(Self::Off),
            "offer" => Ok(Self::Offer),
            "required" => Ok(Self::Required),
            other => Err(format!(
                "SRTP policy {other:?}: expected off, offer or required"
            )),
        }
    }
}

/// The crypto suites we speak, in our order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl Suite {
    pub const PREFERENCE: [Suite; 2] = [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32];

    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::PREFERENCE
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// Bytes of authentication tag on each SRTP packet.
    pub fn rtp_tag_len(self) -> usize {
        self.profile().rtp_auth_tag_len()
    }

    pub(crate) fn profile(self) -> ProtectionProfile {
        match self {
            Suite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            Suite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }
}

/// A master key and salt. Its `Debug` shows neither: descriptions get logged.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; KEYING_LEN]);

impl MasterKey {
    /// A fresh key from the operating system's secure generator.
    pub fn generate(provider: &dyn RTCCryptoProvider) -> Result<Self, MediaError> {
        let mut bytes = [0u8; KEYING_LEN];
        provider
            .random()
            .fill(&mut bytes)
            .map_err(|e| MediaError::Srtp(format!("no random key: {e}")))?;
        Ok(Self(bytes))
    }

    /// A key and salt from elsewhere (a DTLS exporter), if they have the lengths we use.
    pub(crate) fn from_parts(key: &[u8], salt: &[u8]) -> Option<Self> {
        if key.len() != KEY_LEN || salt.len() != SALT_LEN {
            return None;
        }
        let mut bytes = [0u8; KEYING_LEN];
        bytes[..KEY_LEN].copy_from_slice(key);
        bytes[KEY_LEN..].copy_from_slice(salt);
        Some(Self(bytes))
    }

    pub(crate) fn key(&self) -> &[u8] {
        &self.0[..KEY_LEN]
    }

    pub(crate) fn salt(&self) -> &[u8] {
        &self.0[KEY_LEN..]
    }

    fn inline(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn from_inline(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// One `a=crypto` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    pub tag: u32,
    pub suite: Suite,
    pub key: MasterKey,
}

impl Crypto {
    /// The attribute's value, after `a=crypto:`.
    pub fn value(&self) -> String {
        format!(
            "{} {} inline:{}",
            self.tag,
            self.suite.name(),
            self.key.inline()
        )
    }

    /// Reads an attribute's value. `Ok(None)` is a well-formed attribute we cannot use (another
    /// suite, a master key index, session parameters we do not implement): the offerer may
    /// have listed one we can.
    pub fn parse(value: &str) -> Result<Option<Self>, MediaError> {
        let bad = |why: &str| MediaError::Sdp(format!("a=crypto: {why}"));
        let mut fields = value.split_ascii_whitespace();
        let tag = fields
            .next()
            .and_then(|t| t.parse::<u32>().ok())
            .filter(|t| *t <= 999_999_999)
            .ok_or_else(|| bad("the tag is not a number of at most 9 digits"))?;
        let suite = fields.next().ok_or_else(|| bad("no crypto suite"))?;
        let key_params = fields.next().ok_or_else(|| bad("no key parameters"))?;
        let Some(suite) = Suite::from_name(suite) else {
            return Ok(None);
        };
        // Session parameters (UNENCRYPTED_SRTP, KDR, ...) change how SRTP runs; we run it one
        // way only, so an attribute that asks for another is not one we can accept.
        if fields.next().is_some() {
            return Ok(None);
        }
        // Several keys (`;`) come with master key indexes, which we do not implement.
        if key_params.contains(';') {
            return Ok(None);
        }
        let inline = key_params
            .strip_prefix("inline:")
            .ok_or_else(|| bad("the key is not inline:"))?;
        let mut parts = inline.split('|');
        let key = parts
            .next()
            .and_then(MasterKey::from_inline)
            .ok_or_else(|| bad("the key is not 30 bytes of base64"))?;
        // A lifetime is allowed (we re-key at each offer long before it); an MKI is not.
        let rest: Vec<&str> = parts.collect();
        let has_mki = rest.iter().any(|p| p.contains(':'));
        if rest.len() > 2 || has_mki {
            return Ok(None);
        }
        Ok(Some(Self { tag, suite, key }))
    }
}

/// The keys a stream runs on: ours encrypts what we send, theirs decrypts what we receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: Suite,
    pub ours: MasterKey,
    pub theirs: MasterKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey(std::array::from_fn(|i| i as u8))
    }

    #[test]
    fn an_attribute_reads_back_as_written() {
        let c = Crypto {
            tag: 1,
            suite: Suite::AesCm128HmacSha1_80,
            key: key(),
        };
        let value = c.value();
        assert_eq!(
            value,
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"
        );
        assert_eq!(Crypto::parse(&value).expect("valid"), Some(c));
    }

    #[test]
    fn a_lifetime_is_accepted_and_a_key_index_or_session_parameter_is_not_usable() {
        let base = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
        let with = |rest: &str| Crypto::parse(&format!("2 AES_CM_128_HMAC_SHA1_32 {rest}"));
        let read = with(&format!("inline:{base}|2^31")).expect("valid");
        assert_eq!(
            read.map(|c| (c.tag, c.suite)),
            Some((2, Suite::AesCm128HmacSha1_32))
        );
        assert_eq!(
            with(&format!("inline:{base}|2^31|1:4")).expect("valid"),
            None
        );
        assert_eq!(
            with(&format!("inline:{base} UNENCRYPTED_SRTP")).expect("valid"),
            None
        );
        assert_eq!(
            with(&format!("inline:{base}|1:4;inline:{base}|2:4")).expect("valid"),
            None
        );
        let other = Crypto::parse(&format!("1 AEAD_AES_256_GCM inline:{base}")).expect("valid");
        assert_eq!(other, None);
    }

    #[test]
    fn malformed_attributes_are_errors_that_say_why() {
        for (value, why) in [
            ("x AES_CM_128_HMAC_SHA1_80 inline:AAAA", "tag"),
            ("1", "suite"),
            ("1 AES_CM_128_HMAC_SHA1_80", "key parameters"),
            ("1 AES_CM_128_HMAC_SHA1_80 uri:x", "inline"),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", "30 bytes"),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:!!!", "30 bytes"),
        ] {
            let e = Crypto::parse(value).expect_err(value).to_string();
            assert!(e.contains(why), "{value}: {e}");
        }
    }

    #[test]
    fn a_key_never_shows_in_debug_output() {
        let keys = SrtpKeys {
            suite: Suite::AesCm128HmacSha1_80,
            ours: key(),
            theirs: key(),
        };
        let shown = format!("{keys:?}");
        assert!(
            !shown.contains("AAECAw") && !shown.contains("[0, 1"),
            "{shown}"
        );
    }

    #[test]
    fn generated_keys_differ() {
        let provider = rtc_srtp::crypto::default_provider().expect("ring is built in");
        let a = MasterKey::generate(provider.as_ref()).expect("random");
        let b = MasterKey::generate(provider.as_ref()).expect("random");
        assert_ne!(a, b);
    }
}
