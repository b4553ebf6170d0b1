//! Keeps the account registered: REGISTER and keepalives through rsipstack, when and how often
//! decided by the sans-IO [`TrunkLink`], every change reported as a [`SipEvent`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use rsipstack::dialog::registration::Registration;
use rsipstack::sip::{Response, StatusCode, Uri};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transport::SipAddr;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::driver::{parse_uri, Shared};
use crate::event::SipEvent;
use crate::flow::{self, ClosedFlow};
use crate::keepalive;
use crate::locate::{locate, Target};
use crate::random::random_unit;
use crate::registration::{Outcome, RegistrationPolicy};
use crate::trunk_link::{Action, Change, TrunkLink};
use crate::trunk_uri::Transport;

/// How long a keepalive may go unanswered before the trunk counts as gone. OPTIONS over UDP
/// is retransmitted at 0.5 s and 1.5 s within it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The registration in use: to which target, with which Contact.
struct Current {
    target: usize,
    /// Our end of the flow the registration went over.
    local: SipAddr,
    contact: Uri,
    registration: Registration,
    /// The lifetime we ask for: ours, or the registrar's minimum once it said (423).
    expires: u32,
}

pub(crate) async fn keep_registered(
    shared: Arc<Shared>,
    endpoint: EndpointInnerRef,
    mut closed: mpsc::UnboundedReceiver<ClosedFlow>,
    cancel: CancellationToken,
) {
    let span = tracing::info_span!("register", user = %shared.config.user);
    let mut targets = shared.targets();
    let Ok(aor) = shared.aor() else {
        tracing::error!(parent: &span, "our address-of-record is not a SIP URI");
        return;
    };
    let mut roots = match tls_roots(&shared, &targets) {
        Ok(roots) => roots,
        Err(event) => {
            report(&shared, &span, event, Duration::ZERO);
            return;
        }
    };
    let credential = shared.credential();
    let mut link = TrunkLink::new(
        Instant::now(),
        shared.config.keepalive,
        RegistrationPolicy::default(),
    )
    .with_targets(targets.len());
    let mut current: Option<Current> = None;
    loop {
        let (at, action) = link.next();
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(at.into()) => {}
            Some(flow) = closed.recv() => {
                if link.is_registered() && is_current(&flow, &targets, link.target(), current.as_ref()) {
                    link.on_flow_closed(Instant::now());
                    let event = failed("the connection to the trunk closed".into());
                    report(&shared, &span, event, Duration::ZERO);
                }
                continue;
            }
        }
        let Some(target) = targets.get(link.target()) else {
            return;
        };
        let step = async {
            match action {
                Action::Register => {
                    let (outcome, event) = register_to(
                        &shared,
                        &endpoint,
                        target,
                        link.target(),
                        roots.as_deref(),
                        &mut current,
                        &mut closed,
                    )
                    .await;
                    let now = Instant::now();
                    link.on_register(now, outcome, random_unit());
                    report(
                        &shared,
                        &span,
                        event,
                        link.next().0.saturating_duration_since(now),
                    );
                }
                Action::Probe => {
                    flow::ping(&endpoint, target).await;
                    let result =
                        keepalive::probe(&endpoint, target, &aor, &credential, PROBE_TIMEOUT).await;
                    let now = Instant::now();
                    match link.on_probe(now, result, random_unit()) {
                        Change::None => {}
                        Change::Lost => {
                            let reason = format!(
                                "the trunk at {} stopped answering keepalives within {} s",
                                target.addr,
                                PROBE_TIMEOUT.as_secs()
                            );
                            report(
                                &shared,
                                &span,
                                failed(reason),
                                link.next().0.saturating_duration_since(now),
                            );
                        }
                        Change::Forgotten => {
                            let reason =
                                "the trunk no longer knows our registration (restarted?)".into();
                            report(&shared, &span, failed(reason), Duration::ZERO);
                        }
                        Change::Rebound => {
                            tracing::info!(parent: &span, "our address as the trunk sees it changed: registering again");
                        }
                    }
                }
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = step => {}
        }
        if link.take_failed_round() {
            let relocate = locate_anew(&shared, &span, &targets);
            let found = tokio::select! {
                _ = cancel.cancelled() => return,
                found = relocate => found,
            };
            if let Some(found) = found {
                if let Ok(new_roots) = tls_roots(&shared, &found) {
                    roots = new_roots;
                }
                shared.set_targets(found.clone());
                link.set_targets(found.len());
                targets = found;
                current = None;
            }
        }
    }
}

