//! Facts the engine reports, in the order they happen. The CLI prints each as one JSON line; the
//! desktop shell forwards them to the UI.

use serde::Serialize;
use switchboard_media::MediaStats;
use switchboard_sip::{CallId, EndReason};

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
    },
    /// An outgoing call is alerting at the far end.
    Ringing {
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
    /// A command from the UI or stdin could not be carried out.
    Error {
        message: String,
    },
}
