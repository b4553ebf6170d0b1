//! What the agent and the far end do to a connected call: hold and resume (re-INVITE), DTMF,
//! and blind transfer. Each handler turns one intent or one SIP event into SDP, media changes
//! and [`EngineEvent`]s on the engine task.

use switchboard_media::sdp::Direction;
use switchboard_sip::CallId;

use crate::call::{Call, HoldChange};
use crate::engine::EngineTask;
use crate::error::DeskError;
use crate::event::EngineEvent;
use crate::snapshot::{CallPhase, TransferView};

impl EngineTask {
    fn connected(&mut self, id: &CallId) -> Result<&mut Call, DeskError> {
        let call = self.calls.get_mut(id).ok_or(DeskError::NoSuchCall)?;
        if call.view.phase != CallPhase::Connected {
            return Err(DeskError::Command(format!("call {id} is not connected")));
        }
        Ok(call)
    }

    /// Holds (`hold`) or resumes a call with a re-INVITE. On hold the microphone is cut at
    /// once: what the agent says while the customer waits must never reach them, even if the
    /// far end is slow to answer. If the re-INVITE fails, everything is put back.
    pub(crate) fn hold(&mut self, id: &CallId, hold: bool) -> Result<(), DeskError> {
        let call = self.connected(id)?;
        if call.hold_change.is_some() {
            return Err(DeskError::Command(format!(
                "a hold or resume of call {id} is already in progress"
            )));
        }
        if call.view.held == hold {
            let state = if hold { "on hold" } else { "not on hold" };
            return Err(DeskError::Command(format!("call {id} is already {state}")));
        }
        let wish = if hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        let offer = call
            .sdp
            .as_mut()
            .ok_or_else(|| DeskError::Command(format!("call {id} has no media")))?
            .offer(wish);
        if hold {
            if let Some(media) = &call.media {
                media.hold(true);
            }
        }
        call.hold_change = Some(if hold {
            HoldChange::Hold
        } else {
            HoldChange::Resume
        });
        if let Err(e) = self.agent.reinvite(id, offer) {
            self.undo_hold_change(id);
            return Err(e.into());
        }
        Ok(())
    }

