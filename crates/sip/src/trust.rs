//! Who may call the agent. Scanners sweep the internet with INVITEs ("ghost calls"): only the
//! trunk may ring an agent's desk, and only for the address we registered.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    /// Addresses of the trunk (registrar, SBC).
    pub trunk: Vec<IpAddr>,
    /// The user part of our Contact.
    pub local_user: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request did not come from the trunk.
    UntrustedSource(IpAddr),
    /// The Request-URI names someone else.
    NotForUs,
}

impl Refusal {
    /// The status to answer with; 403 tells a scanner nothing about who is here.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::UntrustedSource(_) => 403,
            Refusal::NotForUs => 404,
        }
    }
}

impl TrustPolicy {
    /// `trunk`: every address the trunk may send from (all its targets, or the practice peer).
    pub fn new(trunk: impl IntoIterator<Item = IpAddr>, local_user: &str) -> Self {
        let mut addresses: Vec<IpAddr> = Vec::new();
        for ip in trunk {
            if !addresses.contains(&ip) {
                addresses.push(ip);
            }
        }
        Self {
            trunk: addresses,
            local_user: local_user.to_owned(),
        }
    }

    /// Whether `source` is one of the trunk's addresses.
    pub fn is_trunk(&self, source: IpAddr) -> bool {
        self.trunk.contains(&source)
    }

    pub fn admit(&self, source: IpAddr, request_user: Option<&str>) -> Result<(), Refusal> {
        if !self.is_trunk(source) {
            return Err(Refusal::UntrustedSource(source));
        }
        match request_user {
            Some(user) if user != self.local_user => Err(Refusal::NotForUs),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> TrustPolicy {
        TrustPolicy {
            trunk: vec!["127.0.0.1".parse().expect("ip")],
            local_user: "agent1".into(),
        }
    }

    #[test]
    fn only_the_trunk_may_call_and_only_our_user() {
        let p = policy();
        assert_eq!(
            p.admit("127.0.0.1".parse().expect("ip"), Some("agent1")),
            Ok(())
        );
        assert_eq!(p.admit("127.0.0.1".parse().expect("ip"), None), Ok(()));
        let scanner: IpAddr = "127.0.0.9".parse().expect("ip");
        assert_eq!(
            p.admit(scanner, Some("agent1")),
            Err(Refusal::UntrustedSource(scanner))
        );
        let wrong = p.admit("127.0.0.1".parse().expect("ip"), Some("100"));
        assert_eq!(wrong.map_err(|r| r.status()), Err(404));
    }
}
