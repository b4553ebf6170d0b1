//! The I/O side of the user agent: rsipstack's endpoint, transactions and dialogs on tokio, and
//! the tasks that feed our cores (registration policy, trust) and report [`SipEvent`]s.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{
    Dialog, DialogState, DialogStateReceiver, DialogStateSender, TerminatedReason,
};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::dialog::registration::Registration;
use rsipstack::dialog::DialogId;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, StatusCode, Uri};
use rsipstack::transaction::endpoint::Endpoint;
use rsipstack::transaction::Transaction;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipConnection, TransportLayer};
use rsipstack::EndpointBuilder;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::AccountConfig;
use crate::error::SipError;
use crate::event::{CallId, EndReason, SipEvent};
use crate::name_addr::{self, NameAddr};
use crate::registration::{Outcome, RegistrationPolicy};
use crate::trust::TrustPolicy;

const SDP: &str = "application/sdp";
/// RFC 3261's 64*T1: the longest a non-INVITE transaction may take.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(32);

/// A running SIP user agent for one account. Dropping it stops every task.
pub struct SipAgent {
    shared: Arc<Shared>,
    cancel: CancellationToken,
    endpoint: Endpoint,
}

struct Shared {
    config: AccountConfig,
    local: SocketAddr,
    dialogs: Arc<DialogLayer>,
    state_tx: DialogStateSender,
    calls: Mutex<HashMap<CallId, InviteDialog>>,
    /// Calls we ended ourselves, so their termination reads as a local hangup.
    ended_locally: Mutex<HashMap<CallId, EndReason>>,
    events: mpsc::UnboundedSender<SipEvent>,
}

