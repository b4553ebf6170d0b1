//! Requests that start something: a new INVITE (admitted only from the trunk), OPTIONS, and
//! the in-dialog requests handed on to their dialog.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rsipstack::dialog::dialog::Dialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Method, StatusCode};
use rsipstack::transaction::Transaction;
use rsipstack::transport::SipConnection;
use tokio_util::sync::CancellationToken;

use crate::driver::Shared;
use crate::error::SipError;
use crate::event::{CallId, SipEvent};
use crate::name_addr::{self, NameAddr};

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
        match shared.dialogs.match_dialog(&tx) {
            Some(mut dialog) => {
                tokio::spawn(async move {
                    if let Err(e) = dialog.handle(&mut tx).await {
                        tracing::debug!("in-dialog request: {e}");
                    }
                });
            }
            None => tx.reply(StatusCode::CallTransactionDoesNotExist).await?,
        }
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
    let offer = String::from_utf8_lossy(&tx.original.body).into_owned();
    shared.calls().insert(call.clone(), dialog.clone());
    dialog.ringing(None, None)?;
    shared.emit(SipEvent::Incoming {
        call,
        from_display,
        from_uri,
        offer,
    });
    let mut dialog = Dialog::Invite(dialog);
    tokio::spawn(async move {
        if let Err(e) = dialog.handle(&mut tx).await {
            tracing::debug!("INVITE transaction: {e}");
        }
    });
    Ok(())
}

/// The source address of a request, from the `received` the transport stamped on its Via.
fn source_ip(tx: &Transaction) -> Option<IpAddr> {
    let via = tx.original.via_header().ok()?;
    let (_, host) = SipConnection::parse_target_from_via(via).ok()?;
    let addr: SocketAddr = host.try_into().ok()?;
    Some(addr.ip())
}
