//! The SDES offer/answer rules (RFC 4568 §6-7) under our policy: which keys we write, which of
//! the peer's we accept, and when a call must be refused for want of encryption. DTLS-SRTP
//! (RFC 5763) is answered when the peer offers only that; we never offer it first.

use super::dtls::{DtlsIdentity, DtlsParams};
use super::fingerprint::Fingerprint;
use super::sdes::{Crypto, MasterKey, SrtpKeys, SrtpPolicy, Suite};
use super::setup::Setup;
use crate::error::MediaError;

/// What a remote description says about security.
#[derive(Debug, Clone, Default)]
pub struct RemoteSecurity {
    /// The transport is RTP/SAVP (or SAVPF): the writer accepts nothing but SRTP.
    pub savp: bool,
    /// Its `a=crypto` attributes we can use, in its order.
    pub usable: Vec<Crypto>,
    /// Why the first attribute we could not use was refused, for the error.
    pub refused: Option<String>,
    /// The transport is UDP/TLS/RTP/SAVP: keys come from a DTLS handshake, not `a=crypto`.
    pub dtls: Option<RemoteDtls>,
}

/// What a DTLS-SRTP description says: the writer's certificate and who starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDtls {
    pub fingerprint: Fingerprint,
    pub setup: Setup,
}

/// Our side of SDES for one stream: the keys we write, and the transport we name.
#[derive(Debug, Clone)]
pub struct LocalSecurity {
    policy: SrtpPolicy,
    /// Before the first exchange, one per suite we speak; then the one agreed, or none.
    ours: Vec<Crypto>,
    savp: bool,
    /// The stream is keyed by DTLS: our certificate, our role and the peer's fingerprint.
    dtls: Option<DtlsParams>,
}

impl LocalSecurity {
    /// Plain RTP: no keys offered, and an offer that requires SRTP refused.
    pub fn plain() -> Self {
        Self {
            policy: SrtpPolicy::Off,
            ours: Vec::new(),
            savp: false,
            dtls: None,
        }
    }

    /// Fresh keys for every suite, unless the policy is off.
    pub fn new(policy: SrtpPolicy) -> Result<Self, MediaError> {
        if policy == SrtpPolicy::Off {
            return Ok(Self::plain());
        }
        let ours = Suite::PREFERENCE
            .into_iter()
            .zip(1..)
            .map(|(suite, tag)| {
                Ok(Crypto {
                    tag,
                    suite,
                    key: fresh_key()?,
                })
            })
            .collect::<Result<_, MediaError>>()?;
        Ok(Self {
            policy,
            ours,
            savp: policy == SrtpPolicy::Required,
            dtls: None,
        })
    }