impl SipAgent {
    /// Binds the transport, starts the stack and, with a registrar, the registration loop.
    pub async fn start(
        config: AccountConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<SipEvent>), SipError> {
        let cancel = CancellationToken::new();
        let bind = match config.registrar {
            // Bind where the route to the trunk leaves, so Via, Contact and SDP are reachable.
            Some(trunk) if config.bind.ip().is_unspecified() => {
                SocketAddr::new(local_ip_towards(trunk)?, config.bind.port())
            }
            _ => config.bind,
        };
        let transport = TransportLayer::new(cancel.child_token());
        let udp = UdpConnection::create_connection(bind, None, Some(cancel.child_token())).await?;
        let local = udp.get_addr().get_socketaddr()?;
        transport.add_transport(udp.into());
        let endpoint = EndpointBuilder::new()
            .with_user_agent(&config.user_agent)
            .with_transport_layer(transport)
            .with_cancel_token(cancel.child_token())
            .build();
        let incoming = endpoint.incoming_transactions()?;
        let inner = endpoint.inner.clone();
        tokio::spawn(async move {
            if let Err(e) = inner.serve().await {
                tracing::error!("SIP endpoint stopped: {e}");
            }
        });

        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let (state_tx, state_rx) = dialogs.new_dialog_state_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            local,
            dialogs,
            state_tx,
            calls: Mutex::new(HashMap::new()),
            ended_locally: Mutex::new(HashMap::new()),
            events,
        });
        tokio::spawn(serve_incoming(shared.clone(), incoming, cancel.clone()));
        tokio::spawn(follow_dialogs(shared.clone(), state_rx, cancel.clone()));
        if let Some(registrar) = shared.config.registrar {
            let registration = Registration::new(endpoint.inner.clone(), Some(shared.credential()));
            tokio::spawn(keep_registered(
                shared.clone(),
                registration,
                registrar,
                cancel.clone(),
            ));
        }
        tracing::info!(%local, user = %shared.config.user, "SIP agent listening");
        Ok((
            Self {
                shared,
                cancel,
                endpoint,
            },
            events_rx,
        ))
    }

    /// Where we receive SIP; also the address to put in our SDP.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// Answers a ringing incoming call with our SDP answer.
    pub fn answer(&self, call: &CallId, sdp_answer: &str) -> Result<(), SipError> {
        let dialog = self.shared.dialog(call)?;
        dialog.accept(
            Some(vec![Header::ContentType(SDP.into())]),
            Some(sdp_answer.as_bytes().to_vec()),
        )?;
        Ok(())
    }

    /// Refuses a ringing incoming call (486 Busy Here, 603 Decline, 488 Not Acceptable Here...).
    pub fn reject(&self, call: &CallId, status: u16) -> Result<(), SipError> {
        let dialog = self.shared.dialog(call)?;
        let reason = if status == 488 {
            EndReason::MediaFailed {
                detail: "no common codec".into(),
            }
        } else {
            EndReason::Declined
        };
        self.shared.mark_local(call, reason);
        dialog.reject(Some(StatusCode::from(status)), None)?;
        Ok(())
    }

    /// Ends a call in whatever state it is: declines a ringing call, cancels one we are placing,
    /// sends BYE on an established one. Returns at once; `Ended` follows as an event.
    ///
    /// The CANCEL or BYE transaction runs in a task of its own, bounded in time: the dialog can
    /// be torn down under it (the peer's BYE crossing ours), and no caller may wait on that.
    pub fn hangup(&self, call: &CallId) -> Result<(), SipError> {
        let dialog = self.shared.dialog(call)?;
        let uas = dialog.role() == rsipstack::transaction::key::TransactionRole::Server;
        let early = matches!(
            dialog.state(),
            DialogState::Calling(_) | DialogState::Trying(_) | DialogState::Early(..)
        );
        if matches!(dialog.state(), DialogState::Terminated(..)) {
            return Err(SipError::WrongState);
        }
        if early && uas {
            return self.reject(call, 603);
        }
        self.shared.mark_local(call, EndReason::LocalHangup);
        let shared = self.shared.clone();
        let id = call.clone();
        tokio::spawn(async move {
            let request = async {
                if early {
                    dialog.cancel().await
                } else {
                    dialog.bye().await
                }
            };
            match tokio::time::timeout(TRANSACTION_TIMEOUT, request).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(call = %id, "hang-up request: {e}"),
                Err(_) => tracing::debug!(call = %id, "hang-up request unanswered"),
            }
            // A BYE we send produces no dialog event of its own; a CANCEL ends the INVITE,
            // whose outcome also reports. Whichever comes first reports, once.
            if !early {
                shared.end(&id, EndReason::LocalHangup);
            }
        });
        Ok(())
    }

    /// Places a call to `target` (a SIP URI, or a user at the registrar) with our SDP offer.
    /// Progress arrives as events: `Ringing`, then `Answered` or `Ended`.
    pub fn call(&self, target: &str, sdp_offer: &str) -> Result<CallId, SipError> {
        let shared = &self.shared;
        let callee = shared.target_uri(target)?;
        let call = CallId(format!("{:016x}@switchboard", random_u64()));
        let option = InviteOption {
            caller: shared.aor()?,
            caller_display_name: shared.config.display_name.clone(),
            callee,
            destination: None,
            contact: shared.contact()?,
            content_type: Some(SDP.into()),
            offer: Some(sdp_offer.as_bytes().to_vec()),
            credential: shared.config.registrar.map(|_| shared.credential()),
            call_id: Some(call.0.clone()),
            ..Default::default()
        };
        let (dialog, outcome) = shared
            .dialogs
            .do_invite_async(option, shared.state_tx.clone())?;
        shared.calls().insert(call.clone(), dialog);
        let shared = shared.clone();
        let id = call.clone();
        tokio::spawn(async move {
            let result = outcome.await;
            match result {
                Ok(Ok((_, Some(resp)))) if resp.status_code == StatusCode::OK => {
                    let answer = String::from_utf8_lossy(&resp.body).into_owned();
                    shared.emit(SipEvent::Answered { call: id, answer });
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
        Ok(call)
    }

    /// Lets hang-ups finish, unregisters (best effort, bounded) and stops.
    pub async fn shutdown(&self) {
        // Let hang-ups in flight reach the far end first (bounded).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !self.shared.calls().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(registrar) = self.shared.config.registrar {
            let mut registration =
                Registration::new(self.endpoint.inner.clone(), Some(self.shared.credential()));
            if let Ok(uri) = registrar_uri(registrar) {
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    registration.register(uri, Some(0)),
                )
                .await;
            }
        }
        self.cancel.cancel();
    }
}

impl Drop for SipAgent {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Shared {
    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<CallId, InviteDialog>> {
        // A panic elsewhere while holding the lock leaves the map consistent (single inserts
        // and removes), so a poisoned lock is still usable.
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn dialog(&self, call: &CallId) -> Result<InviteDialog, SipError> {
        self.calls().get(call).cloned().ok_or(SipError::NoSuchCall)
    }

    fn emit(&self, event: SipEvent) {
        // The receiver is gone only while shutting down.
        let _ = self.events.send(event);
    }

    fn mark_local(&self, call: &CallId, reason: EndReason) {
        self.ended_locally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(call.clone(), reason);
    }

    fn local_reason(&self, call: &CallId) -> Option<EndReason> {
        self.ended_locally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(call)
    }

    /// Reports the end of a call once, whichever path sees it first.
    fn end(&self, call: &CallId, reason: EndReason) {
        let Some(dialog) = self.calls().remove(call) else {
            return;
        };
        self.local_reason(call);
        self.dialogs.remove_dialog(&dialog.id());
        tracing::info!(%call, ?reason, "call ended");
        self.emit(SipEvent::Ended {
            call: call.clone(),
            reason,
        });
    }

    fn credential(&self) -> Credential {
        Credential {
            username: self.config.user.clone(),
            password: self.config.password.expose().to_owned(),
            realm: None,
            auth_username: None,
        }
    }

    fn domain(&self) -> String {
        match (&self.config.domain, self.config.registrar) {
            (Some(d), _) => d.clone(),
            (None, Some(r)) => r.to_string(),
            (None, None) => self.local.to_string(),
        }
    }

    fn aor(&self) -> Result<Uri, SipError> {
        parse_uri(&format!("sip:{}@{}", self.config.user, self.domain()))
    }

    fn contact(&self) -> Result<Uri, SipError> {
        parse_uri(&format!("sip:{}@{}", self.config.user, self.local))
    }

    /// A full SIP URI is used as is; anything else is a user at our domain.
    fn target_uri(&self, target: &str) -> Result<Uri, SipError> {
        if target.starts_with("sip:") || target.starts_with("sips:") {
            parse_uri(target)
        } else {
            parse_uri(&format!("sip:{}@{}", target, self.domain()))
        }
    }

    fn trust(&self) -> TrustPolicy {
        let trunk = self
            .config
            .registrar
            .or(self.config.trusted_peer)
            .map(|a| a.ip())
            .into_iter()
            .collect();
        TrustPolicy {
            trunk,
            local_user: self.config.user.clone(),
        }
    }
}

fn parse_uri(text: &str) -> Result<Uri, SipError> {
    Uri::try_from(text).map_err(|e| SipError::InvalidUri {
        uri: text.to_owned(),
        reason: e.to_string(),
    })
}

fn registrar_uri(registrar: SocketAddr) -> Result<Uri, SipError> {
    parse_uri(&format!("sip:{registrar}"))
}

/// The local address the OS would use to reach `peer` (no packet is sent).
fn local_ip_towards(peer: SocketAddr) -> Result<IpAddr, SipError> {
    let any: SocketAddr = if peer.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let probe = std::net::UdpSocket::bind(any)?;
    probe.connect(peer)?;
    Ok(probe.local_addr()?.ip())
}

fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish()
}

fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

async fn keep_registered(
    shared: Arc<Shared>,
    mut registration: Registration,
    registrar: SocketAddr,
    cancel: CancellationToken,
) {
    let mut policy = RegistrationPolicy::default();
    let span = tracing::info_span!("register", user = %shared.config.user, %registrar);
    let Ok(uri) = registrar_uri(registrar) else {
        tracing::error!(parent: &span, "registrar address is not a SIP URI");
        return;
    };
    let expires = u32::try_from(shared.config.expires.as_secs()).unwrap_or(u32::MAX);
    loop {
        let attempt = tokio::time::timeout(
            shared.config.register_timeout,
            registration.register(uri.clone(), Some(expires)),
        );
        let outcome = tokio::select! {
            _ = cancel.cancelled() => return,
            r = attempt => r,
        };
        let (outcome, event) = match outcome {
            Ok(Ok(resp)) if resp.status_code == StatusCode::OK => {
                let granted = u64::from(registration.expires());
                (
                    Outcome::Registered {
                        granted: Duration::from_secs(granted),
                    },
                    SipEvent::Registered {
                        expires_secs: granted,
                    },
                )
            }
            Ok(Ok(resp)) => {
                let status = resp.status_code.code();
                let reason = match status {
                    401 | 407 => "credentials refused by the registrar".to_owned(),
                    403 => "registration forbidden by the registrar".to_owned(),
                    408 => "no answer from the registrar".to_owned(),
                    _ => format!("registrar answered {status} {}", resp.status_code),
                };
                let outcome = if status == 408 {
                    Outcome::NoAnswer
                } else {
                    Outcome::Rejected { status }
                };
                (
                    outcome,
                    SipEvent::RegistrationFailed {
                        status: Some(status).filter(|s| *s != 408),
                        reason,
                        retry_in_secs: 0,
                    },
                )
            }
            Ok(Err(e)) => (
                Outcome::NoAnswer,
                SipEvent::RegistrationFailed {
                    status: None,
                    reason: format!("cannot reach the registrar: {e}"),
                    retry_in_secs: 0,
                },
            ),
            Err(_) => (
                Outcome::NoAnswer,
                SipEvent::RegistrationFailed {
                    status: None,
                    reason: format!(
                        "no answer from the registrar within {} s",
                        shared.config.register_timeout.as_secs()
                    ),
                    retry_in_secs: 0,
                },
            ),
        };
        let now = Instant::now();
        let next = policy.next_attempt(now, outcome, random_unit());
        let wait = next.saturating_duration_since(now);
        let event = match event {
            SipEvent::RegistrationFailed { status, reason, .. } => {
                tracing::warn!(parent: &span, ?status, %reason, retry_in = ?wait, "registration failed");
                SipEvent::RegistrationFailed {
                    status,
                    reason,
                    retry_in_secs: wait.as_secs().max(1),
                }
            }
            other => {
                tracing::info!(parent: &span, refresh_in = ?wait, "registered");
                other
            }
        };
        shared.emit(event);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn serve_incoming(
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

async fn follow_dialogs(
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
        DialogState::Early(id, _) => shared.emit(SipEvent::Ringing { call: call_of(&id) }),
        DialogState::Confirmed(id, _) => shared.emit(SipEvent::Established { call: call_of(&id) }),
        DialogState::Terminated(id, reason) => {
            let call = call_of(&id);
            let reason = shared
                .local_reason(&call)
                .unwrap_or_else(|| end_reason(reason));
            shared.end(&call, reason);
        }
        DialogState::Updated(_, _, handle) => {
            // Re-INVITEs (hold, session refresh) come with the call-control work; until then
            // refuse them politely so the peer keeps the current session.
            let _ = handle.reply(StatusCode::NotAcceptableHere).await;
        }
        DialogState::Info(_, _, handle) | DialogState::Options(_, _, handle) => {
            let _ = handle.reply(StatusCode::OK).await;
        }
        DialogState::Refer(_, _, handle)
        | DialogState::Message(_, _, handle)
        | DialogState::Notify(_, _, handle) => {
            let _ = handle.reply(StatusCode::NotImplemented).await;
        }
        _ => {}
    }
}

fn call_of(id: &DialogId) -> CallId {
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
