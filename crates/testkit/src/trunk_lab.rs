//! The usual setting of a call-handling test: Kamailio as the trunk, which also takes calls
//! from a carrier peering by address ([`CARRIER`], where sipp plays customers), and one
//! registered `switchboard-cli` agent (`agent1`) that plays room tone and records nothing.

use std::path::{Path, PathBuf};

use crate::cli_agent::CliAgent;
use crate::kamailio::{Kamailio, Setup};

/// Where the customers' carrier hands calls to the trunk from.
pub const CARRIER: &str = "127.0.0.2";

pub struct TrunkLab {
    pub out: PathBuf,
    pub kamailio: Kamailio,
    pub agent: CliAgent,
    /// Where the agent takes SIP.
    pub agent_sip: std::net::SocketAddr,
}

impl TrunkLab {
    /// Starts the trunk and the agent (`binary`, with `extra` arguments) and waits until the
    /// agent is registered.
    pub fn start(test: &str, binary: &Path, extra: &[&str]) -> Self {
        let out = crate::output::dir(test);
        let kamailio = Kamailio::launch(
            &out.join("kamailio"),
            &Setup {
                users: &[("agent1", "agent-secret")],
                carrier: Some(CARRIER.parse().expect("carrier address")),
                ..Setup::default()
            },
        );
        let tone = crate::audio::room_tone(&out, "room", 2, 1);
        let mut args = vec![
            "--play",
            tone.to_str().expect("utf-8 path"),
            "--record",
            "/dev/null",
        ];
        args.extend_from_slice(extra);
        let mut agent =
            CliAgent::register(binary, &kamailio.uri(), "agent1", "agent-secret", &args);
        let agent_sip = agent.wait_ready();
        agent.wait("registered", 10);
        Self {
            out,
            kamailio,
            agent,
            agent_sip,
        }
    }

    /// The trunk as sipp's target: `host:port`.
    pub fn trunk(&self) -> String {
        format!("127.0.0.1:{}", self.kamailio.port)
    }
}
