//! Requests that start something: a new INVITE (admitted only from the trunk), OPTIONS, and
//! the in-dialog requests handed on to their dialog.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rsipstack::dialog::dialog::{Dialog, DialogState};
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, Request, StatusCode};
use rsipstack::transaction::key::TransactionRole;
use rsipstack::transaction::Transaction;
use rsipstack::transport::SipConnection;
use tokio_util::sync::CancellationToken;

use crate::driver::Shared;
use crate::error::SipError;
use crate::event::{CallId, SipEvent};
use crate::name_addr::{self, NameAddr};
use crate::replaces::Replaces;
use crate::session_refresh::too_small;

/// How long an in-dialog request may wait for its dialog to be confirmed (see `match_dialog`).
const CONFIRMATION_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

pub(crate) async fn serve_incoming(
    shared: Arc<Shared>,
    mut incoming: rsipstack::transaction::TransactionReceiver,
    cancel: CancellationToken,
) {
    loop {
        let tx = tokio::select! {
            _ = cancel.cancelled() => return,
            tx = incoming.recv() => match tx { Some(tx) => tx, None => return },
        };
        if let Err(e) = route(&shared, tx).await {
            tracing::debug!("incoming request: {e}");
        }
    }
}

async fn route(shared: &Arc<Shared>, mut tx: Transaction) -> Result<(), SipError> {
    let in_dialog = tx
        .original
        .to_header()
        .ok()
        .and_then(|to| to.tag().ok().flatten())
        .is_some();
    if in_dialog {
        // In a task of its own: finding the dialog may wait (see `match_dialog`).
        let shared = shared.clone();
        tokio::spawn(async move {
            match match_dialog(&shared, &tx).await {
                Some(mut dialog) => {
                    if let Err(e) = dialog.handle(&mut tx).await {
                        tracing::debug!("in-dialog request: {e}");
                    }
                }
                None => {
                    if let Err(e) = tx.reply(StatusCode::CallTransactionDoesNotExist).await {
                        tracing::debug!("481 not sent: {e}");
                    }
                }
            }
        });
        return Ok(());
    }
    match tx.original.method {
        Method::Invite => accept_invite(shared, tx).await,
        Method::Options => Ok(tx.reply(StatusCode::OK).await?),
        Method::Bye => Ok(tx.reply(StatusCode::CallTransactionDoesNotExist).await?),
        _ => Ok(tx.reply(StatusCode::MethodNotAllowed).await?),
    }
}

async fn accept_invite(shared: &Arc<Shared>, mut tx: Transaction) -> Result<(), SipError> {
    let source = source_ip(&tx);
    let request_user = tx.original.uri.user().map(str::to_owned);
    let admitted = match source {
        Some(ip) => shared
            .trust()
            .admit(ip, request_user.as_deref())
            .map_err(|r| r.status()),
        None => Err(403),
    };
    if let Err(status) = admitted {
        tracing::warn!(?source, "refused INVITE from outside the trunk");
        return Ok(tx.reply(StatusCode::from(status)).await?);
    }
    let from = tx
        .original
        .from_header()
        .ok()
        .and_then(|f| name_addr::parse(f.value()));
    let Some(NameAddr {
        display_name: from_display,
        uri: from_uri,
    }) = from
    else {
        return Ok(tx.reply(StatusCode::BadRequest).await?);
    };
    // The dialog keeps the caller's From for the To of our re-INVITEs and BYE: give it a form
    // the stack reads back correctly (the name is already taken, as sent, for the agent).
    let raw_from = tx.original.from_header().ok().map(|f| f.value().to_owned());
    if let Some(clean) = raw_from.as_deref().and_then(name_addr::for_stack) {
        for header in tx.original.headers.iter_mut() {
            if matches!(header, Header::From(_)) {
                *header = Header::From(clean.clone().into());
            }
        }
    }
    let replaces = match replaced_call(shared, &tx.original) {
        Ok(replaces) => replaces,
        Err(status) => {
            tracing::info!(?status, "refused an INVITE replacing no call of ours");
            return Ok(tx.reply(status).await?);
        }
    };
    let dialog = match shared.dialogs.get_or_create_server_invite(
        &tx,
        shared.state_tx.clone(),
        None,
        Some(shared.contact()?),
    ) {
        Ok(d) => d,
        Err(e) => {
            tracing::debug!("cannot create dialog: {e}");
            return Ok(tx.reply(StatusCode::BadRequest).await?);
        }
    };
    let call = CallId(dialog.id().call_id.clone());
    if let Err(min_se) = shared.sessions.on_request(&call, &tx.original) {
        shared.sessions.remove(&call);
        shared.dialogs.remove_dialog(&dialog.id());
        let (status, headers) = too_small(min_se);
        return Ok(tx.reply_with(status, headers, None).await?);
    }
    let offer = String::from_utf8_lossy(&tx.original.body).into_owned();
    shared.calls().insert(call.clone(), dialog.clone());
    match &replaces {
        // A replacement is taken at once (RFC 3891 §3): no ringing.
        Some(old) => shared.will_replace(&call, old),
        None => dialog.ringing(None, None)?,
    }
    shared.emit(SipEvent::Incoming {
        call,
        from_display,
        from_uri,
        offer,
        replaces,
    });
    let mut dialog = Dialog::Invite(dialog);
    tokio::spawn(async move {
        if let Err(e) = dialog.handle(&mut tx).await {
            tracing::debug!("INVITE transaction: {e}");
        }
    });
    Ok(())
}

