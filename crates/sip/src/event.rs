//! What the user agent reports to the layer above.

use std::fmt;

use serde::Serialize;

/// A call, named by its SIP Call-ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS), ts(type = "string"))]
pub struct CallId(pub String);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EndReason {
    /// We hung up.
    LocalHangup,
    /// The other party hung up.
    RemoteHangup,
    /// The caller gave up before we answered.
    Cancelled,
    /// We declined an incoming call.
    Declined,
    /// The far end (or the trunk) refused or failed our call with this status.
    Rejected { status: u16 },
    /// No answer to our requests.
    Timeout,
    /// A call that replaced this one was answered (an INVITE with Replaces: the party was
    /// handed to us by the other end of this call).
    Replaced,
    /// Neither end refreshed the session in time (RFC 4028): the far end is gone.
    SessionExpired,
    /// We handed the call to someone else (a transfer succeeded).
    Transferred,
    /// Media could not be set up (no common codec, bad SDP).
    MediaFailed { detail: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipEvent {
    Registered {
        expires_secs: u64,
    },
    RegistrationFailed {
        status: Option<u16>,
        reason: String,
        retry_in_secs: u64,
    },
    Incoming {
        call: CallId,
        from_display: Option<String>,
        from_uri: String,
        offer: String,
        /// The call this one takes the place of (INVITE with Replaces, RFC 3891): answer it
        /// at once; answering ends the replaced call.
        replaces: Option<CallId>,
    },
    /// Our outgoing call was answered with this SDP.
    Answered {
        call: CallId,
        answer: String,
    },
    /// The remote party is alerting.
    Ringing {
        call: CallId,
    },
    /// Our outgoing call has early media (a 18x with SDP: ringback, an announcement, an IVR
    /// before the answer); `answer` is that SDP. The 200's SDP may still change it.
    EarlyMedia {
        call: CallId,
        answer: String,
    },
    /// The dialog is confirmed (ACK received or sent).
    Established {
        call: CallId,
    },
    Ended {
        call: CallId,
        reason: EndReason,
    },
    /// The far end sent a new offer (re-INVITE or UPDATE), or asks for one (a re-INVITE
    /// without SDP): answer with `SipAgent::answer_reoffer`.
    Reoffer {
        call: CallId,
        offer: Option<String>,
    },
    /// Our re-INVITE was accepted with this answer.
    Renegotiated {
        call: CallId,
        answer: String,
    },
    /// Our re-INVITE failed; the session is as it was before.
    RenegotiationFailed {
        call: CallId,
        status: Option<u16>,
        reason: String,
    },
    /// The far end sent a DTMF key by SIP INFO.
    Dtmf {
        call: CallId,
        key: char,
    },
    /// News of a transfer we asked for: the status of the transferee's call to the target
    /// (or of our REFER, when it was refused); `done` when nothing more will come.
    TransferProgress {
        call: CallId,
        status: u16,
        done: bool,
    },
    /// The other party asks us to call `target` instead (blind transfer, RFC 3515), on an
    /// account that accepts transfers; report how it goes with `SipAgent::notify_transfer`.
    TransferRequested {
        call: CallId,
        target: String,
    },
}
