//! The practice directory's experts on the line: a SIP user agent on loopback that answers
//! every call to an expert (a consultation, a conference) and speaks recorded speech, so that
//! escalating can be practised with nothing set up.

use std::collections::HashMap;
use std::net::SocketAddr;

use switchboard_media::ports::MediaSockets;
use switchboard_media::sdp::{Direction, LocalSdp};
use switchboard_media::srtp::SrtpPolicy;
use switchboard_media::voice::VoiceConfig;
use switchboard_media::{AudioInput, AudioOutput, MediaSession, SessionConfig};
use switchboard_sip::{AccountConfig, CallId, SipAgent, SipEvent};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::DeskError;

/// Recorded expert speech (espeak-ng, 16 kHz mono), built into the program.
const EXPERT_SPEECH: &[u8] = include_bytes!("../../../assets/practice/expert.wav");

pub struct PracticeExperts {
    local: SocketAddr,
    task: JoinHandle<()>,
}

/// One answered expert call: our SDP side and its media.
struct Answered {
    sdp: LocalSdp,
    media: MediaSession,
}

impl PracticeExperts {
    /// Answers calls from `agent` (the engine's user agent) only.
    pub async fn start(agent: SocketAddr) -> Result<Self, DeskError> {
        let mut account = AccountConfig::new(crate::directory::PRACTICE_EXPERTS_USER);
        account.display_name = Some("Practice expert".into());
        account.trusted_peer = Some(agent);
        let (line, events) = SipAgent::start(account).await?;
        let local = line.local_addr();
        let task = tokio::spawn(answer_every_call(line, events));
        Ok(Self { local, task })
    }

    /// Where the practice directory's targets point.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for PracticeExperts {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer_every_call(line: SipAgent, mut events: mpsc::UnboundedReceiver<SipEvent>) {
    let mut calls: HashMap<CallId, Answered> = HashMap::new();
    while let Some(event) = events.recv().await {
        match event {
            SipEvent::Incoming { call, offer, .. } => match answer(&line, &call, &offer) {
                Ok(answered) => {
                    calls.insert(call, answered);
                }
                Err(e) => {
                    tracing::warn!("practice expert: {e}");
                    let _ = line.reject(&call, 488);
                }
            },
            // Held and resumed, joined to a conference: follow the offer, keep the call up.
            SipEvent::Reoffer { call, offer } => {
                if let Some(answered) = calls.get_mut(&call) {
                    let reply = match offer {
                        Some(offer) => answered
                            .sdp
                            .answer(&offer, Direction::SendRecv)
                            .map(|(body, negotiated)| {
                                answered.media.renegotiate(negotiated);
                                body
                            })
                            .map_err(|_| 488),
                        None => Ok(answered.sdp.offer(Direction::SendRecv)),
                    };
                    let _ = line.answer_reoffer(&call, reply);
                }
            }
            SipEvent::Ended { call, .. } => {
                if let Some(answered) = calls.remove(&call) {
                    answered.media.stop();
                }
            }
            _ => {}
        }
    }
}

fn answer(line: &SipAgent, call: &CallId, offer: &str) -> Result<Answered, DeskError> {
    let sockets = MediaSockets::bind(line.local_addr().ip())?;
    let mut sdp = LocalSdp::secured(sockets.rtp_addr()?, SrtpPolicy::Offer)?;
    let (body, negotiated) = sdp.answer(offer, Direction::SendRecv)?;
    line.answer(call, &body)?;
    let media = MediaSession::start(SessionConfig {
        sockets,
        negotiated,
        input: AudioInput::Embedded {
            name: "practice expert",
            wav: EXPERT_SPEECH,
        },
        output: AudioOutput::Discard,
        listener: None,
        voice: VoiceConfig::default(),
    })?;
    Ok(Answered { sdp, media })
}
