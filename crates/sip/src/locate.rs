//! Where the trunk is (RFC 3263 without NAPTR): each configured URI becomes one or more
//! [`Target`]s, in the order to try them. An IP address is used as it is; a name with a port
//! is an A/AAAA lookup; a name without one is an SRV lookup (`_sip._udp`, `_sip._tcp`,
//! `_sips._tcp`) ordered by priority and weight, falling back to A/AAAA on the default port.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use rsipstack::resolver::sip_resolver::{resolve_logic, LookupSource, SrvRecord};
use rsipstack::resolver::SipResolver;
use rsipstack::sip::{Domain, Port};
use rsipstack::transport::SipAddr;

use crate::error::SipError;
use crate::trunk_uri::{Transport, TrunkUri};

/// One place to reach the trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    pub transport: Transport,
    /// The name the trunk's TLS certificate must carry: the configured host (RFC 5922 §4,
    /// the SIP domain), never a name learned from DNS.
    pub name: String,
}

impl Target {
    pub fn sip_addr(&self) -> SipAddr {
        SipAddr {
            r#type: Some(stack_transport(self.transport)),
            addr: self.addr.into(),
        }
    }

    /// The URI that names this target in requests (REGISTER's Request-URI).
    pub fn uri(&self) -> String {
        let host = match self.addr {
            SocketAddr::V4(a) => a.to_string(),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        };
        match self.transport {
            Transport::Udp => format!("sip:{host}"),
            t => format!("sip:{host};transport={}", t.param()),
        }
    }
}

/// A name server as configured: `IP` (port 53), `IP:PORT` or `[IPv6]:PORT`.
pub fn parse_dns_server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse::<SocketAddr>()
        .map_err(|_| format!("name server {text:?} is not IP or IP:PORT"))
}

/// Every target of every configured URI, in order, without repeats. Names that do not resolve
/// are skipped (and logged); no target at all is an error.
pub async fn locate(trunk: &[TrunkUri], dns: &[SocketAddr]) -> Result<Vec<Target>, SipError> {
    let resolver = if dns.is_empty() {
        Resolver::System(SipResolver::new())
    } else {
        Resolver::Servers(Box::new(servers(dns)?))
    };
    let mut targets: Vec<Target> = Vec::new();
    let mut failures = Vec::new();
    for uri in trunk {
        match locate_one(&resolver, uri).await {
            Ok(found) => {
                for target in found {
                    if !targets.contains(&target) {
                        targets.push(target);
                    }
                }
            }
            Err(why) => {
                tracing::warn!(trunk = %uri, "cannot locate the trunk: {why}");
                failures.push(format!("{uri}: {why}"));
            }
        }
    }
    if targets.is_empty() {
        return Err(SipError::TrunkNotFound(failures.join("; ")));
    }
    Ok(targets)
}

/// The system's resolver (through rsipstack), or the configured name servers.
enum Resolver {
    System(SipResolver),
    Servers(Box<Servers>),
}

impl Resolver {
    async fn lookup(
        &self,
        domain: &Domain,
        port: Option<Port>,
        transport: Option<rsipstack::sip::Transport>,
        secure: bool,
    ) -> Result<Vec<rsipstack::resolver::sip_resolver::Target>, String> {
        match self {
            Resolver::System(r) => r.lookup(domain, port, transport, secure).await,
            Resolver::Servers(s) => {
                resolve_logic(s.as_ref(), domain, port, transport, secure).await
            }
        }
    }
}

/// Name servers given by address and port (rsipstack's own takes port 53 only).
struct Servers(TokioResolver);

