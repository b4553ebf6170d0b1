//! What the UI renders: the engine's state as plain data, replaced whole on every change.

use serde::Serialize;
use switchboard_media::audio::catalog::DeviceList;
use switchboard_media::MediaStats;
use switchboard_sip::CallId;

use crate::availability::AgentState;
use crate::devices::DeviceChoice;
use crate::directory::Expert;
use crate::screen_pop::CustomerLookup;
use crate::settings_view::SettingsView;
use crate::teams_link::TeamsView;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum RegistrationView {
    /// Not registered yet (starting).
    Connecting,
    Registered {
        #[cfg_attr(feature = "ipc", ts(type = "number"))]
        expires: u64,
    },
    #[serde(rename_all = "camelCase")]
    Failed {
        status: Option<u16>,
        reason: String,
        #[cfg_attr(feature = "ipc", ts(type = "number"))]
        retry_in: u64,
    },
    /// No trunk configured: the practice line is the only caller.
    Practice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum CallDirection {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum CallPhase {
    /// Inbound, waiting for the agent.
    Ringing,
    /// Outbound, waiting for the far end.
    Dialing,
    Connected,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    pub id: CallId,
    pub direction: CallDirection,
    pub phase: CallPhase,
    /// The other party's SIP URI.
    pub remote: String,
    /// The other party's display name as sent: untrusted text, to be shown as text.
    pub display_name: Option<String>,
    /// Milliseconds since the Unix epoch when the call connected, for the UI's timer.
    #[cfg_attr(feature = "ipc", ts(type = "number | null"))]
    pub connected_at_ms: Option<u64>,
    /// We have put the call on hold.
    pub held: bool,
    /// The agent's microphone is muted on this call.
    pub muted: bool,
    /// The other party has put us on hold.
    pub remote_held: bool,
    /// A transfer in progress: where to, and the last status reported.
    pub transfer: Option<TransferView>,
    /// On a consult call: the caller's call it consults for.
    pub consult_for: Option<CallId>,
    /// Joined with the other call in a three-way conference.
    pub conference: bool,
    /// The media's quality so far (loss, jitter, round trip, MOS), renewed every 2 s.
    pub quality: Option<MediaStats>,
    /// Wall-clock ms when the call was offered to us (or dialled).
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub offered_at_ms: u64,
    /// The other party's number in E.164, when it is one.
    pub phone: Option<String>,
    /// The screen pop.
    pub customer: CustomerLookup,
    /// The agent's notes on the call, as last saved.
    pub notes: String,
    pub disposition: Option<String>,
}

impl CallView {
    pub fn new(
        id: CallId,
        direction: CallDirection,
        phase: CallPhase,
        remote: String,
        display_name: Option<String>,
        offered_at_ms: u64,
    ) -> Self {
        Self {
            id,
            direction,
            phase,
            remote,
            display_name,
            connected_at_ms: None,
            held: false,
            muted: false,
            remote_held: false,
            transfer: None,
            consult_for: None,
            conference: false,
            quality: None,
            offered_at_ms,
            phone: None,
            customer: CustomerLookup::NotANumber,
            notes: String::new(),
            disposition: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TransferView {
    pub target: String,
    /// The status of the transferee's call to the target, as last reported (100, 180, 200...).
    pub status: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub registration: RegistrationView,
    pub account: String,
    pub calls: Vec<CallView>,
    /// The sound devices present, and the ones the agent chose.
    pub devices: DeviceList,
    pub chosen_devices: DeviceChoice,
    /// The agent's state, and since when (wall-clock ms).
    pub agent: AgentState,
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub agent_since_ms: u64,
    /// The call just ended, kept through wrap-up for its notes and disposition.
    pub after_call: Option<CallView>,
    /// What the organization's policy offers the agent.
    pub policy: PolicyView,
    /// The experts to escalate to, with their presence.
    pub directory: Vec<Expert>,
    /// The UI's language from the settings (a BCP 47 tag); `None`: the system's.
    pub language: Option<String>,
    /// Microsoft 365 (sign-in, presence, directory), when `[teams]` is configured.
    pub teams: Option<TeamsView>,
    /// The settings in effect, those the machine policy locks marked.
    pub settings: SettingsView,
}

/// The agent-state and after-call choices the policy gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PolicyView {
    pub not_ready_reasons: Vec<String>,
    pub dispositions: Vec<String>,
    pub disposition_required: bool,
}
