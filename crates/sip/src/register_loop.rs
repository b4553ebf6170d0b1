//! Keeps the account registered: REGISTER through rsipstack, when and how often decided by the
//! sans-IO [`RegistrationPolicy`], every outcome reported as a [`SipEvent`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsipstack::dialog::registration::Registration;
use rsipstack::sip::StatusCode;
use tokio_util::sync::CancellationToken;

use crate::driver::{random_unit, registrar_uri, Shared};
use crate::event::SipEvent;
use crate::registration::{Outcome, RegistrationPolicy};

pub(crate) async fn keep_registered(
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
