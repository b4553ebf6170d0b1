//! Where the Microsoft identity platform and Graph are, and who we are to them: the tenant, our
//! public client's id, the scopes. The bases can be a national cloud's, or a local test server's;
//! plain http is accepted on loopback only, so a token never crosses a network in the clear.

use std::path::PathBuf;

use url::Url;

/// The worldwide cloud's sign-in service.
pub const GLOBAL_LOGIN: &str = "https://login.microsoftonline.com";
/// The worldwide cloud's Graph, version 1.0.
pub const GLOBAL_GRAPH: &str = "https://graph.microsoft.com/v1.0";

/// What we ask the user (and IT, by admin consent) to allow. `offline_access` brings the refresh
/// token that keeps the desk signed in.
pub const SCOPES: &[&str] = &["openid", "profile", "offline_access"];
/// The delegated Graph permissions: presence of others, users' phone numbers (search), and
/// group members (skills mapped to groups). They are asked for on the configured Graph's
/// resource, so that a national cloud's token is for its own Graph.
pub const GRAPH_PERMISSIONS: &[&str] =
    &["Presence.Read.All", "User.Read.All", "GroupMember.Read.All"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    #[error("{what} {value:?} is not a URL: {reason}")]
    NotUrl {
        what: &'static str,
        value: String,
        reason: String,
    },
    #[error("{what} {value:?} must be https (plain http only on this machine's loopback)")]
    NotHttps { what: &'static str, value: String },
    #[error("the tenant {0:?} is not a tenant id, a domain, or organizations")]
    Tenant(String),
    #[error("the client id {0:?} is not an application id")]
    ClientId(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    login: Url,
    graph: Url,
    /// PEM certificate authorities both must chain to, instead of the system's.
    pub ca_file: Option<PathBuf>,
}

impl Cloud {
    pub fn global() -> Self {
        Self::new(GLOBAL_LOGIN, GLOBAL_GRAPH, None).unwrap_or_else(|_| unreachable!())
    }

    pub fn new(login: &str, graph: &str, ca_file: Option<PathBuf>) -> Result<Self, CloudError> {
        Ok(Self {
            login: base("the sign-in base", login)?,
            graph: base("the Graph base", graph)?,
            ca_file,
        })
    }

    /// `{graph}/{segments joined by /}`, each segment percent-encoded as one (an id with `/`
    /// or `?` in it stays inside its segment).
    pub fn graph_url(&self, segments: &[&str]) -> String {
        let mut url = self.graph.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.into()
    }

    /// The Graph's resource identifier: its origin (`https://graph.microsoft.com`,
    /// `https://graph.microsoft.us`, ...), what token scopes are named after.
    pub fn graph_resource(&self) -> String {
        self.graph.origin().ascii_serialization()
    }

    /// Whether `url` is on our Graph (a `@odata.nextLink` must be, before our token goes to it).
    pub fn is_graph(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|u| {
            u.scheme() == self.graph.scheme()
                && u.host_str() == self.graph.host_str()
                && u.port_or_known_default() == self.graph.port_or_known_default()
        })
    }

    fn login_url(&self, tenant: &Tenant, leaf: &str) -> String {
        format!(
            "{}/{}/oauth2/v2.0/{leaf}",
            self.login.as_str().trim_end_matches('/'),
            tenant.0
        )
    }
}

/// A directory tenant: its id, one of its domains, or `organizations` (any work account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(String);

impl Tenant {
    pub fn parse(value: &str) -> Result<Self, CloudError> {
        let ok = !value.is_empty()
            && value.len() <= 253
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(CloudError::Tenant(value.to_owned()))
        }
    }
}

/// The identity platform's endpoints for one tenant and our client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub cloud: Cloud,
    pub tenant: Tenant,
    pub client_id: String,
}

