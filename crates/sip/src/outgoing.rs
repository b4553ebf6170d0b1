//! Calls we place: the INVITE (offering session timers) and what its final answer means.

use std::sync::Arc;

use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{StatusCode, Uri};

use crate::driver::{Shared, SDP};
use crate::error::SipError;
use crate::event::{CallId, EndReason, SipEvent};

/// Sends our INVITE for `call` and reports its outcome. A 422 (our session interval below
/// what the far end takes) is retried once with the interval it asks for (RFC 4028 §7.4).
pub(crate) fn invite(
    shared: &Arc<Shared>,
    call: &CallId,
    callee: Uri,
    sdp_offer: &str,
    their_min_se: Option<u32>,
) -> Result<(), SipError> {
    let option = InviteOption {
        caller: shared.aor()?,
        caller_display_name: shared.config.display_name.clone(),
        callee: callee.clone(),
        destination: shared.current_target().map(|t| t.sip_addr()),
        contact: shared.contact()?,
        content_type: Some(SDP.into()),
        offer: Some(sdp_offer.as_bytes().to_vec()),
        credential: shared.has_trunk().then(|| shared.credential()),
        call_id: Some(call.0.clone()),
        headers: Some(shared.sessions.request_headers(call, their_min_se)),
        ..Default::default()
    };
    let (dialog, outcome) = shared
        .dialogs
        .do_invite_async(option, shared.state_tx.clone())?;
    shared.calls().insert(call.clone(), dialog);
    let shared = shared.clone();
    let id = call.clone();
    let offer = sdp_offer.to_owned();
    tokio::spawn(async move {
        match outcome.await {
            Ok(Ok((_, Some(resp)))) if resp.status_code == StatusCode::OK => {
                shared
                    .sessions
                    .on_answer(&id, &resp, std::time::Instant::now());
                let answer = String::from_utf8_lossy(&resp.body).into_owned();
                shared.emit(SipEvent::Answered { call: id, answer });
            }
            Ok(Ok((_, Some(resp)))) if resp.status_code.code() == 422 && their_min_se.is_none() => {
                let min_se = resp
                    .header_value("Min-SE")
                    .and_then(|v| crate::session_timer::parse_min_se(&v));
                match (shared.local_reason(&id), min_se) {
                    // Hung up meanwhile: nothing to retry.
                    (Some(reason), _) => shared.end(&id, reason),
                    (None, Some(min_se)) => {
                        tracing::info!(call = %id, min_se, "422: calling again with the far end's Min-SE");
                        if let Err(e) = invite(&shared, &id, callee, &offer, Some(min_se)) {
                            tracing::warn!(call = %id, "cannot call again after 422: {e}");
                            shared.end(&id, EndReason::Rejected { status: 422 });
                        }
                    }
                    (None, None) => shared.end(&id, EndReason::Rejected { status: 422 }),
                }
            }
            Ok(Ok((_, Some(resp)))) => {
                let status = resp.status_code.code();
                let reason = shared
                    .local_reason(&id)
                    .unwrap_or(EndReason::Rejected { status });
                shared.end(&id, reason);
            }
            Ok(Ok((_, None))) => shared.end(&id, EndReason::Timeout),
            Ok(Err(e)) => {
                tracing::warn!(call = %id, "INVITE failed: {e}");
                let reason = shared.local_reason(&id).unwrap_or(EndReason::Timeout);
                shared.end(&id, reason);
            }
            Err(e) => {
                tracing::error!(call = %id, "INVITE task failed: {e}");
                shared.end(&id, EndReason::Timeout);
            }
        }
    });
    Ok(())
}
