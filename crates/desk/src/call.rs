//! One call as the engine holds it: what the UI sees, plus the media it owns.

use std::net::UdpSocket;
use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_media::MediaSession;
use switchboard_sip::CallId;

use crate::snapshot::{CallDirection, CallPhase, CallView};

pub struct Call {
    pub view: CallView,
    /// The remote SDP offer of an inbound call, kept until the agent answers.
    pub offer: Option<String>,
    /// Our RTP socket, bound when we made the offer and waiting for the answer.
    pub socket: Option<UdpSocket>,
    pub media: Option<MediaSession>,
}

impl Call {
    pub fn inbound(
        id: CallId,
        remote: String,
        display_name: Option<String>,
        offer: String,
    ) -> Self {
        Self {
            view: CallView {
                id,
                direction: CallDirection::Inbound,
                phase: CallPhase::Ringing,
                remote,
                display_name,
                connected_at_ms: None,
            },
            offer: Some(offer),
            socket: None,
            media: None,
        }
    }

    pub fn outbound(id: CallId, remote: String, socket: UdpSocket) -> Self {
        Self {
            view: CallView {
                id,
                direction: CallDirection::Outbound,
                phase: CallPhase::Dialing,
                remote,
                display_name: None,
                connected_at_ms: None,
            },
            offer: None,
            socket: Some(socket),
            media: None,
        }
    }

    pub fn connect(&mut self, media: MediaSession, now: SystemTime) {
        self.media = Some(media);
        self.view.phase = CallPhase::Connected;
        self.view.connected_at_ms = now
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis() as u64);
    }
}