/// Whether `flow` is the one our registration went over (not an older connection to the
/// same target closing late).
fn is_current(
    flow: &ClosedFlow,
    targets: &[Target],
    index: usize,
    current: Option<&Current>,
) -> bool {
    targets.get(index).is_some_and(|t| t.addr == flow.remote)
        && current.is_some_and(|c| c.target == index && c.local == flow.local)
}

/// Until the flow whose our end is `local` closes; closes of other flows are passed over.
async fn flow_closes(closed: &mut mpsc::UnboundedReceiver<ClosedFlow>, local: &SipAddr) {
    while let Some(flow) = closed.recv().await {
        if flow.local == *local {
            return;
        }
    }
    // The stack is gone: the registration's own timeout ends the attempt.
    std::future::pending::<()>().await;
}

/// After every target failed: the trunk's DNS records may have moved. Returns the targets
/// when they differ from `known`; nothing for a trunk given by addresses only.
async fn locate_anew(
    shared: &Shared,
    span: &tracing::Span,
    known: &[Target],
) -> Option<Vec<Target>> {
    let trunk = &shared.config.trunk;
    if trunk.iter().all(|uri| uri.ip().is_some()) {
        return None;
    }
    match locate(trunk, &shared.config.dns_servers).await {
        Ok(found) if found != known => {
            tracing::info!(parent: span, ?found, "the trunk was located anew");
            Some(found)
        }
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(parent: span, "cannot locate the trunk anew: {e}");
            None
        }
    }
}

/// The roots TLS targets are verified against, read once; none when no target uses TLS.
fn tls_roots(shared: &Shared, targets: &[Target]) -> Result<Option<Vec<u8>>, SipEvent> {
    if !targets.iter().any(|t| t.transport == Transport::Tls) {
        return Ok(None);
    }
    flow::tls_roots(shared.config.tls_roots.as_deref())
        .map(Some)
        .map_err(|e| failed(e.to_string()))
}

fn failed(reason: String) -> SipEvent {
    SipEvent::RegistrationFailed {
        status: None,
        reason,
        retry_in_secs: 0,
    }
}

/// Opens the flow to `target` and registers over it, with a new registration (Call-ID) when
/// the target or our Contact on it changed.
async fn register_to(
    shared: &Shared,
    endpoint: &EndpointInnerRef,
    target: &Target,
    index: usize,
    roots: Option<&[u8]>,
    current: &mut Option<Current>,
    closed: &mut mpsc::UnboundedReceiver<ClosedFlow>,
) -> (Outcome, SipEvent) {
    let local = match flow::open(endpoint, target, roots).await {
        Ok(local) => local,
        Err(e) => {
            let reason = format!(
                "cannot reach the trunk at {} over {}: {}",
                target.addr,
                target.transport,
                explain(&e)
            );
            return (Outcome::NoAnswer, failed(reason));
        }
    };
    let Ok(contact) = contact_on(shared, &local, target.transport) else {
        return (
            Outcome::NoAnswer,
            failed("our Contact is not a SIP URI".into()),
        );
    };
    let Ok(uri) = parse_uri(&target.uri()) else {
        return (
            Outcome::NoAnswer,
            failed("the trunk's address is not a SIP URI".into()),
        );
    };
    let reuse = current
        .as_ref()
        .is_some_and(|c| c.target == index && c.contact == contact);
    if !reuse {
        shared.use_target(index, Some(contact.clone()));
        *current = Some(Current {
            target: index,
            local: local.clone(),
            contact,
            registration: shared.registration(endpoint),
            expires: u32::try_from(shared.config.expires.as_secs()).unwrap_or(u32::MAX),
        });
    }
    let Some(c) = current.as_mut() else {
        return (Outcome::NoAnswer, failed("no registration".into()));
    };
    // A trunk going down as we connect can take the connection and drop it unanswered: that
    // ends the attempt now, not at the registration's timeout.
    tokio::select! {
        done = register(shared, &mut c.registration, &uri, &mut c.expires) => done,
        () = flow_closes(closed, &local) => (
            Outcome::NoAnswer,
            failed("the connection to the trunk closed while registering".into()),
        ),
    }
}

