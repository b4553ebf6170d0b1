//! `a=fingerprint` (RFC 8122 §5): the hash of the certificate a side will show in its DTLS
//! handshake. The certificates are self-signed; this attribute, carried by the signalling, is
//! what makes them trusted.

use std::fmt;

use ring::digest;

use crate::error::MediaError;

/// The hash functions we accept. SHA-1 and MD5 (allowed by RFC 4572) are refused: a
/// fingerprint is only as strong as its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFunction {
    Sha256,
    Sha384,
    Sha512,
}

impl HashFunction {
    fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha-256",
            Self::Sha384 => "sha-384",
            Self::Sha512 => "sha-512",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|h| h.name().eq_ignore_ascii_case(name))
    }

    fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint {
    hash: HashFunction,
    digest: Vec<u8>,
}

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of(hash: HashFunction, certificate_der: &[u8]) -> Self {
        let digest = digest::digest(hash.algorithm(), certificate_der);
        Self {
            hash,
            digest: digest.as_ref().to_vec(),
        }
    }

    /// Whether `certificate_der` is the certificate this fingerprint names.
    pub fn matches(&self, certificate_der: &[u8]) -> bool {
        *self == Self::of(self.hash, certificate_der)
    }

    /// Reads an attribute's value, after `a=fingerprint:`: `sha-256 4A:AD:...`.
    pub fn parse(value: &str) -> Result<Self, MediaError> {
        let refuse = |why: &str| MediaError::Srtp(format!("a=fingerprint:{value}: {why}"));
        let mut words = value.split_ascii_whitespace();
        let (Some(name), Some(hex), None) = (words.next(), words.next(), words.next()) else {
            return Err(refuse("expected a hash function and a digest"));
        };
        let hash = HashFunction::from_name(name)
            .ok_or_else(|| refuse("a hash function we do not accept (sha-256, -384, -512)"))?;
        let digest = hex
            .split(':')
            // Two hex digits each (`from_str_radix` alone would take "+1").
            .map(|pair| {
                let hex = pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit());
                hex.then(|| u8::from_str_radix(pair, 16).ok()).flatten()
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| refuse("the digest is not colon-separated hex pairs"))?;
        if digest.len() != hash.algorithm().output_len() {
            return Err(refuse("the digest's length does not fit its hash function"));
        }
        Ok(Self { hash, digest })
    }

    /// The attribute's value.
    pub fn value(&self) -> String {
        let hex: Vec<String> = self.digest.iter().map(|b| format!("{b:02X}")).collect();
        format!("{} {}", self.hash.name(), hex.join(":"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_reads_back_what_it_writes_and_names_its_certificate() {
        let fingerprint = Fingerprint::of(HashFunction::Sha256, b"a certificate");
        let value = fingerprint.value();
        assert!(value.starts_with("sha-256 "), "{value}");
        assert_eq!(value.len(), "sha-256 ".len() + 32 * 3 - 1, "{value}");
        assert_eq!(Fingerprint::parse(&value).expect("reads"), fingerprint);
        // Case does not matter in either part (RFC 8122 §5: upper-case hex, but be liberal).
        let lower =
            Fingerprint::parse(&value.to_ascii_uppercase().replace("SHA", "sha")).expect("reads");
        assert_eq!(lower, fingerprint);
        assert!(fingerprint.matches(b"a certificate"));
        assert!(!fingerprint.matches(b"another certificate"));
    }

    #[test]
    fn weak_and_malformed_fingerprints_are_refused_with_the_reason() {
        let sha1 = "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB";
        let e = Fingerprint::parse(sha1).expect_err("SHA-1");
        assert!(e.to_string().contains("hash function"), "{e}");
        let sha256 = Fingerprint::of(HashFunction::Sha256, b"x").value();
        for bad in [
            "",
            "sha-256",
            &sha256[..sha256.len() - 3],
            &format!("{sha256}:00"),
            &sha256.replace(':', ""),
            &sha256.replacen("sha-256 ", "sha-256 ZZ", 1),
            &format!("{sha256} trailing"),
            "sha-256 +1:+2",
        ] {
            assert!(Fingerprint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