    /// The transport to write on the m= line.
    pub fn transport(&self) -> &'static str {
        match (&self.dtls, self.savp) {
            (Some(_), _) => "UDP/TLS/RTP/SAVP",
            (None, true) => "RTP/SAVP",
            (None, false) => "RTP/AVP",
        }
    }

    /// The DTLS handshake the stream is keyed by, when it is: its fingerprint and setup are
    /// written in our descriptions.
    pub fn dtls(&self) -> Option<&DtlsParams> {
        self.dtls.as_ref()
    }

    /// The `a=crypto` attributes to write.
    pub fn attributes(&self) -> &[Crypto] {
        &self.ours
    }

    /// Answers an offer: the offerer's first usable key, with ours for the same suite and tag;
    /// or, for a DTLS-SRTP offer, no key but the handshake's parameters ([`Self::dtls`]).
    pub fn answer(&mut self, offer: &RemoteSecurity) -> Result<Option<SrtpKeys>, MediaError> {
        if let Some(remote) = &offer.dtls {
            self.answer_dtls(remote)?;
            return Ok(None);
        }
        self.dtls = None;
        if self.policy == SrtpPolicy::Off {
            if offer.savp {
                return Err(MediaError::Srtp(
                    "the offer requires SRTP, which is switched off here".into(),
                ));
            }
            self.agree_plain();
            return Ok(None);
        }
        let Some(theirs) = offer.usable.first().cloned() else {
            if offer.savp || self.policy == SrtpPolicy::Required {
                return Err(no_usable_key(offer, "offer"));
            }
            self.agree_plain();
            return Ok(None);
        };
        let key = match self.ours.iter().find(|c| c.suite == theirs.suite) {
            Some(c) => c.key.clone(),
            None => fresh_key()?,
        };
        self.ours = vec![Crypto {
            tag: theirs.tag,
            suite: theirs.suite,
            key: key.clone(),
        }];
        self.savp = offer.savp;
        Ok(Some(SrtpKeys {
            suite: theirs.suite,
            ours: key,
            theirs: theirs.key,
        }))
    }

    /// Reads the answer to our offer: the key it chose must answer one of ours, tag and suite.
    /// Once a stream is keyed by DTLS our offers say so, and the answer must too.
    pub fn read_answer(&mut self, answer: &RemoteSecurity) -> Result<Option<SrtpKeys>, MediaError> {
        match (&mut self.dtls, &answer.dtls) {
            (Some(ours), Some(theirs)) => {
                ours.role = theirs.setup.answered(ours.role)?;
                ours.remote_fingerprint = theirs.fingerprint.clone();
                return Ok(None);
            }
            (None, Some(_)) => {
                return Err(MediaError::Srtp(
                    "the answer is DTLS-SRTP (UDP/TLS/RTP/SAVP), which we did not offer".into(),
                ))
            }
            (Some(_), None) => {
                return Err(MediaError::Srtp(
                    "the answer drops DTLS-SRTP from a stream keyed by it".into(),
                ))
            }
            (None, None) => {}
        }
        let Some(theirs) = answer.usable.first() else {
            if answer.savp || self.policy == SrtpPolicy::Required {
                return Err(no_usable_key(answer, "answer"));
            }
            self.agree_plain();
            return Ok(None);
        };
        let ours = self
            .ours
            .iter()
            .find(|c| c.tag == theirs.tag && c.suite == theirs.suite)
            .cloned()
            .ok_or_else(|| {
                MediaError::Srtp(format!(
                    "the answer's key (tag {}, {}) answers none we offered",
                    theirs.tag,
                    theirs.suite.name()
                ))
            })?;
        let keys = SrtpKeys {
            suite: ours.suite,
            ours: ours.key.clone(),
            theirs: theirs.key.clone(),
        };
        self.ours = vec![ours];
        self.savp = self.savp || answer.savp;
        Ok(Some(keys))
    }

    /// A DTLS-SRTP offer: we take the role it leaves us, keeping our certificate for the
    /// dialog (a re-offer with the same fingerprint and roles keeps the association).
    fn answer_dtls(&mut self, remote: &RemoteDtls) -> Result<(), MediaError> {
        if self.policy == SrtpPolicy::Off {
            return Err(MediaError::Srtp(
                "the offer requires SRTP (DTLS-SRTP), which is switched off here".into(),
            ));
        }
        let role = remote.setup.answering()?;
        let identity = match &self.dtls {
            Some(params) => params.identity.clone(),
            None => DtlsIdentity::generate()?,
        };
        self.dtls = Some(DtlsParams {
            role,
            identity,
            remote_fingerprint: remote.fingerprint.clone(),
        });
        self.ours.clear();
        self.savp = true;
        Ok(())
    }

    /// The peer will not encrypt: later offers say no more about SRTP.
    fn agree_plain(&mut self) {
        self.ours.clear();
        self.savp = false;
    }
}

fn fresh_key() -> Result<MasterKey, MediaError> {
    let provider = rtc_srtp::crypto::default_provider().map_err(MediaError::srtp)?;
    MasterKey::generate(provider.as_ref())
}