/// Our Contact on a flow: its local address, with the transport named for TCP and TLS so
/// the trunk sends calls back over the connection.
fn contact_on(
    shared: &Shared,
    local: &SipAddr,
    transport: Transport,
) -> Result<Uri, crate::SipError> {
    let user = &shared.config.user;
    let at = &local.addr;
    match transport {
        Transport::Udp => parse_uri(&format!("sip:{user}@{at}")),
        t => parse_uri(&format!("sip:{user}@{at};transport={}", t.param())),
    }
}

/// A transport error, in words an administrator can act on.
fn explain(error: &rsipstack::Error) -> String {
    let text = error.to_string();
    if text.contains("certificate") || text.contains("Certificate") {
        format!("the trunk's TLS certificate was refused ({text})")
    } else {
        text
    }
}

type Answer = Result<Result<Response, rsipstack::Error>, tokio::time::error::Elapsed>;

async fn register_once(
    shared: &Shared,
    registration: &mut Registration,
    uri: &Uri,
    expires: u32,
) -> Answer {
    tokio::time::timeout(
        shared.config.register_timeout,
        registration.register(uri.clone(), Some(expires)),
    )
    .await
}

/// The registrar's minimum lifetime from a 423 answer.
fn min_expires(resp: &Response) -> Option<u32> {
    if resp.status_code.code() != 423 {
        return None;
    }
    resp.headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Min-Expires"))
        .and_then(|h| h.value().trim().parse().ok())
}

/// Reports a registration change, with the wait before the next attempt filled in.
fn report(shared: &Shared, span: &tracing::Span, event: SipEvent, wait: Duration) {
    let event = match event {
        SipEvent::RegistrationFailed { status, reason, .. } => {
            tracing::warn!(parent: span, ?status, %reason, retry_in = ?wait, "registration failed");
            SipEvent::RegistrationFailed {
                status,
                reason,
                // Rounded up: an agent told "1 s" must not still be waiting at 1.9 s.
                retry_in_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        }
        other => {
            tracing::info!(parent: span, next_in = ?wait, "registered");
            other
        }
    };
    shared.emit(event);
}

/// One REGISTER (with its digest retry), bounded in time; what it means and what to report.
async fn register(
    shared: &Shared,
    registration: &mut Registration,
    uri: &Uri,
    expires: &mut u32,
) -> (Outcome, SipEvent) {
    let mut outcome = register_once(shared, registration, uri, *expires).await;
    // 423 Interval Too Brief: ask again, at once, for the registrar's minimum (RFC 3261
    // §10.2.8), and keep asking for it on refreshes.
    if let Ok(Ok(resp)) = &outcome {
        if let Some(min) = min_expires(resp).filter(|m| *m > *expires) {
            tracing::info!(
                asked = *expires,
                min,
                "the registrar wants a longer registration"
            );
            *expires = min;
            outcome = register_once(shared, registration, uri, *expires).await;
        }
    }
    match outcome {
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
    }
}
