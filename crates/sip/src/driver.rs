//! The I/O side of the user agent: rsipstack's endpoint, transactions and dialogs on tokio, and
//! the tasks that feed our cores (registration policy, trust) and report [`SipEvent`]s.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender, TransactionHandle};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::dialog::registration::Registration;
use rsipstack::sip::SipMessage;
use rsipstack::sip::{Header, Response, StatusCode, Uri};
use rsipstack::transaction::endpoint::{Endpoint, MessageInspector, TransportEventInspector};
use rsipstack::transaction::{random_text, CNONCE_LEN};
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportEvent, TransportLayer};
use rsipstack::EndpointBuilder;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::AccountConfig;
use crate::dialog_events::follow_dialogs;
use crate::digest_cache::DigestCache;
use crate::digest_spelling;
use crate::dtmf_relay;
use crate::error::SipError;
use crate::event::{CallId, EndReason, SipEvent};
use crate::flow::ClosedFlow;
use crate::incoming::serve_incoming;
use crate::locate::{locate, Target};
use crate::outgoing::invite;
use crate::random::random_u64;
use crate::register_loop::keep_registered;
use crate::replaces::Replaces;
use crate::screen::Screen;
use crate::session_refresh::{run_timers, Sessions};
use crate::trust::TrustPolicy;
use crate::udp_guard::GuardedUdp;

pub(crate) const SDP: &str = "application/sdp";
/// RFC 3261's 64*T1: the longest a non-INVITE transaction may take.
pub(crate) const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(32);
/// Attempts at a re-INVITE that meets 491 Request Pending (glare), each after a random wait.
const GLARE_ATTEMPTS: usize = 3;

/// A running SIP user agent for one account. Dropping it stops every task.
pub struct SipAgent {
    shared: Arc<Shared>,
    cancel: CancellationToken,
    endpoint: Endpoint,
}

pub(crate) struct Shared {
    pub(crate) config: AccountConfig,
    pub(crate) local: SocketAddr,
    pub(crate) dialogs: Arc<DialogLayer>,
    pub(crate) state_tx: DialogStateSender,
    /// The screen in front of the UDP socket. Its trust policy is the located trunk's
    /// addresses, behind a lock so that locating the trunk anew can update it.
    screen: Arc<RwLock<Screen>>,
    trunk: Mutex<TrunkView>,
    calls: Mutex<HashMap<CallId, InviteDialog>>,
    /// Calls we ended ourselves, so their termination reads as a local hangup.
    ended_locally: Mutex<HashMap<CallId, EndReason>>,
    /// Offers from the far end (re-INVITE, UPDATE) waiting for the layer above to answer.
    offers: Mutex<HashMap<CallId, TransactionHandle>>,
    /// Calls with a re-INVITE of ours in flight (an incoming one meanwhile is glare).
    reinviting: Mutex<HashSet<CallId>>,
    /// Calls whose dialog has been confirmed once (later confirmations follow mid-call requests).
    confirmed: Mutex<HashSet<CallId>>,
    /// Ringing calls that will replace another when answered (new call, replaced call).
    replacing: Mutex<HashMap<CallId, CallId>>,
    /// Session timers (RFC 4028) of the calls that have one.
    pub(crate) sessions: Sessions,
    events: mpsc::UnboundedSender<SipEvent>,
}

/// The trunk as the registration loop last chose it.
#[derive(Default)]
struct TrunkView {
    targets: Vec<Target>,
    current: usize,
    /// Our Contact on the current flow (a TCP or TLS connection has its own local address).
    contact: Option<Uri>,
}

/// Tells the registration loop that a stream flow closed.
struct FlowWatch(mpsc::UnboundedSender<ClosedFlow>);

#[async_trait::async_trait]
impl TransportEventInspector for FlowWatch {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        if let TransportEvent::Closed(connection) = &event {
            let remote = connection
                .get_remote_addr()
                .map(|a| a.get_socketaddr().ok());
            if let Some(Some(remote)) = remote {
                let _ = self.0.send(ClosedFlow {
                    remote,
                    local: connection.get_addr().clone(),
                });
            }
        }
        Some(event)
    }
}

/// What every message passes at the stack's edge: our digest credentials put on before the
/// trunk asks ([`digest_cache`]), and the SHA-256 spelling mended ([`digest_spelling`]), in
/// that order going out and the reverse coming in.
struct StackEdge {
    digests: Mutex<DigestCache>,
}

