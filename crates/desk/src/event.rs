//! Facts the engine reports, in the order they happen. The CLI prints each as one JSON line; the
//! desktop shell forwards them to the UI.

use serde::Serialize;
use switchboard_media::audio::catalog::DeviceList;
use switchboard_media::audio::catalog::Direction as DeviceDirection;
use switchboard_media::MediaStats;
use switchboard_sip::{CallId, EndReason};

use crate::availability::{AgentState, Cause};

/// How a call to an expert went, as the agent is told and the log keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ConsultOutcome {
    /// The expert took the call (and it has ended since).
    Answered,
    /// Busy (486, 600) or declined (603).
    Busy,
    /// Rang out, or nobody could take it (408, 480, no answer at all).
    NoAnswer,
    /// The agent went back to the caller before the expert answered.
    Cancelled,
    /// Refused or failed otherwise (a wrong number, the trunk, media).
    Failed,
}

impl ConsultOutcome {
    /// From how the expert's leg ended and whether it had been answered.
    pub fn of(reason: &EndReason, answered: bool) -> Self {
        match reason {
            _ if answered => Self::Answered,
            EndReason::Rejected {
                status: 486 | 600 | 603,
            } => Self::Busy,
            EndReason::Rejected { status: 408 | 480 } | EndReason::Timeout => Self::NoAnswer,
            EndReason::LocalHangup => Self::Cancelled,
            _ => Self::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// Listening for SIP at this address (the practice line, or before registering).
    Ready {
        local: String,
        practice: bool,
    },
    Registered {
        #[cfg_attr(feature = "ipc", ts(type = "number"))]
        expires: u64,
    },
    #[serde(rename_all = "camelCase")]
    RegistrationFailed {
        status: Option<u16>,
        reason: String,
        #[cfg_attr(feature = "ipc", ts(type = "number"))]
        retry_in: u64,
    },
    #[serde(rename_all = "camelCase")]
    Incoming {
        call: CallId,
        caller: String,
        display_name: Option<String>,
        /// The call this one takes over (the caller was handed to us by that call's other
        /// party): it is answered at once, and the replaced call ends with `replaced`.
        replaces: Option<CallId>,
    },
    /// A call arrived while the agent was busy and call waiting is off: refused with 486.
    #[serde(rename_all = "camelCase")]
    RefusedBusy {
        caller: String,
        display_name: Option<String>,
    },
    /// A call's sound device changed: the chosen one went away and the default stands in
    /// (`chosen: false`), or the chosen one is back or was picked mid-call.
    DeviceChanged {
        call: CallId,
        direction: DeviceDirection,
        device: String,
        chosen: bool,
    },
    /// A connected call's media quality so far, every 2 s (see `CallView::quality`).
    CallQuality {
        call: CallId,
        stats: MediaStats,
    },
    /// The sound devices present changed (one plugged in or pulled out), or were first read.
    AudioDevices {
        devices: DeviceList,
    },
    /// A call was refused with 488 before it rang: its media cannot be agreed (no codec in
    /// common, or not encrypted when SRTP is required). `reason` says which.
    #[serde(rename_all = "camelCase")]
    RefusedUnacceptable {
        caller: String,
        display_name: Option<String>,
        reason: String,
    },
    /// An outgoing call is alerting at the far end.
    Ringing {
        call: CallId,
    },
    /// An outgoing call plays the far end's early media (ringback, an announcement, an IVR)
    /// before it is answered. The agent hears it; the microphone stays closed until the answer.
    EarlyMedia {
        call: CallId,
    },
    Answered {
        call: CallId,
    },
    Ended {
        call: CallId,
        reason: EndReason,
        stats: MediaStats,
    },
    /// We put the call on hold (the far end accepted our re-INVITE).
    Held {
        call: CallId,
    },
    /// We took the call off hold.
    Resumed {
        call: CallId,
    },
    /// Our hold or resume failed; the call is as it was.
    HoldFailed {
        call: CallId,
        status: Option<u16>,
        reason: String,
    },
    /// The other party put us on hold.
    RemoteHold {
        call: CallId,
    },
    /// The other party took us off hold.
    RemoteResume {
        call: CallId,
    },
    /// Keys we sent, and how (`rtp` for RFC 4733 events, `info` for SIP INFO).
    DtmfSent {
        call: CallId,
        keys: String,
        via: String,
    },
    /// The other party pressed a key.
    DtmfReceived {
        call: CallId,
        key: String,
    },
    /// A blind transfer we asked for moved on: the status of the transferee's call to the
    /// target (or of our REFER, when it was refused).
    TransferProgress {
        call: CallId,
        status: u16,
    },
    /// The transfer succeeded: the caller is now with the target; our leg ends.
    Transferred {
        call: CallId,
        target: String,
    },
    /// The transfer failed; the caller is still on our call.
    TransferFailed {
        call: CallId,
        status: u16,
    },
    /// The caller is on hold and the consult call to `target` is being placed.
    ConsultStarted {
        call: CallId,
        consult: CallId,
        target: String,
    },
    /// The consultation is over without a transfer (cancelled, or the expert did not take
    /// it); the caller is being taken off hold. `outcome` says how the expert's leg went.
    ConsultEnded {
        call: CallId,
        consult: CallId,
        target: String,
        outcome: ConsultOutcome,
    },
    /// The caller and the consulted party are joined with the agent.
    ConferenceStarted {
        call: CallId,
        consult: CallId,
    },
    /// The agent's state changed (by the agent, a call, wrap-up's timer, or a restart).
    #[serde(rename_all = "camelCase")]
    AgentState {
        state: AgentState,
        from: AgentState,
        #[cfg_attr(feature = "ipc", ts(type = "number"))]
        at_ms: u64,
        cause: Cause,
    },
    /// A call was refused with 480 before it rang: the agent is not taking calls.
    #[serde(rename_all = "camelCase")]
    RefusedUnavailable {
        caller: String,
        display_name: Option<String>,
        state: AgentState,
    },
    /// A command from the UI or stdin could not be carried out.
    Error {
        message: String,
    },
}

#[cfg(test)]
mod consult_outcome_tests {
    use super::*;

    #[test]
    fn the_consult_outcome_follows_the_expert_legs_end() {
        let of = ConsultOutcome::of;
        assert_eq!(of(&EndReason::RemoteHangup, true), ConsultOutcome::Answered);
        assert_eq!(
            of(&EndReason::Rejected { status: 486 }, false),
            ConsultOutcome::Busy
        );
        assert_eq!(
            of(&EndReason::Rejected { status: 603 }, false),
            ConsultOutcome::Busy
        );
        assert_eq!(
            of(&EndReason::Rejected { status: 480 }, false),
            ConsultOutcome::NoAnswer
        );
        assert_eq!(of(&EndReason::Timeout, false), ConsultOutcome::NoAnswer);
        assert_eq!(
            of(&EndReason::LocalHangup, false),
            ConsultOutcome::Cancelled
        );
        assert_eq!(
            of(&EndReason::Rejected { status: 404 }, false),
            ConsultOutcome::Failed
        );
    }
}
