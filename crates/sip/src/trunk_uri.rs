//! How the trunk is configured: `sip:HOST[:PORT][;transport=udp|tcp|tls]` or `sips:HOST[:PORT]`.
//! A host without a port is looked up by DNS SRV (RFC 3263) when the agent starts; see
//! [`crate::locate`].

use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp => 5060,
            Transport::Tls => 5061,
        }
    }

    /// Stream transports carry requests both ways over the connection we open.
    pub fn is_stream(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// The `transport` URI parameter's value (RFC 3261 §19.1.1).
    pub fn param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.param().to_ascii_uppercase())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkUri {
    /// A DNS name or an IP address (without brackets).
    pub host: String,
    pub port: Option<u16>,
    /// `None`: chosen by DNS (NAPTR is not used; SRV for UDP, then TCP).
    pub transport: Option<Transport>,
}

impl TrunkUri {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("trunk {text:?}: {why}");
        let (secure, rest) = if let Some(rest) = strip_prefix_ci(text, "sips:") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ci(text, "sip:") {
            (false, rest)
        } else {
            return Err(bad("must be a sip: or sips: URI"));
        };
        let mut parts = rest.split(';');
        let hostport = parts.next().unwrap_or_default();
        if hostport.contains('@') || hostport.contains('?') {
            return Err(bad("names a user or headers; give the trunk's host only"));
        }
        let (host, port) = split_host_port(hostport).ok_or_else(|| bad("has no valid host"))?;
        let mut transport = secure.then_some(Transport::Tls);
        for param in parts {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            if name.eq_ignore_ascii_case("transport") {
                let chosen = match value.to_ascii_lowercase().as_str() {
                    "udp" => Transport::Udp,
                    "tcp" => Transport::Tcp,
                    "tls" => Transport::Tls,
                    other => {
                        return Err(bad(&format!("transport {other:?} is not udp, tcp or tls")))
                    }
                };
                if secure && chosen != Transport::Tls {
                    return Err(bad("a sips: URI must use TLS"));
                }
                transport = Some(chosen);
            }
        }
        Ok(Self {
            host,
            port,
            transport,
        })
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for TrunkUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.transport == Some(Transport::Tls) {
            "sips"
        } else {
            "sip"
        };
        let host = match self.ip() {
            Some(IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => self.host.clone(),
        };
        write!(f, "{scheme}:{host}")?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(t @ (Transport::Udp | Transport::Tcp)) = self.transport {
            write!(f, ";transport={}", t.param())?;
        }
        Ok(())
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (v6, port)
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
    if !valid_host {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0)?),
        None => None,
    };
    Some((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> TrunkUri {
        TrunkUri::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_host_port_and_transport() {
        let u = parsed("sip:127.0.0.1:5070");
        assert_eq!(
            (u.host.as_str(), u.port, u.transport),
            ("127.0.0.1", Some(5070), None)
        );
        let u = parsed("sip:trunk.example.com;transport=TCP");
        assert_eq!((u.port, u.transport), (None, Some(Transport::Tcp)));
        let u = parsed("sips:[::1]:5061");
        assert_eq!(
            (u.host.as_str(), u.transport),
            ("::1", Some(Transport::Tls))
        );
        assert_eq!(u.to_string(), "sips:[::1]:5061");
        assert_eq!(
            parsed("sip:h:5;transport=tcp").to_string(),
            "sip:h:5;transport=tcp"
        );
    }

    #[test]
    fn refuses_what_is_not_a_trunk_address() {
        for bad in [
            "127.0.0.1:5060",
            "sip:",
            "sip:agent@trunk",
            "sip:trunk:0",
            "sip:trunk:99999",
            "sip:[::1",
            "sip:trunk;transport=sctp",
            "sips:trunk;transport=udp",
            "sip:tr unk",
        ] {
            assert!(TrunkUri::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
