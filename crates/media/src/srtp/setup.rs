//! `a=setup` (RFC 4145 §4, as RFC 5763 §5 uses it): which side starts the DTLS handshake.

use crate::error::MediaError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The writer starts the handshake (it is the DTLS client).
    Active,
    /// The writer waits for the handshake (it is the DTLS server).
    Passive,
    /// Either: the answerer chooses. What an offer must say (RFC 5763 §5).
    ActPass,
    /// No connection for now.
    HoldConn,
}

/// Our side of the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    Client,
    Server,
}

impl Setup {
    /// Reads the attribute's value; an absent attribute means `active` (RFC 4145 §4).
    pub fn parse(value: Option<&str>) -> Result<Self, MediaError> {
        let Some(value) = value else {
            return Ok(Self::Active);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "active" => Ok(Self::Active),
            "passive" => Ok(Self::Passive),
            "actpass" => Ok(Self::ActPass),
            "holdconn" => Ok(Self::HoldConn),
            _ => Err(MediaError::Srtp(format!(
                "a=setup:{value}: expected active, passive, actpass or holdconn"
            ))),
        }
    }

    /// What we write for `role`.
    pub fn of(role: DtlsRole) -> Self {
        match role {
            DtlsRole::Client => Self::Active,
            DtlsRole::Server => Self::Passive,
        }
    }

    pub fn value(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Passive => "passive",
            Self::ActPass => "actpass",
            Self::HoldConn => "holdconn",
        }
    }

    /// Our role when we answer an offer with this setup. Offered a choice we start the
    /// handshake (RFC 5763 §5 says the answerer SHOULD): that saves the offerer's round trip.
    pub fn answering(self) -> Result<DtlsRole, MediaError> {
        match self {
            Self::ActPass | Self::Passive => Ok(DtlsRole::Client),
            Self::Active => Ok(DtlsRole::Server),
            Self::HoldConn => Err(MediaError::Srtp(
                "the offer holds the DTLS connection (a=setup:holdconn)".into(),
            )),
        }
    }

    /// Our role when this answers our offer of `ours`: the answer must take the other side.
    /// `actpass` may not answer (RFC 8842 §5.3), but baresip answers every re-offer with it:
    /// it chooses nothing, so our side stands.
    pub fn answered(self, ours: DtlsRole) -> Result<DtlsRole, MediaError> {
        match (self, ours) {
            (Self::Passive, DtlsRole::Client)
            | (Self::Active, DtlsRole::Server)
            | (Self::ActPass, _) => Ok(ours),
            _ => Err(MediaError::Srtp(format!(
                "the answer's a=setup:{} does not complement our a=setup:{}",
                self.value(),
                Self::of(ours).value()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answerer_takes_the_side_the_offer_leaves() {
        let role = |v| Setup::parse(v).and_then(Setup::answering);
        assert_eq!(role(Some("actpass")).unwrap(), DtlsRole::Client);
        assert_eq!(role(Some("passive")).unwrap(), DtlsRole::Client);
        assert_eq!(role(Some("ACTIVE")).unwrap(), DtlsRole::Server);
        assert_eq!(role(None).unwrap(), DtlsRole::Server, "absent is active");
        assert!(role(Some("holdconn")).is_err());
        let e = role(Some("whenever")).expect_err("not a setup");
        assert!(e.to_string().contains("whenever"), "{e}");
    }

    #[test]
    fn an_answer_must_complement_our_offer() {
        assert!(Setup::Passive.answered(DtlsRole::Client).is_ok());
        assert!(Setup::Active.answered(DtlsRole::Server).is_ok());
        assert_eq!(
            Setup::ActPass.answered(DtlsRole::Client).unwrap(),
            DtlsRole::Client,
            "an answer that does not choose leaves our role"
        );
        for (setup, ours) in [
            (Setup::Active, DtlsRole::Client),
            (Setup::Passive, DtlsRole::Server),
            (Setup::HoldConn, DtlsRole::Server),
        ] {
            let e = setup.answered(ours).expect_err("not complementary");
            assert!(e.to_string().contains("complement"), "{e}");
        }
        assert_eq!(Setup::of(DtlsRole::Client).value(), "active");
    }
}
