//! The practice line: a simulated customer inside the process that calls the agent over real
//! SIP on loopback and speaks recorded speech, so a newcomer sees the job with nothing set up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use switchboard_media::ports::MediaSockets;
use switchboard_media::sdp::{Direction, LocalSdp};
use switchboard_media::srtp::SrtpPolicy;
use switchboard_media::voice::VoiceConfig;
use switchboard_media::{AudioInput, AudioOutput, MediaSession, SessionConfig};
use switchboard_sip::{AccountConfig, CallId, SipAgent, SipEvent};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

use crate::error::DeskError;

/// Recorded customer speech (espeak-ng, 16 kHz mono), built into the program.
const CUSTOMER_SPEECH: &[u8] = include_bytes!("../../../assets/practice/customer.wav");
/// First call soon after start, so the newcomer sees it at once.
const FIRST_CALL_AFTER: Duration = Duration::from_secs(3);
/// Pause between one practice call ending and the next ringing.
const BETWEEN_CALLS: Duration = Duration::from_secs(12);
/// A practice customer gives up ringing after this, and hangs up a call after this long.
const RING_FOR: Duration = Duration::from_secs(45);
const TALK_FOR: Duration = Duration::from_secs(60);
/// The practice customer's number: a fictional one (555-01xx), seeded in the customer store.
pub const PRACTICE_NUMBER: &str = "+14155550142";

pub struct PracticeLine {
    agent: Arc<SipAgent>,
    events: Arc<Mutex<mpsc::UnboundedReceiver<SipEvent>>>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl PracticeLine {
    /// `agent` is the address the agent's user agent binds (its port is not known yet: trust
    /// goes by address), whose re-INVITEs (hold, conference) the practice customer follows.
    pub async fn start(agent: SocketAddr) -> Result<Self, DeskError> {
        let mut account = AccountConfig::new(PRACTICE_NUMBER);
        account.display_name = Some("Dana Whitfield (practice)".into());
        account.trusted_peer = Some(agent);
        // The agent may hand the practice customer to a practice expert.
        account.accept_transfers = true;
        let (agent, events) = SipAgent::start(account).await?;
        Ok(Self {
            agent: Arc::new(agent),
            events: Arc::new(Mutex::new(events)),
            task: std::sync::Mutex::new(None),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.agent.local_addr()
    }

    /// Calls `user` at `target` shortly, and again after each call ends.
    pub fn call_agent_every(&self, target: SocketAddr, user: &str) {
        let uri = format!("sip:{user}@{target}");
        let agent = self.agent.clone();
        let events = self.events.clone();
        let handle = tokio::spawn(async move {
            tokio::time::sleep(FIRST_CALL_AFTER).await;
            loop {
                if let Err(e) = one_call(&agent, &events, &uri).await {
                    tracing::warn!("practice call: {e}");
                }
                tokio::time::sleep(BETWEEN_CALLS).await;
            }
        });
        if let Ok(mut task) = self.task.lock() {
            *task = Some(handle);
        }
    }
}

impl Drop for PracticeLine {
    fn drop(&mut self) {
        if let Ok(mut task) = self.task.lock() {
            if let Some(t) = task.take() {
                t.abort();
            }
        }
    }
}

async fn one_call(
    agent: &SipAgent,
    events: &Mutex<mpsc::UnboundedReceiver<SipEvent>>,
    uri: &str,
) -> Result<(), DeskError> {
    let (mut sdp, first_offer, socket) = offer(agent)?;
    let mut call = agent.call(uri, &first_offer)?;
    let mut events = events.lock().await;
    let mut socket = Some(socket);
    let mut media: Option<MediaSession> = None;
    // A blind transfer under way: the call to the agent we were transferred from, and our
    // SDP side of it (kept until the new call is answered, in case it is not).
    let mut transferred_from: Option<(CallId, LocalSdp)> = None;
    let deadline = tokio::time::sleep(RING_FOR);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => {
                let _ = agent.hangup(&call);
                // The hang-up's Ended event ends the loop next time round; do not wait again.
                deadline.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(5));
            }
            event = events.recv() => match event {
                Some(SipEvent::Answered { call: c, answer }) if c == call => {
                    if let (Some(sock), Ok(negotiated)) = (socket.take(), sdp.read_answer(&answer, Direction::SendRecv)) {
                        let config = SessionConfig {
                            sockets: sock,
                            negotiated,
                            input: AudioInput::Embedded { name: "practice customer", wav: CUSTOMER_SPEECH },
                            output: AudioOutput::Discard,
                            listener: None,
                            voice: VoiceConfig::default(),
                        };
                        media = Some(MediaSession::start(config)?);
                    }
                    if let Some((from, _)) = transferred_from.take() {
                        let _ = agent.notify_transfer(&from, 200, true);
                    }
                    deadline.as_mut().reset(tokio::time::Instant::now() + TALK_FOR);
                }
                // The agent holds or resumes: follow the offer, so the call stays up.
                Some(SipEvent::Reoffer { call: c, offer }) if c == call => {
                    let answer = match offer {
                        Some(offer) => sdp.answer(&offer, Direction::SendRecv).map(|(body, n)| {
                            if let Some(m) = media.as_mut() {
                                m.renegotiate(n);
                            }
                            body
                        }).map_err(|_| 488),
                        None => Ok(sdp.offer(Direction::SendRecv)),
                    };
                    let _ = agent.answer_reoffer(&call, answer);
                }
                // The agent hands us to an expert: call them, and tell the agent how it goes.
                Some(SipEvent::TransferRequested { call: c, target }) if c == call && transferred_from.is_none() => {
                    let _ = agent.notify_transfer(&call, 100, false);
                    let (new_sdp, new_offer, new_socket) = offer(agent)?;
                    match agent.call(&target, &new_offer) {
                        Ok(to_expert) => {
                            let from = std::mem::replace(&mut call, to_expert);
                            transferred_from = Some((from, std::mem::replace(&mut sdp, new_sdp)));
                            socket = Some(new_socket);
                        }
                        Err(e) => {
                            tracing::warn!("practice customer: transfer to {target}: {e}");
                            let _ = agent.notify_transfer(&call, 503, true);
                        }
                    }
                }
                Some(SipEvent::Ended { call: c, .. }) if c == call => {
                    // The expert never answered: back on the call we were transferred from.
                    match transferred_from.take() {
                        Some((from, old_sdp)) => {
                            let _ = agent.notify_transfer(&from, 480, true);
                            call = from;
                            sdp = old_sdp;
                        }
                        None => break,
                    }
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    drop(media);
    Ok(())
}

/// Fresh media sockets and our encrypted SDP offer on them, as a contact center's trunk would
/// offer, so practice shows what calls will.
fn offer(agent: &SipAgent) -> Result<(LocalSdp, String, MediaSockets), DeskError> {
    let socket = MediaSockets::bind(agent.local_addr().ip())?;
    let mut sdp = LocalSdp::secured(socket.rtp_addr()?, SrtpPolicy::Offer)?;
    let offer = sdp.offer(Direction::SendRecv);
    Ok((sdp, offer, socket))
}