fn no_usable_key(remote: &RemoteSecurity, what: &str) -> MediaError {
    let why = match &remote.refused {
        Some(why) => format!("the {what} has no key we can use ({why})"),
        None => format!("the {what} has no SRTP key (a=crypto) and SRTP is required"),
    };
    MediaError::Srtp(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(savp: bool, suites: &[Suite]) -> RemoteSecurity {
        RemoteSecurity {
            savp,
            usable: suites
                .iter()
                .zip(5..)
                .map(|(&suite, tag)| Crypto {
                    tag,
                    suite,
                    key: fresh_key().expect("key"),
                })
                .collect(),
            refused: None,
            dtls: None,
        }
    }

    const S80: Suite = Suite::AesCm128HmacSha1_80;
    const S32: Suite = Suite::AesCm128HmacSha1_32;

    #[test]
    fn the_policy_sets_what_we_offer() {
        let off = LocalSecurity::new(SrtpPolicy::Off).expect("keys");
        assert_eq!((off.transport(), off.attributes().len()), ("RTP/AVP", 0));
        let offer = LocalSecurity::new(SrtpPolicy::Offer).expect("keys");
        assert_eq!(offer.transport(), "RTP/AVP");
        let suites: Vec<Suite> = offer.attributes().iter().map(|c| c.suite).collect();
        assert_eq!(suites, [S80, S32]);
        assert_ne!(
            offer.attributes()[0].key,
            offer.attributes()[1].key,
            "a key per suite"
        );
        let required = LocalSecurity::new(SrtpPolicy::Required).expect("keys");
        assert_eq!(
            (required.transport(), required.attributes().len()),
            ("RTP/SAVP", 2)
        );
    }

    #[test]
    fn an_answer_takes_the_offerers_first_usable_key_and_mirrors_its_transport() {
        let mut ours = LocalSecurity::new(SrtpPolicy::Offer).expect("keys");
        let offer = remote(true, &[S32, S80]);
        let keys = ours.answer(&offer).expect("agreed").expect("encrypted");
        assert_eq!((keys.suite, &keys.theirs), (S32, &offer.usable[0].key));
        assert_eq!(ours.attributes().len(), 1);
        assert_eq!(
            ours.attributes()[0].tag,
            offer.usable[0].tag,
            "the offer's tag"
        );
        assert_eq!(ours.transport(), "RTP/SAVP");
        // Best effort on RTP/AVP is answered on RTP/AVP.
        let mut ours = LocalSecurity::new(SrtpPolicy::Required).expect("keys");
        assert!(ours
            .answer(&remote(false, &[S80]))
            .expect("agreed")
            .is_some());
        assert_eq!(ours.transport(), "RTP/AVP");
    }

    #[test]
    fn refusals_follow_the_policy() {
        let answer = |policy, offer: &RemoteSecurity| {
            LocalSecurity::new(policy)
                .expect("keys")
                .answer(offer)
                .map(|k| k.is_some())
        };
        let plain = remote(false, &[]);
        assert!(!answer(SrtpPolicy::Offer, &plain).expect("plain is fine"));
        assert!(!answer(SrtpPolicy::Off, &remote(false, &[S80])).expect("keys ignored"));
        let e = answer(SrtpPolicy::Required, &plain).expect_err("required");
        assert!(e.to_string().contains("required"), "{e}");
        let e = answer(SrtpPolicy::Off, &remote(true, &[S80])).expect_err("off");
        assert!(e.to_string().contains("switched off"), "{e}");
        let unusable = RemoteSecurity {
            savp: true,
            usable: vec![],
            refused: Some("AEAD_AES_256_GCM".into()),
            dtls: None,
        };
        let e = answer(SrtpPolicy::Offer, &unusable).expect_err("no key");
        assert!(e.to_string().contains("AEAD_AES_256_GCM"), "{e}");
    }

    #[test]
    fn reading_an_answer_pairs_its_key_with_the_one_we_offered() {
        let mut ours = LocalSecurity::new(SrtpPolicy::Offer).expect("keys");
        let offered = ours.attributes()[1].clone();
        let mut answer = remote(false, &[S32]);
        answer.usable[0].tag = offered.tag;
        let keys = ours
            .read_answer(&answer)
            .expect("agreed")
            .expect("encrypted");
        assert_eq!((keys.suite, keys.ours), (S32, offered.key));
        assert_eq!(
            ours.attributes().len(),
            1,
            "re-offers keep only the agreed key"
        );

        let mut ours = LocalSecurity::new(SrtpPolicy::Offer).expect("keys");
        let e = ours
            .read_answer(&remote(false, &[S80]))
            .expect_err("tag 5 was never offered");
        assert!(e.to_string().contains("none we offered"), "{e}");
        assert!(ours
            .read_answer(&remote(false, &[]))
            .expect("plain")
            .is_none());
        assert!(ours.attributes().is_empty() && ours.transport() == "RTP/AVP");

        let mut ours = LocalSecurity::new(SrtpPolicy::Required).expect("keys");
        assert!(
            ours.read_answer(&remote(false, &[])).is_err(),
            "required, answered plain"
        );
    }
}