    pub(crate) fn on_renegotiated(&mut self, id: &CallId, answer: &str) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Some(change) = call.hold_change.take() else {
            return;
        };
        let offered = if change == HoldChange::Hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        let negotiated = call.sdp.as_mut().map(|s| s.read_answer(answer, offered));
        match negotiated {
            Some(Ok(negotiated)) => {
                call.view.held = change == HoldChange::Hold;
                if let Some(media) = call.media.as_mut() {
                    media.hold(call.view.held);
                    media.renegotiate(negotiated);
                }
                let resume = std::mem::take(&mut call.resume_after_hold);
                let call = id.clone();
                self.emit(if change == HoldChange::Hold {
                    EngineEvent::Held { call }
                } else {
                    EngineEvent::Resumed { call }
                });
                if resume && change == HoldChange::Hold {
                    if let Err(e) = self.hold(id, false) {
                        tracing::warn!(call = %id, "cannot take the call back off hold: {e}");
                    }
                }
            }
            Some(Err(e)) => {
                // The far end accepted but its SDP is unusable: keep the media as it was.
                call.hold_change = Some(change);
                self.undo_hold_change(id);
                self.emit(EngineEvent::HoldFailed {
                    call: id.clone(),
                    status: None,
                    reason: format!("unusable answer: {e}"),
                });
            }
            None => {}
        }
    }

    pub(crate) fn on_renegotiation_failed(
        &mut self,
        id: &CallId,
        status: Option<u16>,
        reason: String,
    ) {
        if self.undo_hold_change(id) {
            self.emit(EngineEvent::HoldFailed {
                call: id.clone(),
                status,
                reason,
            });
        }
        // 481 and 408 mean the dialog is gone (RFC 3261 §14.1): end the call properly.
        if matches!(status, Some(481) | Some(408)) {
            let _ = self.agent.hangup(id);
        }
    }

    /// Puts a call back as it was before a failed hold or resume. False if none was pending.
    fn undo_hold_change(&mut self, id: &CallId) -> bool {
        let Some(call) = self.calls.get_mut(id) else {
            return false;
        };
        let Some(change) = call.hold_change.take() else {
            return false;
        };
        call.resume_after_hold = false;
        if change == HoldChange::Hold {
            if let Some(media) = &call.media {
                media.hold(false);
            }
        }
        true
    }

    /// The far end's re-INVITE or UPDATE: answer from our side's wish (sendonly while we hold),
    /// follow its direction, and report when it holds or resumes us.
    pub(crate) fn on_reoffer(&mut self, id: &CallId, offer: Option<&str>) {
        let Some(call) = self.calls.get_mut(id) else {
            let _ = self.agent.answer_reoffer(id, Err(481));
            return;
        };
        let wish = call.wish();
        let Some(sdp) = call.sdp.as_mut() else {
            let _ = self.agent.answer_reoffer(id, Err(488));
            return;
        };
        let Some(offer) = offer else {
            // A re-INVITE without SDP asks us to offer; the answer comes in the ACK, which we
            // take to confirm the session as it is.
            let body = sdp.offer(wish);
            let _ = self.agent.answer_reoffer(id, Ok(body));
            return;
        };
        let (body, negotiated) = match sdp.answer(offer, wish) {
            Ok(answered) => answered,
            Err(e) => {
                tracing::warn!(call = %id, "refused a new offer: {e}");
                let _ = self.agent.answer_reoffer(id, Err(488));
                return;
            }
        };
        let remote_held = !negotiated.remote_direction.receives();
        if let Some(media) = call.media.as_mut() {
            media.renegotiate(negotiated);
        }
        let changed = call.view.remote_held != remote_held;
        call.view.remote_held = remote_held;
        if let Err(e) = self.agent.answer_reoffer(id, Ok(body)) {
            tracing::debug!(call = %id, "answering a new offer: {e}");
        }
        if changed {
            let call = id.clone();
            self.emit(if remote_held {
                EngineEvent::RemoteHold { call }
            } else {
                EngineEvent::RemoteResume { call }
            });
        }
    }

    /// Mutes or unmutes the agent's microphone on a call (no signalling: the call goes on).
    pub(crate) fn mute(&mut self, id: &CallId, muted: bool) -> Result<(), DeskError> {
        let call = self.connected(id)?;
        if let Some(media) = &call.media {
            media.mute(muted);
        }
        call.view.muted = muted;
        Ok(())
    }

    /// RFC 4733 events when the peer takes them, else SIP INFO.
    pub(crate) fn send_dtmf(&mut self, id: &CallId, keys: &str) -> Result<(), DeskError> {
        let call = self.connected(id)?;
        let media = call
            .media
            .as_ref()
            .ok_or_else(|| DeskError::Command(format!("call {id} has no media")))?;
        let via = if media.has_telephone_events() {
            media.send_dtmf(keys)?;
            "rtp"
        } else {
            self.agent.send_dtmf_info(id, keys)?;
            "info"
        };
        self.emit(EngineEvent::DtmfSent {
            call: id.clone(),
            keys: keys.to_owned(),
            via: via.to_owned(),
        });
        Ok(())
    }

    pub(crate) fn transfer(&mut self, id: &CallId, target: String) -> Result<(), DeskError> {
        if self.connected(id)?.view.transfer.is_some() {
            return Err(DeskError::Command(format!(
                "call {id} is already being transferred"
            )));
        }
        self.agent.transfer(id, &target)?;
        let call = self.connected(id)?;
        call.view.transfer = Some(TransferView {
            target,
            status: None,
        });
        Ok(())
    }

    /// Follows the transferee's NOTIFYs: on success our leg ends (BYE, RFC 5589 §6.1); on
    /// failure the caller stays with us, as they were.
    pub(crate) fn on_transfer_progress(&mut self, id: &CallId, status: u16, done: bool) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Some(view) = call.view.transfer.as_mut() else {
            return;
        };
        view.status = Some(status);
        let target = view.target.clone();
        let succeeded = (200..300).contains(&status);
        if done {
            call.view.transfer = None;
            call.transferred = succeeded;
        }
        self.emit(EngineEvent::TransferProgress {
            call: id.clone(),
            status,
        });
        if !done {
            return;
        }
        if succeeded {
            self.emit(EngineEvent::Transferred {
                call: id.clone(),
                target,
            });
            self.after_transfer(id);
            // The transferee may have hung up already; then this finds no call, which is fine.
            let _ = self.agent.hangup(id);
        } else if let Some(target) = self.calls.get_mut(id).and_then(|c| c.blind_fallback.take()) {
            // Some phones (baresip 1.0 among them) cannot follow a Refer-To carrying
            // Replaces; the expert can still take the caller as a new call.
            tracing::info!(call = %id, status, "attended transfer refused; trying it blind");
            if let Err(e) = self.transfer(id, target) {
                self.emit(EngineEvent::Error {
                    message: format!("transfer: {e}"),
                });
            }
        } else {
            self.emit(EngineEvent::TransferFailed {
                call: id.clone(),
                status,
            });
        }
    }
}
