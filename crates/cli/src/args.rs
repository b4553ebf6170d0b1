//! The command line. This interface is a contract other tools drive: extend it, do not change it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "switchboard-cli",
    version,
    about = "Switchboard's engine without a window. Prints one JSON object per event on stdout; reads commands (answer, hangup, quit) on stdin."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Register to the trunk and wait for calls.
    Agent(Account),
    /// Place one call and exit when it ends.
    Call {
        /// Whom to call: a SIP URI, or a user/number at the registrar.
        target: String,
        #[command(flatten)]
        account: Account,
    },
    /// Run the practice line: a simulated customer calls this agent over loopback SIP.
    Practice(Audio),
}

#[derive(Args)]
pub struct Account {
    /// The trunk, as sip:HOST[:PORT].
    #[arg(long)]
    pub registrar: String,
    #[arg(long)]
    pub user: String,
    /// Name of the environment variable holding the password (never the password itself).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    #[arg(long, value_enum, default_value_t = TransportArg::Udp)]
    pub transport: TransportArg,
    /// Local address to bind for SIP (default: the interface facing the registrar, any port).
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    #[command(flatten)]
    pub audio: Audio,
}

#[derive(Args)]
pub struct Audio {
    /// Answer incoming calls at once.
    #[arg(long)]
    pub auto_answer: bool,
    /// Send this WAV file instead of the microphone (repeated).
    #[arg(long, value_name = "FILE.wav")]
    pub play: Option<PathBuf>,
    /// Write what we receive to this WAV file (48 kHz mono) instead of the speaker.
    #[arg(long, value_name = "FILE.wav")]
    pub record: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TransportArg {
    Udp,
    Tcp,
    Tls,
}

/// `sip:HOST[:PORT]` to a socket address (DNS A/AAAA; SRV comes with the SIP endpoint work).
pub fn registrar_addr(uri: &str) -> anyhow::Result<SocketAddr> {
    let rest = uri
        .strip_prefix("sip:")
        .with_context(|| format!("registrar {uri:?} must be a sip: URI"))?;
    let hostport = rest.split([';', '?']).next().unwrap_or_default();
    let hostport = hostport.rsplit('@').next().unwrap_or_default();
    if hostport.is_empty() {
        bail!("registrar {uri:?} has no host");
    }
    let with_port = if hostport.ends_with(']') || !hostport.contains(':') {
        format!("{hostport}:5060")
    } else {
        hostport.to_owned()
    };
    with_port
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve registrar {uri:?}"))?
        .next()
        .with_context(|| format!("registrar {uri:?} resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrar_uris_resolve_with_default_port() {
        assert_eq!(
            registrar_addr("sip:127.0.0.1:5080").expect("ok"),
            "127.0.0.1:5080".parse().expect("a")
        );
        assert_eq!(
            registrar_addr("sip:127.0.0.1").expect("ok"),
            "127.0.0.1:5060".parse().expect("a")
        );
        assert_eq!(
            registrar_addr("sip:[::1]").expect("ok"),
            "[::1]:5060".parse().expect("a")
        );
        assert!(registrar_addr("127.0.0.1:5060").is_err());
        assert!(registrar_addr("sip:").is_err());
    }
}