impl Client {
    pub fn new(cloud: Cloud, tenant: &str, client_id: &str) -> Result<Self, CloudError> {
        let ok = !client_id.is_empty()
            && client_id.len() <= 64
            && client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(CloudError::ClientId(client_id.to_owned()));
        }
        Ok(Self {
            cloud,
            tenant: Tenant::parse(tenant)?,
            client_id: client_id.to_owned(),
        })
    }

    pub fn authorize_endpoint(&self) -> String {
        self.cloud.login_url(&self.tenant, "authorize")
    }

    pub fn token_endpoint(&self) -> String {
        self.cloud.login_url(&self.tenant, "token")
    }

    pub fn device_code_endpoint(&self) -> String {
        self.cloud.login_url(&self.tenant, "devicecode")
    }

    pub fn scope(&self) -> String {
        let resource = self.cloud.graph_resource();
        SCOPES
            .iter()
            .map(|s| s.to_string())
            .chain(GRAPH_PERMISSIONS.iter().map(|p| format!("{resource}/{p}")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn base(what: &'static str, value: &str) -> Result<Url, CloudError> {
    let url = Url::parse(value).map_err(|e| CloudError::NotUrl {
        what,
        value: value.to_owned(),
        reason: e.to_string(),
    })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    let secure = url.scheme() == "https" && url.host().is_some();
    if !(secure || (url.scheme() == "http" && loopback)) {
        return Err(CloudError::NotHttps {
            what,
            value: value.to_owned(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(CloudError::NotUrl {
            what,
            value: value.to_owned(),
            reason: "a base takes no query or fragment".into(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoints_are_the_v2_ones_under_the_tenant() {
        let client = Client::new(Cloud::global(), "contoso.onmicrosoft.com", "0000-app").unwrap();
        assert_eq!(
            client.authorize_endpoint(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
        );
        assert_eq!(
            client.device_code_endpoint(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
        );
        let china = Cloud::new(
            "https://login.chinacloudapi.cn/",
            "https://microsoftgraph.chinacloudapi.cn/v1.0/",
            None,
        )
        .unwrap();
        assert_eq!(
            china.graph_url(&["communications", "getPresencesByUserId"]),
            "https://microsoftgraph.chinacloudapi.cn/v1.0/communications/getPresencesByUserId"
        );
        assert_eq!(
            Cloud::global().graph_url(&["users", "a/b?c d#e"]),
            "https://graph.microsoft.com/v1.0/users/a%2Fb%3Fc%20d%23e",
            "an id stays one path segment"
        );
        assert!(client.scope().contains("offline_access"));
        assert!(client
            .scope()
            .contains("https://graph.microsoft.com/Presence.Read.All"));
        let us = Cloud::new(
            "https://login.microsoftonline.us",
            "https://graph.microsoft.us/v1.0",
            None,
        )
        .expect("a national cloud");
        let us = Client::new(us, "contoso.onmicrosoft.us", "abc").expect("a client");
        assert!(
            us.scope()
                .contains("https://graph.microsoft.us/User.Read.All"),
            "{}",
            us.scope()
        );
    }

    #[test]
    fn plain_http_is_refused_off_loopback_and_hostile_names_are_refused() {
        assert!(Cloud::new("http://127.0.0.1:4000", "http://[::1]:4001/v1.0", None).is_ok());
        assert!(matches!(
            Cloud::new("http://login.internal", GLOBAL_GRAPH, None),
            Err(CloudError::NotHttps { .. })
        ));
        assert!(matches!(
            Cloud::new("login.microsoftonline.com", GLOBAL_GRAPH, None),
            Err(CloudError::NotUrl { .. })
        ));
        assert!(Cloud::new(GLOBAL_LOGIN, "https://graph.microsoft.com/v1.0?x=1", None).is_err());
        assert!(Tenant::parse("../common").is_err());
        assert!(Tenant::parse("a/b").is_err());
        assert!(Tenant::parse("organizations").is_ok());
        assert!(Client::new(Cloud::global(), "organizations", "x&y=z").is_err());
    }

    #[test]
    fn a_next_link_elsewhere_is_not_our_graph() {
        let cloud = Cloud::new(GLOBAL_LOGIN, "https://127.0.0.1:9443/v1.0", None).unwrap();
        assert!(cloud.is_graph("https://127.0.0.1:9443/v1.0/users?$skiptoken=x"));
        assert!(!cloud.is_graph("https://127.0.0.1:9444/v1.0/users"));
        assert!(!cloud.is_graph("http://127.0.0.1:9443/v1.0/users"));
        assert!(!cloud.is_graph("not a url"));
    }
}