fn servers(dns: &[SocketAddr]) -> Result<Servers, SipError> {
    let mut config = ResolverConfig::default();
    for server in dns {
        let over = |protocol| {
            let mut connection = ConnectionConfig::new(protocol);
            connection.port = server.port();
            connection
        };
        config.add_name_server(NameServerConfig::new(
            server.ip(),
            true,
            vec![over(ProtocolConfig::Udp), over(ProtocolConfig::Tcp)],
        ));
    }
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4thenIpv6;
    builder
        .build()
        .map(Servers)
        .map_err(|e| SipError::TrunkNotFound(format!("name servers {dns:?}: {e}")))
}

#[async_trait::async_trait]
impl LookupSource for Servers {
    async fn lookup_srv(&self, name: &str) -> Result<Vec<SrvRecord>, String> {
        let found = self.0.srv_lookup(name).await.map_err(|e| e.to_string())?;
        let records = found
            .message()
            .all_sections()
            .filter_map(|r| match &r.data {
                RData::SRV(srv) => Some(SrvRecord {
                    target: srv.target.to_string().trim_end_matches('.').to_owned(),
                    port: srv.port,
                    priority: srv.priority,
                    weight: srv.weight,
                }),
                _ => None,
            })
            .collect();
        Ok(records)
    }

    async fn lookup_a_aaaa(&self, name: &str) -> Result<Vec<IpAddr>, String> {
        let found = self.0.lookup_ip(name).await.map_err(|e| e.to_string())?;
        Ok(found.iter().collect())
    }
}

async fn locate_one(resolver: &Resolver, uri: &TrunkUri) -> Result<Vec<Target>, String> {
    let name = uri.host.clone();
    if let Some(ip) = uri.ip() {
        let transport = uri.transport.unwrap_or_default();
        let port = uri.port.unwrap_or(transport.default_port());
        return Ok(vec![Target {
            addr: SocketAddr::new(ip, port),
            transport,
            name,
        }]);
    }
    let secure = uri.transport == Some(Transport::Tls);
    let found = resolver
        .lookup(
            &Domain(uri.host.clone()),
            uri.port.map(Port::from),
            uri.transport.map(stack_transport),
            secure,
        )
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|t| {
            Some(Target {
                addr: t.addr,
                transport: our_transport(t.transport)?,
                name: name.clone(),
            })
        })
        .collect())
}

fn stack_transport(t: Transport) -> rsipstack::sip::Transport {
    match t {
        Transport::Udp => rsipstack::sip::Transport::Udp,
        Transport::Tcp => rsipstack::sip::Transport::Tcp,
        Transport::Tls => rsipstack::sip::Transport::Tls,
    }
}

fn our_transport(t: rsipstack::sip::Transport) -> Option<Transport> {
    match t {
        rsipstack::sip::Transport::Udp => Some(Transport::Udp),
        rsipstack::sip::Transport::Tcp => Some(Transport::Tcp),
        rsipstack::sip::Transport::Tls => Some(Transport::Tls),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn addresses_are_used_as_they_are() {
        let trunk = [
            TrunkUri::parse("sip:127.0.0.1:5070").expect("uri"),
            TrunkUri::parse("sips:[::1]").expect("uri"),
            TrunkUri::parse("sip:127.0.0.1:5070").expect("uri"),
        ];
        let found = locate(&trunk, &[]).await.expect("located");
        assert_eq!(found.len(), 2, "the repeated URI counts once: {found:?}");
        assert_eq!(found[0].uri(), "sip:127.0.0.1:5070");
        assert_eq!(found[1].addr, "[::1]:5061".parse().expect("addr"));
        assert_eq!(found[1].uri(), "sip:[::1]:5061;transport=tls");
        assert_eq!(found[1].name, "::1");
    }

    #[test]
    fn name_servers_take_port_53_unless_given() {
        assert_eq!(
            parse_dns_server("10.0.0.53"),
            Ok("10.0.0.53:53".parse().expect("a"))
        );
        assert_eq!(
            parse_dns_server("[::1]:5353"),
            Ok("[::1]:5353".parse().expect("a"))
        );
        assert!(parse_dns_server("ns.example").is_err());
    }
}