impl MessageInspector for StackEdge {
    fn before_send(&self, mut message: SipMessage, _: Option<&SipAddr>) -> SipMessage {
        if let SipMessage::Request(request) = &mut message {
            lock(&self.digests).on_request(request, || random_text(CNONCE_LEN));
        }
        digest_spelling::outgoing(message)
    }

    fn after_received(&self, message: SipMessage, _: Option<&SipAddr>) -> SipMessage {
        let message = digest_spelling::incoming(message);
        if let SipMessage::Response(response) = &message {
            lock(&self.digests).on_response(response);
        }
        message
    }
}

impl SipAgent {
    /// Locates the trunk, binds the transport, starts the stack and, with a trunk, the
    /// registration loop.
    pub async fn start(
        config: AccountConfig,
    ) -> Result<(Self, mpsc::UnboundedReceiver<SipEvent>), SipError> {
        let cancel = CancellationToken::new();
        let targets = if config.trunk.is_empty() {
            Vec::new()
        } else {
            locate(&config.trunk, &config.dns_servers).await?
        };
        let bind = match targets.first() {
            // Bind where the route to the trunk leaves, so Via, Contact and SDP are reachable.
            Some(trunk) if config.bind.ip().is_unspecified() => {
                SocketAddr::new(local_ip_towards(trunk.addr)?, config.bind.port())
            }
            _ => config.bind,
        };
        let transport = TransportLayer::new(cancel.child_token());
        let screen = Arc::new(RwLock::new(Screen {
            policy: trust_policy(&targets, &config),
            server: config.user_agent.clone(),
        }));
        let socket = GuardedUdp::new(tokio::net::UdpSocket::bind(bind).await?, screen.clone());
        let udp =
            UdpConnection::from_socket(Arc::new(socket), None, Some(cancel.child_token())).await?;
        let local = udp.get_addr().get_socketaddr()?;
        transport.add_transport(udp.into());
        let (closed_tx, closed_rx) = mpsc::unbounded_channel();
        let endpoint = EndpointBuilder::new()
            .with_user_agent(&config.user_agent)
            .with_transport_layer(transport)
            .with_transport_inspector(Box::new(FlowWatch(closed_tx)))
            .with_inspector(Box::new(StackEdge {
                digests: Mutex::new(DigestCache::new(&config.user, config.password.expose())),
            }))
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
            sessions: Sessions::new(config.session_timer),
            replacing: Mutex::new(HashMap::new()),
            config,
            local,
            dialogs,
            state_tx,
            screen,
            trunk: Mutex::new(TrunkView {
                targets,
                ..TrunkView::default()
            }),
            calls: Mutex::new(HashMap::new()),
            ended_locally: Mutex::new(HashMap::new()),
            offers: Mutex::new(HashMap::new()),
            reinviting: Mutex::new(HashSet::new()),
            confirmed: Mutex::new(HashSet::new()),
            events,
        });
        tokio::spawn(serve_incoming(shared.clone(), incoming, cancel.clone()));
        tokio::spawn(follow_dialogs(shared.clone(), state_rx, cancel.clone()));
        tokio::spawn(run_timers(shared.clone(), cancel.clone()));
        if !shared.config.trunk.is_empty() {
            tokio::spawn(keep_registered(
                shared.clone(),
                endpoint.inner.clone(),
                closed_rx,
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
        let mut headers = vec![Header::ContentType(SDP.into())];
        headers.extend(self.shared.sessions.answered(
            call,
            std::time::Instant::now(),
            Some(sdp_answer),
        ));
        dialog.accept(Some(headers), Some(sdp_answer.as_bytes().to_vec()))?;
        // RFC 3891 §3: once the new call is answered, the one it replaces ends.
        let replaced = lock(&self.shared.replacing).remove(call);
        if let Some(old) = replaced {
            if let Err(e) = self.shared.hang_up(&old, EndReason::Replaced) {
                tracing::debug!(call = %old, "replaced call already gone: {e}");
            }
        }
        Ok(())
    }

    /// Refuses a ringing incoming call (486 Busy Here, 603 Decline, 488 Not Acceptable Here...).
    pub fn reject(&self, call: &CallId, status: u16) -> Result<(), SipError> {
        self.shared.reject(call, status)
    }

    /// Ends a call in whatever state it is: declines a ringing call, cancels one we are placing,
    /// sends BYE on an established one. Returns at once; `Ended` follows as an event.
    ///
    /// The CANCEL or BYE transaction runs in a task of its own, bounded in time: the dialog can
    /// be torn down under it (the peer's BYE crossing ours), and no caller may wait on that.
    pub fn hangup(&self, call: &CallId) -> Result<(), SipError> {
        self.shared.hang_up(call, EndReason::LocalHangup)
    }

    /// As [`SipAgent::hangup`], reporting `reason` as the call's end (the media failed...).
    pub fn hangup_because(&self, call: &CallId, reason: EndReason) -> Result<(), SipError> {
        self.shared.hang_up(call, reason)
    }

    /// Places a call to `target` (a SIP URI, or a user at the registrar) with our SDP offer.
    /// Progress arrives as events: `Ringing`, then `Answered` or `Ended`.
    pub fn call(&self, target: &str, sdp_offer: &str) -> Result<CallId, SipError> {
        let callee = self.shared.target_uri(target)?;
        let call = CallId(format!("{:016x}@switchboard", random_u64()));
        self.shared.sessions.sent_sdp(&call, sdp_offer);
        if let Err(e) = invite(&self.shared, &call, callee, sdp_offer, None) {
            self.shared.sessions.remove(&call);
            return Err(e);
        }
        Ok(call)
    }

    /// Sends a new offer in a re-INVITE (hold, resume). The outcome arrives as `Renegotiated`
    /// or `RenegotiationFailed`; on failure the session stays as it was. A 491 (both ends
    /// re-INVITing at once) is retried after a random wait, as RFC 3261 §14.1 asks.
    pub fn reinvite(&self, call: &CallId, offer: String) -> Result<(), SipError> {
        let dialog = self.shared.established(call)?;
        if !self.shared.set_reinviting(call, true) {
            return Err(SipError::Pending);
        }
        let mut headers = vec![Header::ContentType(SDP.into())];
        headers.extend(self.shared.sessions.request_headers(call, None));
        let shared = self.shared.clone();
        let id = call.clone();
        tokio::spawn(async move {
            wait_for_ack(&dialog).await;
            let request = dialog.reinvite_with_glare_retry(
                Some(headers),
                Some(offer.clone().into_bytes()),
                GLARE_ATTEMPTS,
            );
            let result = tokio::time::timeout(TRANSACTION_TIMEOUT, request).await;
            shared.set_reinviting(&id, false);
            shared.on_reinvite_result(&id, &offer, result);
        });
        Ok(())
    }

    /// Answers the far end's re-INVITE or UPDATE (a `Reoffer`) with our SDP, or refuses it
    /// with a status (488 for an offer we cannot take), keeping the current session.
    pub fn answer_reoffer(
        &self,
        call: &CallId,
        answer: Result<String, u16>,
    ) -> Result<(), SipError> {
        let handle = self
            .shared
            .offers()
            .remove(call)
            .ok_or(SipError::WrongState)?;
        let headers = answer.as_ref().ok().map(|sdp| {
            let mut headers = vec![Header::ContentType(SDP.into())];
            let now = std::time::Instant::now();
            headers.extend(self.shared.sessions.answered(call, now, Some(sdp)));
            headers
        });
        tokio::spawn(async move {
            let sent = match answer {
                Ok(sdp) => {
                    handle
                        .respond(StatusCode::OK, headers, Some(sdp.into_bytes()))
                        .await
                }
                Err(status) => handle.reply(StatusCode::from(status)).await,
            };
            if sent.is_err() {
                tracing::debug!("re-INVITE transaction gone before our answer");
            }
        });
        Ok(())
    }

    /// Sends DTMF keys as SIP INFO, one request per key, in order: for peers that offered no
    /// RFC 4733 telephone-events.
    pub fn send_dtmf_info(&self, call: &CallId, keys: &str) -> Result<(), SipError> {
        if let Some(bad) = keys.chars().find(|k| !dtmf_relay::is_key(*k)) {
            return Err(SipError::NotDtmf(bad));
        }
        let dialog = self.shared.established(call)?;
        let keys: Vec<char> = keys.chars().collect();
        let id = call.clone();
        tokio::spawn(async move {
            wait_for_ack(&dialog).await;
            for key in keys {
                let request = dialog.info(
                    Some(vec![Header::ContentType(dtmf_relay::CONTENT_TYPE.into())]),
                    Some(dtmf_relay::body(key).into_bytes()),
                );
                match tokio::time::timeout(TRANSACTION_TIMEOUT, request).await {
                    Ok(Ok(Some(resp))) if resp.status_code.code() < 300 => {}
                    other => {
                        tracing::warn!(call = %id, ?key, "DTMF INFO not accepted: {other:?}");
                        return;
                    }
                }
            }
        });
        Ok(())
    }

    /// Blind transfer: asks the far end to call `target` instead (REFER, RFC 3515). Progress
    /// arrives as `TransferProgress` events; the call stays up until the layer above ends it.
    pub fn transfer(&self, call: &CallId, target: &str) -> Result<(), SipError> {
        let target = self.shared.target_uri(target)?;
        self.refer(call, format!("<{target}>"))
    }

    /// Attended transfer (RFC 5589 §7): asks the far end of `call` to call the party of our
    /// `consult` call, replacing our dialog with them. Progress as for [`SipAgent::transfer`].
    pub fn transfer_attended(&self, call: &CallId, consult: &CallId) -> Result<(), SipError> {
        let other = self.shared.established(consult)?;
        let id = other.id();
        let replaces = Replaces {
            call_id: id.call_id.clone(),
            to_tag: id.remote_tag.clone(),
            from_tag: id.local_tag.clone(),
        };
        self.refer(
            call,
            replaces.refer_to(&other.initial_request().uri.to_string()),
        )
    }

    /// Tells the transferor how the call it asked for is going (a NOTIFY with a sipfrag):
    /// `status` of our call to the target; `done` ends the implicit subscription.
    pub fn notify_transfer(&self, call: &CallId, status: u16, done: bool) -> Result<(), SipError> {
        let dialog = self.shared.established(call)?;
        let id = call.clone();
        tokio::spawn(async move {
            let state = if done {
                "terminated;reason=noresource"
            } else {
                "active;expires=60"
            };
            let code = StatusCode::from(status);
            if let Err(e) = dialog.notify_refer(code, state).await {
                tracing::debug!(call = %id, "transfer NOTIFY not sent: {e}");
            }
        });
        Ok(())
    }

    fn refer(&self, call: &CallId, refer_to: String) -> Result<(), SipError> {
        let dialog = self.shared.established(call)?;
        let referred_by = format!("<{}>", self.shared.aor()?);
        let shared = self.shared.clone();
        let id = call.clone();
        tokio::spawn(async move {
            wait_for_ack(&dialog).await;
            let request = dialog.refer(
                refer_to,
                Some(vec![Header::ReferredBy(referred_by.into())]),
                None,
            );
            let status = match tokio::time::timeout(TRANSACTION_TIMEOUT, request).await {
                Ok(Ok(Some(resp))) => resp.status_code.code(),
                Ok(Ok(None)) => 481,
                Ok(Err(e)) => {
                    tracing::warn!(call = %id, "REFER failed: {e}");
                    500
                }
                Err(_) => 408,
            };
            // 202 Accepted: the NOTIFYs tell the rest. Anything else ends the attempt here.
            shared.emit(SipEvent::TransferProgress {
                call: id,
                status,
                done: status >= 300,
            });
        });
        Ok(())
    }

    /// Lets hang-ups finish, unregisters (best effort, bounded) and stops.
    pub async fn shutdown(&self) {
        // Let hang-ups in flight reach the far end first (bounded).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !self.shared.calls().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(target) = self.shared.current_target() {
            let mut registration = self.shared.registration(&self.endpoint.inner);
            if let Ok(uri) = parse_uri(&target.uri()) {
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
    /// Ends a call from our side for `reason` (see [`SipAgent::hangup`]).
    pub(crate) fn hang_up(
        self: &Arc<Self>,
        call: &CallId,
        reason: EndReason,
    ) -> Result<(), SipError> {
        let dialog = self.dialog(call)?;
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
        self.mark_local(call, reason.clone());
        let shared = self.clone();
        let id = call.clone();
        tokio::spawn(async move {
            let request = async {
                if early {
                    dialog.cancel().await
                } else {
                    // A UAS sends no BYE before the ACK of its 200 (RFC 3261 §15).
                    wait_for_ack(&dialog).await;
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
                shared.end(&id, reason);
            }
        });
        Ok(())
    }

    /// Refuses a ringing incoming call with `status` (see [`SipAgent::reject`]).
    fn reject(&self, call: &CallId, status: u16) -> Result<(), SipError> {
        let dialog = self.dialog(call)?;
        let reason = if status == 488 {
            EndReason::MediaFailed {
                detail: "no common codec".into(),
            }
        } else {
            EndReason::Declined
        };
        self.mark_local(call, reason);
        dialog.reject(Some(StatusCode::from(status)), None)?;
        Ok(())
    }

    /// `call`, when answered, ends `old` (see [`SipEvent::Incoming`]).
    pub(crate) fn will_replace(&self, call: &CallId, old: &CallId) {
        lock(&self.replacing).insert(call.clone(), old.clone());
    }

    pub(crate) fn calls(&self) -> MutexGuard<'_, HashMap<CallId, InviteDialog>> {
        lock(&self.calls)
    }

    fn offers(&self) -> MutexGuard<'_, HashMap<CallId, TransactionHandle>> {
        lock(&self.offers)
    }

    /// Keeps the far end's offer until `answer_reoffer`; a newer one replaces it.
    pub(crate) fn hold_offer(&self, call: CallId, handle: TransactionHandle) {
        self.offers().insert(call, handle);
    }

    pub(crate) fn is_reinviting(&self, call: &CallId) -> bool {
        lock(&self.reinviting).contains(call)
    }

    /// Marks (or clears) our re-INVITE in flight; false if one was already marked.
    pub(crate) fn set_reinviting(&self, call: &CallId, on: bool) -> bool {
        let mut set = lock(&self.reinviting);
        if on {
            set.insert(call.clone())
        } else {
            set.remove(call)
        }
    }

    /// Reports the first confirmation of a dialog; later ones follow each mid-call request.
    pub(crate) fn confirmed(&self, call: &CallId) {
        if lock(&self.confirmed).insert(call.clone()) {
            self.emit(SipEvent::Established { call: call.clone() });
        }
    }

    fn on_reinvite_result(
        &self,
        call: &CallId,
        offer: &str,
        result: Result<Result<Option<Response>, rsipstack::Error>, tokio::time::error::Elapsed>,
    ) {
        let (status, reason) = match result {
            Ok(Ok(Some(resp)))
                if resp.status_code.kind() == rsipstack::sip::StatusCodeKind::Successful =>
            {
                self.sessions.sent_sdp(call, offer);
                self.sessions
                    .on_answer(call, &resp, std::time::Instant::now());
                let answer = String::from_utf8_lossy(&resp.body).into_owned();
                self.emit(SipEvent::Renegotiated {
                    call: call.clone(),
                    answer,
                });
                return;
            }
            Ok(Ok(Some(resp))) => (Some(resp.status_code.code()), resp.status_code.to_string()),
            Ok(Ok(None)) => (None, "the call is no longer established".to_owned()),
            Ok(Err(e)) => (None, e.to_string()),
            Err(_) => (Some(408), "no answer".to_owned()),
        };
        tracing::warn!(%call, ?status, %reason, "re-INVITE failed; the session stays as it was");
        self.emit(SipEvent::RenegotiationFailed {
            call: call.clone(),
            status,
            reason,
        });
    }

    fn dialog(&self, call: &CallId) -> Result<InviteDialog, SipError> {
        self.calls().get(call).cloned().ok_or(SipError::NoSuchCall)
    }

    /// A call that has been answered: confirmed, or answered by us and waiting for the ACK.
    pub(crate) fn established(&self, call: &CallId) -> Result<InviteDialog, SipError> {
        let dialog = self.dialog(call)?;
        match dialog.state() {
            DialogState::Confirmed(..) | DialogState::WaitAck(..) => Ok(dialog),
            _ => Err(SipError::WrongState),
        }
    }

    pub(crate) fn emit(&self, event: SipEvent) {
        // The receiver is gone only while shutting down.
        let _ = self.events.send(event);
    }

    fn mark_local(&self, call: &CallId, reason: EndReason) {
        lock(&self.ended_locally).insert(call.clone(), reason);
    }

    pub(crate) fn local_reason(&self, call: &CallId) -> Option<EndReason> {
        lock(&self.ended_locally).remove(call)
    }

    /// Reports the end of a call once, whichever path sees it first.
    pub(crate) fn end(&self, call: &CallId, reason: EndReason) {
        let Some(dialog) = self.calls().remove(call) else {
            return;
        };
        self.local_reason(call);
        self.offers().remove(call);
        self.sessions.remove(call);
        lock(&self.replacing).remove(call);
        lock(&self.confirmed).remove(call);
        self.dialogs.remove_dialog(&dialog.id());
        tracing::info!(%call, ?reason, "call ended");
        self.emit(SipEvent::Ended {
            call: call.clone(),
            reason,
        });
    }

    pub(crate) fn credential(&self) -> Credential {
        Credential {
            username: self.config.user.clone(),
            password: self.config.password.expose().to_owned(),
            realm: None,
            auth_username: None,
        }
    }

    fn domain(&self) -> String {
        match (&self.config.domain, self.config.trunk.first()) {
            (Some(d), _) => d.clone(),
            (None, Some(first)) => match first.port {
                Some(port) => format!("{}:{port}", host_in_uri(&first.host)),
                None => host_in_uri(&first.host),
            },
            (None, None) => self.local.to_string(),
        }
    }

    pub(crate) fn has_trunk(&self) -> bool {
        !self.config.trunk.is_empty()
    }

    fn trunk(&self) -> MutexGuard<'_, TrunkView> {
        lock(&self.trunk)
    }

    pub(crate) fn targets(&self) -> Vec<Target> {
        self.trunk().targets.clone()
    }

    /// The target the registration loop uses now: out-of-dialog requests go there too.
    pub(crate) fn current_target(&self) -> Option<Target> {
        let view = self.trunk();
        view.targets.get(view.current).cloned()
    }

    /// The trunk was located anew: new targets, and the trust policy follows them.
    pub(crate) fn set_targets(&self, targets: Vec<Target>) {
        let policy = trust_policy(&targets, &self.config);
        self.screen
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .policy = policy;
        *self.trunk() = TrunkView {
            targets,
            ..TrunkView::default()
        };
    }

    /// Records the target in use and our Contact on its flow.
    pub(crate) fn use_target(&self, index: usize, contact: Option<Uri>) {
        let mut view = self.trunk();
        view.current = index;
        view.contact = contact;
    }

    /// A registration with our credentials and our Contact on the current flow.
    pub(crate) fn registration(
        &self,
        endpoint: &rsipstack::transaction::endpoint::EndpointInnerRef,
    ) -> Registration {
        let mut registration = Registration::new(endpoint.clone(), Some(self.credential()));
        if let Ok(contact) = self.contact() {
            registration.contact = Some(rsipstack::sip::typed::Contact {
                display_name: None,
                uri: contact,
                params: vec![],
            });
        }
        registration
    }

    pub(crate) fn aor(&self) -> Result<Uri, SipError> {
        parse_uri(&format!("sip:{}@{}", self.config.user, self.domain()))
    }

    /// Our Contact: on the current flow to the trunk, else our UDP socket.
    pub(crate) fn contact(&self) -> Result<Uri, SipError> {
        match self.trunk().contact.clone() {
            Some(contact) => Ok(contact),
            None => parse_uri(&format!("sip:{}@{}", self.config.user, self.local)),
        }
    }

    /// A full SIP URI is used as is; anything else is a user at our domain.
    fn target_uri(&self, target: &str) -> Result<Uri, SipError> {
        if target.starts_with("sip:") || target.starts_with("sips:") {
            parse_uri(target)
        } else {
            parse_uri(&format!("sip:{}@{}", target, self.domain()))
        }
    }

    pub(crate) fn trust(&self) -> TrustPolicy {
        self.screen
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .policy
            .clone()
    }
}

pub(crate) fn parse_uri(text: &str) -> Result<Uri, SipError> {
    Uri::try_from(text).map_err(|e| SipError::InvalidUri {
        uri: text.to_owned(),
        reason: e.to_string(),
    })
}

/// Mid-call requests wait until our 200 has been ACKed: a UAS must not send them before
/// (RFC 3261 §14.1). Bounded by the time the ACK may take (64*T1).
async fn wait_for_ack(dialog: &InviteDialog) {
    let deadline = tokio::time::Instant::now() + TRANSACTION_TIMEOUT;
    while matches!(dialog.state(), DialogState::WaitAck(..))
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A panic elsewhere while holding one of these locks leaves the map consistent (single
/// inserts and removes), so a poisoned lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every address the trunk may send from; without a trunk, the practice peer.
fn trust_policy(targets: &[Target], config: &AccountConfig) -> TrustPolicy {
    let trunk = targets.iter().map(|t| t.addr.ip());
    let peer = config.trusted_peer.map(|p| p.ip());
    TrustPolicy::new(trunk.chain(peer), &config.user)
}

/// A host as it stands in a URI: IPv6 in brackets.
fn host_in_uri(host: &str) -> String {
    match host.parse::<std::net::Ipv6Addr>() {
        Ok(v6) => format!("[{v6}]"),
        Err(_) => host.to_owned(),
    }
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
