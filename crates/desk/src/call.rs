//! One call as the engine holds it: what the UI sees, plus the SDP and media it owns.

use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_media::ports::MediaSockets;
use switchboard_media::sdp::{Direction, LocalSdp};
use switchboard_media::MediaSession;
use switchboard_sip::CallId;

use crate::snapshot::{CallDirection, CallPhase, CallView};

/// A hold or resume re-INVITE of ours waiting for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldChange {
    Hold,
    Resume,
}

pub struct Call {
    pub view: CallView,
    /// The remote SDP offer of an inbound call, kept until the agent answers.
    pub offer: Option<String>,
    /// Our RTP and RTCP sockets, bound when we made the offer and waiting for the answer.
    pub socket: Option<MediaSockets>,
    /// Our side of the SDP, once we have offered or answered.
    pub sdp: Option<LocalSdp>,
    pub media: Option<MediaSession>,
    pub hold_change: Option<HoldChange>,
    /// Resume as soon as the hold in flight completes (the consultation ended meanwhile).
    pub resume_after_hold: bool,
    /// An attended transfer whose transferee may not know Replaces: on failure, try once
    /// more as a blind transfer to this target.
    pub blind_fallback: Option<String>,
    /// The transfer succeeded: the call's end is its hand-over, not a hang-up.
    pub transferred: bool,
    /// The call this one replaces (INVITE with Replaces); it ends once this is answered.
    pub replaces: Option<CallId>,
}

impl Call {
    pub fn inbound(
        id: CallId,
        remote: String,
        display_name: Option<String>,
        offer: String,
    ) -> Self {
        Self::new(
            CallView::new(
                id,
                CallDirection::Inbound,
                CallPhase::Ringing,
                remote,
                display_name,
                crate::engine::now_ms(),
            ),
            Some(offer),
            None,
        )
    }

    pub fn outbound(id: CallId, remote: String, socket: MediaSockets, sdp: LocalSdp) -> Self {
        let mut call = Self::new(
            CallView::new(
                id,
                CallDirection::Outbound,
                CallPhase::Dialing,
                remote,
                None,
                crate::engine::now_ms(),
            ),
            None,
            Some(socket),
        );
        call.sdp = Some(sdp);
        call
    }

    fn new(view: CallView, offer: Option<String>, socket: Option<MediaSockets>) -> Self {
        Self {
            view,
            offer,
            socket,
            sdp: None,
            media: None,
            hold_change: None,
            resume_after_hold: false,
            blind_fallback: None,
            transferred: false,
            replaces: None,
        }
    }

    pub fn connect(&mut self, media: MediaSession, now: SystemTime) {
        self.media = Some(media);
        self.connected(now);
    }

    /// Answered, on media already running (early media).
    pub fn connected(&mut self, now: SystemTime) {
        self.view.phase = CallPhase::Connected;
        self.view.connected_at_ms = now
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis() as u64);
    }

    /// What we ask for in our SDP: sendonly while we hold the call (RFC 6337 §5.3).
    pub fn wish(&self) -> Direction {
        if self.view.held {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        }
    }
}
