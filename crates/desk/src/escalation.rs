//! Escalation to an expert: consult (the caller held, the expert called), then attended
//! transfer, a three-way conference, or back to the caller. One consultation at a time.

use std::time::Duration;

use switchboard_media::MediaSession;
use switchboard_sip::{CallId, EndReason};

use crate::call::HoldChange;
use crate::engine::{Command, EngineTask};
use crate::error::DeskError;
use crate::event::{ConsultOutcome, EngineEvent};
use crate::snapshot::{CallPhase, TransferView};

/// How long the expert's phone gets to end our consult leg itself after an attended transfer
/// (RFC 5589 §7.1 has the target do it); one that does not know Replaces never will.
const CONSULT_LEG_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub(crate) struct Consult {
    pub customer: CallId,
    pub expert: CallId,
    pub target: String,
}

impl EngineTask {
    pub(crate) fn consult(&mut self, customer: &CallId, target: String) -> Result<(), DeskError> {
        if self.consult.is_some() {
            return Err(DeskError::Command(
                "a consultation is already in progress".into(),
            ));
        }
        let call = self.calls.get(customer).ok_or(DeskError::NoSuchCall)?;
        if call.view.phase != CallPhase::Connected {
            return Err(DeskError::Command(format!(
                "call {customer} is not connected"
            )));
        }
        if !call.view.held {
            self.hold(customer, true)?;
        }
        let expert = self.dial(&target)?;
        if let Some(call) = self.calls.get_mut(&expert) {
            call.view.consult_for = Some(customer.clone());
        }
        self.consult = Some(Consult {
            customer: customer.clone(),
            expert: expert.clone(),
            target: target.clone(),
        });
        self.emit(EngineEvent::ConsultStarted {
            call: customer.clone(),
            consult: expert,
            target,
        });
        Ok(())
    }

    /// The consultation whose expert has answered.
    fn answered_consult(&self) -> Result<Consult, DeskError> {
        let consult = self
            .consult
            .clone()
            .ok_or_else(|| DeskError::Command("no consultation in progress".into()))?;
        let answered = self
            .calls
            .get(&consult.expert)
            .is_some_and(|c| c.view.phase == CallPhase::Connected);
        if !answered {
            return Err(DeskError::Command(format!(
                "{} has not answered the consult call",
                consult.target
            )));
        }
        Ok(consult)
    }

    pub(crate) fn complete(&mut self) -> Result<(), DeskError> {
        let consult = self.answered_consult()?;
        let customer = self
            .calls
            .get(&consult.customer)
            .ok_or(DeskError::NoSuchCall)?;
        if customer.view.transfer.is_some() {
            return Err(DeskError::Command(
                "the transfer is already under way".into(),
            ));
        }
        self.agent
            .transfer_attended(&consult.customer, &consult.expert)?;
        if let Some(call) = self.calls.get_mut(&consult.customer) {
            call.blind_fallback = Some(consult.target.clone());
            call.view.transfer = Some(TransferView {
                target: consult.target,
                status: None,
            });
        }
        Ok(())
    }

    pub(crate) fn cancel_consult(&mut self) -> Result<(), DeskError> {
        let consult = self
            .consult
            .as_ref()
            .ok_or_else(|| DeskError::Command("no consultation in progress".into()))?;
        // Ends the consult leg (CANCEL while ringing, BYE once answered); its Ended event
        // brings the caller back (see `on_call_gone`).
        self.agent.hangup(&consult.expert)?;
        Ok(())
    }

    pub(crate) fn conference(&mut self) -> Result<(), DeskError> {
        let consult = self.answered_consult()?;
        let joined = self
            .calls
            .get(&consult.customer)
            .is_some_and(|c| c.view.conference);
        if joined {
            return Err(DeskError::Command("already in a conference".into()));
        }
        let customer_held = self
            .calls
            .get(&consult.customer)
            .is_some_and(|c| c.view.held);
        if customer_held {
            self.hold(&consult.customer, false)?;
        }
        let (Some(customer), Some(expert)) = (
            self.calls
                .get(&consult.customer)
                .and_then(|c| c.media.as_ref()),
            self.calls
                .get(&consult.expert)
                .and_then(|c| c.media.as_ref()),
        ) else {
            return Err(DeskError::Command(
                "a call of the conference has no media".into(),
            ));
        };
        MediaSession::bridge(customer, expert);
        for id in [&consult.customer, &consult.expert] {
            if let Some(call) = self.calls.get_mut(id) {
                call.view.conference = true;
            }
        }
        self.emit(EngineEvent::ConferenceStarted {
            call: consult.customer,
            consult: consult.expert,
        });
        Ok(())
    }

    /// An attended transfer succeeded on `customer`: its consult leg goes too, by the expert's
    /// phone if it knows Replaces, else by us after a grace period.
    pub(crate) fn after_transfer(&mut self, customer: &CallId) {
        let Some(consult) = self.consult.take().filter(|c| &c.customer == customer) else {
            return;
        };
        if let Some(call) = self.calls.get_mut(&consult.expert) {
            call.transferred = true;
        }
        let commands = self.commands.clone();
        tokio::spawn(async move {
            tokio::time::sleep(CONSULT_LEG_GRACE).await;
            let _ = commands.send(Command::DropConsultLeg(consult.expert));
        });
    }

    /// A call ended (`how`: its end, and whether it had been answered): if it was part of the
    /// consultation, the consultation ends with it.
    pub(crate) fn on_call_gone(&mut self, gone: &CallId, how: (&EndReason, bool)) {
        let Some(consult) = self.consult.clone() else {
            return;
        };
        if gone == &consult.expert {
            self.consult = None;
            if let Some(customer) = self.calls.get_mut(&consult.customer) {
                customer.view.conference = false;
                // Back to the caller, unless they are being transferred away; a hold still
                // in flight is undone when it completes.
                if customer.view.transfer.is_none() {
                    if customer.hold_change == Some(HoldChange::Hold) {
                        customer.resume_after_hold = true;
                    } else if customer.view.held {
                        let _ = self.hold(&consult.customer, false);
                    }
                }
            }
            let outcome = ConsultOutcome::of(how.0, how.1);
            tracing::info!(call = %consult.customer, expert = %consult.target, ?outcome, "the consultation ended");
            self.emit(EngineEvent::ConsultEnded {
                call: consult.customer,
                consult: consult.expert,
                target: consult.target,
                outcome,
            });
        } else if gone == &consult.customer {
            self.consult = None;
            if let Some(expert) = self.calls.get_mut(&consult.expert) {
                expert.view.consult_for = None;
                expert.view.conference = false;
            }
        }
    }
}