/// The call an INVITE's Replaces header (RFC 3891) names, if it has one: a confirmed dialog of
/// ours, or an early one we started. `Err` is the answer to an INVITE naming anything else
/// (481: no such dialog, or not one that may be replaced; 400: an unreadable header).
fn replaced_call(shared: &Shared, request: &Request) -> Result<Option<CallId>, StatusCode> {
    let Some(value) = request.header_value("Replaces") else {
        return Ok(None);
    };
    let replaces = Replaces::parse(&value).ok_or(StatusCode::BadRequest)?;
    let call = CallId(replaces.call_id.clone());
    let calls = shared.calls();
    let dialog = calls
        .get(&call)
        .filter(|d| {
            let id = d.id();
            id.local_tag == replaces.to_tag && id.remote_tag == replaces.from_tag
        })
        .ok_or(StatusCode::CallTransactionDoesNotExist)?;
    let ours = dialog.role() == TransactionRole::Client;
    match dialog.state() {
        DialogState::Confirmed(..) | DialogState::WaitAck(..) => Ok(Some(call)),
        DialogState::Calling(_) | DialogState::Trying(_) | DialogState::Early(..) if ours => {
            Ok(Some(call))
        }
        _ => Err(StatusCode::CallTransactionDoesNotExist),
    }
}

/// The dialog of an in-dialog request. Our own call's far end may send one (a refresh, an
/// INFO) as soon as it has our ACK, a moment before the stack files the dialog under its
/// confirmed tags: a request whose To tag is one of our calls' waits for that, briefly,
/// rather than being told 481 for a dialog that exists.
async fn match_dialog(shared: &Shared, tx: &Transaction) -> Option<Dialog> {
    if let Some(dialog) = shared.dialogs.match_dialog(tx) {
        return Some(dialog);
    }
    let call = CallId(tx.original.call_id_header().ok()?.value().to_owned());
    let to_tag = tx
        .original
        .to_header()
        .ok()?
        .tag()
        .ok()??
        .value()
        .to_owned();
    let ours = shared
        .calls()
        .get(&call)
        .is_some_and(|d| d.id().local_tag == to_tag);
    if !ours {
        return None;
    }
    let deadline = tokio::time::Instant::now() + CONFIRMATION_GRACE;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        if let Some(dialog) = shared.dialogs.match_dialog(tx) {
            return Some(dialog);
        }
    }
    None
}

/// The source address of a request, from the `received` the transport stamped on its Via.
fn source_ip(tx: &Transaction) -> Option<IpAddr> {
    let via = tx.original.via_header().ok()?;
    let (_, host) = SipConnection::parse_target_from_via(via).ok()?;
    let addr: SocketAddr = host.try_into().ok()?;
    Some(addr.ip())
}
