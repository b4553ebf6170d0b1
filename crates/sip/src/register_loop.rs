//! Keeps the account registered: REGISTER and keepalives through rsipstack, when and how often
//! decided by the sans-IO [`TrunkLink`], every change reported as a [`SipEvent`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsipstack::dialog::registration::Registration;
use rsipstack::sip::{StatusCode, Uri};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use tokio_util::sync::CancellationToken;

use crate::driver::{registrar_uri, Shared};
use crate::event::SipEvent;
use crate::keepalive;
use crate::random::random_unit;
use crate::registration::{Outcome, RegistrationPolicy};
use crate::trunk_link::{Action, Change, TrunkLink};

/// How long a keepalive may go unanswered before the trunk counts as gone. OPTIONS over UDP
/// is retransmitted at 0.5 s and 1.5 s within it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) async fn keep_registered(
    shared: Arc<Shared>,
    endpoint: EndpointInnerRef,
    mut registration: Registration,
    registrar: SocketAddr,
    cancel: CancellationToken,
) {
    let span = tracing::info_span!("register", user = %shared.config.user, %registrar);
    let (Ok(uri), Ok(aor)) = (registrar_uri(registrar), shared.aor()) else {
        tracing::error!(parent: &span, "registrar address is not a SIP URI");
        return;
    };
    let credential = shared.credential();
    let mut link = TrunkLink::new(
        Instant::now(),
        shared.config.keepalive,
        RegistrationPolicy::default(),
    );
    loop {
        let (at, action) = link.next();
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(at.into()) => {}
        }
        let step = async {
            match action {
                Action::Register => {
                    let (outcome, event) = register(&shared, &mut registration, &uri).await;
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
                    let result =
                        keepalive::probe(&endpoint, registrar, &aor, &credential, PROBE_TIMEOUT)
                            .await;
                    let now = Instant::now();
                    match link.on_probe(now, result, random_unit()) {
                        Change::None => {}
                        Change::Lost => {
                            let reason = format!(
                                "the trunk stopped answering keepalives within {} s",
                                PROBE_TIMEOUT.as_secs()
                            );
                            let event = SipEvent::RegistrationFailed {
                                status: None,
                                reason,
                                retry_in_secs: 0,
                            };
                            report(
                                &shared,
                                &span,
                                event,
                                link.next().0.saturating_duration_since(now),
                            );
                        }
                        Change::Forgotten => {
                            let event = SipEvent::RegistrationFailed {
                                status: None,
                                reason: "the trunk no longer knows our registration (restarted?)"
                                    .into(),
                                retry_in_secs: 0,
                            };
                            report(&shared, &span, event, Duration::ZERO);
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
    }
}

/// Reports a registration change, with the wait before the next attempt filled in.
fn report(shared: &Shared, span: &tracing::Span, event: SipEvent, wait: Duration) {
    let event = match event {
        SipEvent::RegistrationFailed { status, reason, .. } => {
            tracing::warn!(parent: span, ?status, %reason, retry_in = ?wait, "registration failed");
            SipEvent::RegistrationFailed {
                status,
                reason,
                retry_in_secs: wait.as_secs().max(1),
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
) -> (Outcome, SipEvent) {
    let expires = u32::try_from(shared.config.expires.as_secs()).unwrap_or(u32::MAX);
    let outcome = tokio::time::timeout(
        shared.config.register_timeout,
        registration.register(uri.clone(), Some(expires)),
    )
    .await;
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
