//! What happens inside established dialogs: state changes become [`SipEvent`]s, and the requests
//! the far end sends mid-call (re-INVITE, UPDATE, INFO, NOTIFY, REFER) are answered here or
//! handed to the layer above to answer.

use std::sync::Arc;
use std::time::Instant;

use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle,
};
use rsipstack::dialog::DialogId;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Method, Request, StatusCode};
use tokio_util::sync::CancellationToken;

use crate::driver::Shared;
use crate::event::{CallId, EndReason, SipEvent};
use crate::session_refresh::too_small;
use crate::{dtmf_relay, sipfrag};

pub(crate) async fn follow_dialogs(
    shared: Arc<Shared>,
    mut states: DialogStateReceiver,
    cancel: CancellationToken,
) {
    loop {
        let state = tokio::select! {
            _ = cancel.cancelled() => return,
            s = states.recv() => match s { Some(s) => s, None => return },
        };
        on_dialog_state(&shared, state).await;
    }
}

async fn on_dialog_state(shared: &Arc<Shared>, state: DialogState) {
    match state {
        DialogState::Early(id, response) => {
            let call = call_of(&id);
            // Our own 180 on an incoming call shows here too, without a body.
            if !response.body.is_empty() {
                let answer = String::from_utf8_lossy(&response.body).into_owned();
                shared.emit(SipEvent::EarlyMedia {
                    call: call.clone(),
                    answer,
                });
            }
            shared.emit(SipEvent::Ringing { call });
        }
        DialogState::Confirmed(id, _) => shared.confirmed(&call_of(&id)),
        // Our INVITE met 422: the INVITE's own outcome calls again or ends the call.
        DialogState::Terminated(_, TerminatedReason::UasOther(status)) if status.code() == 422 => {}
        DialogState::Terminated(id, reason) => {
            let call = call_of(&id);
            let reason = shared
                .local_reason(&call)
                .unwrap_or_else(|| end_reason(reason));
            shared.end(&call, reason);
        }
        DialogState::Updated(id, request, handle) => {
            on_offer(shared, call_of(&id), &request, handle).await
        }
        DialogState::Info(id, request, handle) => {
            on_info(shared, call_of(&id), &request, handle).await
        }
        DialogState::Notify(id, request, handle) => {
            on_notify(shared, call_of(&id), &request, handle).await
        }
        DialogState::Options(_, _, handle) => reply(&handle, StatusCode::OK).await,
        DialogState::Refer(id, request, handle) => {
            on_refer(shared, call_of(&id), &request, handle).await
        }
        DialogState::Message(_, _, handle) | DialogState::Publish(_, _, handle) => {
            reply(&handle, StatusCode::NotImplemented).await
        }
        DialogState::Calling(_) | DialogState::Trying(_) | DialogState::WaitAck(..) => {}
    }
}

/// Being transferred away by the other party: an agent's line declines (the contact center
/// decides where its calls go); an account that accepts transfers takes a blind one, to a
/// plain SIP URI. One with Replaces (attended) is declined: the transferor falls back to blind.
async fn on_refer(
    shared: &Arc<Shared>,
    call: CallId,
    request: &Request,
    handle: TransactionHandle,
) {
    let target = request
        .header_value("Refer-To")
        .and_then(|v| crate::name_addr::parse(&v))
        .map(|na| na.uri)
        .filter(|uri| !uri.contains('?') && uri.to_ascii_lowercase().starts_with("sip"));
    match target {
        Some(target) if shared.config.accept_transfers => {
            reply(&handle, StatusCode::Accepted).await;
            shared.emit(SipEvent::TransferRequested { call, target });
        }
        _ => {
            tracing::info!(%call, "declined a REFER from the far end");
            reply(&handle, StatusCode::Decline).await;
        }
    }
}

/// A re-INVITE or UPDATE: hold, resume, a new address, or a session refresh.
async fn on_offer(
    shared: &Arc<Shared>,
    call: CallId,
    request: &Request,
    handle: TransactionHandle,
) {
    let invite = request.method == Method::Invite;
    if invite && shared.is_reinviting(&call) {
        // Both ends re-INVITEd at once (RFC 3261 §14.2): ours is in flight, so this one waits.
        reply(&handle, StatusCode::RequestPending).await;
        return;
    }
    if let Err(min_se) = shared.sessions.on_request(&call, request) {
        let (status, headers) = too_small(min_se);
        let _ = handle.respond(status, Some(headers), None).await;
        return;
    }
    if request.body.is_empty() && !invite {
        // An UPDATE without SDP only refreshes the session (RFC 4028).
        let headers = shared.sessions.answered(&call, Instant::now(), None);
        let _ = handle.respond(StatusCode::OK, Some(headers), None).await;
        return;
    }
    let offer =
        (!request.body.is_empty()).then(|| String::from_utf8_lossy(&request.body).into_owned());
    shared.hold_offer(call.clone(), handle);
    shared.emit(SipEvent::Reoffer { call, offer });
}

async fn on_info(shared: &Arc<Shared>, call: CallId, request: &Request, handle: TransactionHandle) {
    let content_type = request.header_value("Content-Type");
    match dtmf_relay::parse(content_type.as_deref(), &request.body) {
        Some(key) => {
            shared.emit(SipEvent::Dtmf { call, key });
            reply(&handle, StatusCode::OK).await;
        }
        // An empty INFO is a keepalive some equipment sends.
        None if request.body.is_empty() => reply(&handle, StatusCode::OK).await,
        None => reply(&handle, StatusCode::UnsupportedMediaType).await,
    }
}

async fn on_notify(
    shared: &Arc<Shared>,
    call: CallId,
    request: &Request,
    handle: TransactionHandle,
) {
    let event = request.header_value("Event");
    let state = request.header_value("Subscription-State");
    match sipfrag::parse(event.as_deref(), state.as_deref(), &request.body) {
        Some(progress) => {
            reply(&handle, StatusCode::OK).await;
            shared.emit(SipEvent::TransferProgress {
                call,
                status: progress.status,
                done: progress.is_final(),
            });
        }
        None => reply(&handle, StatusCode::BadEvent).await,
    }
}

async fn reply(handle: &TransactionHandle, status: StatusCode) {
    // The transaction may already be gone (the dialog ended under it): nothing to tell.
    let _ = handle.reply(status).await;
}

pub(crate) fn call_of(id: &DialogId) -> CallId {
    CallId(id.call_id.clone())
}

fn end_reason(reason: TerminatedReason) -> EndReason {
    match reason {
        TerminatedReason::UacCancel => EndReason::Cancelled,
        TerminatedReason::UacBye | TerminatedReason::UasBye => EndReason::RemoteHangup,
        TerminatedReason::Timeout => EndReason::Timeout,
        TerminatedReason::UasDecline => EndReason::Declined,
        TerminatedReason::UacBusy | TerminatedReason::UasBusy => {
            EndReason::Rejected { status: 486 }
        }
        TerminatedReason::ProxyError(s)
        | TerminatedReason::UacOther(s)
        | TerminatedReason::UasOther(s) => EndReason::Rejected { status: s.code() },
        TerminatedReason::ProxyAuthRequired => EndReason::Rejected { status: 407 },
    }
}
