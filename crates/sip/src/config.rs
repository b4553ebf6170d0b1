//! What one SIP account needs, handed over by value from the desk's configuration.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::session_timer::TimerPolicy;
use crate::trunk_uri::TrunkUri;

/// A password that never shows in `Debug` output or logs.
#[derive(Clone, Default)]
pub struct Password(String);

impl Password {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(****)")
    }
}

#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// The trunk, in order of preference: registrar, outbound proxy and the only party allowed
    /// to send us calls. Each URI may stand for several targets (DNS SRV); when one fails
    /// (timeout, transport error, 503) the next is tried. Empty runs without registering
    /// (practice mode), trusting only `trusted_peer`.
    pub trunk: Vec<TrunkUri>,
    /// Name servers for locating the trunk (port 53 unless given); the system's when empty.
    pub dns_servers: Vec<SocketAddr>,
    /// PEM file of the certificate authorities a TLS trunk's certificate must chain to; the
    /// system's store when not set.
    pub tls_roots: Option<PathBuf>,
    /// Domain for our address-of-record; the first trunk URI's host (and port) when not set.
    pub domain: Option<String>,
    pub user: String,
    /// Shown to the people we call.
    pub display_name: Option<String>,
    pub password: Password,
    /// Local address to bind; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Registration lifetime we ask for.
    pub expires: Duration,
    /// How long a REGISTER may go unanswered before we call the registrar unreachable.
    pub register_timeout: Duration,
    /// How often to check, while registered, that the trunk is still there (OPTIONS). This
    /// bounds how long a restarted trunk goes unnoticed, and keeps NAT bindings open.
    pub keepalive: Duration,
    /// Without a registrar, the one source allowed to call us.
    pub trusted_peer: Option<SocketAddr>,
    pub user_agent: String,
    /// Session timers (RFC 4028): the interval we ask for and the least we accept.
    pub session_timer: TimerPolicy,
    /// Follow a blind transfer from the other party (REFER to a plain URI), as a customer's
    /// phone does. An agent's line never does: the contact center decides where calls go.
    pub accept_transfers: bool,
}

impl AccountConfig {
    pub fn new(user: impl Into<String>) -> Self {
        Self {
            trunk: Vec::new(),
            dns_servers: Vec::new(),
            tls_roots: None,
            domain: None,
            user: user.into(),
            display_name: None,
            password: Password::default(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            expires: Duration::from_secs(600),
            register_timeout: Duration::from_secs(8),
            keepalive: Duration::from_secs(15),
            trusted_peer: None,
            user_agent: concat!("Switchboard/", env!("CARGO_PKG_VERSION")).into(),
            session_timer: TimerPolicy::default(),
            accept_transfers: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_redacted_in_debug_output() {
        let mut c = AccountConfig::new("agent");
        c.password = Password::new("hunter2");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(c.password.expose(), "hunter2");
    }
}
