//! The I/O side of session timers ([`crate::session_timer`] decides): the headers our INVITEs,
//! UPDATEs and 2xx answers carry, and one task that refreshes sessions when it is our turn and
//! ends those the far end stopped refreshing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Request, Response, StatusCode, StatusCodeKind};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::driver::{Shared, TRANSACTION_TIMEOUT};
use crate::event::{CallId, EndReason};
use crate::screen;
use crate::session_timer::{
    self, answer_request, parse_min_se, read_answer, Refresher, SessionExpires, SessionTimer,
    TimerAction, TimerPolicy, TimerRequest, UasDecision,
};

/// Supported and Allow on our INVITEs, UPDATEs and their 2xx: the same lists the screen
/// admits. UPDATE in Allow tells the far end it may refresh without SDP.
fn capabilities() -> [Header; 2] {
    [
        Header::Supported(screen::SUPPORTED.join(", ").into()),
        Header::Allow(screen::ALLOW.join(", ").into()),
    ]
}

/// Every timed session of the agent.
pub(crate) struct Sessions {
    pub(crate) policy: TimerPolicy,
    calls: Mutex<HashMap<CallId, Session>>,
    /// Wakes the timer task when a deadline moved earlier.
    wake: Notify,
}

#[derive(Default)]
struct Session {
    /// Runs from the first 2xx on.
    timer: Option<SessionTimer>,
    /// How we will answer the far end's INVITE or UPDATE, decided when it arrived.
    answering: Option<UasDecision>,
    /// The SDP we sent last: a refresh by re-INVITE repeats it (unchanged, same version).
    last_sdp: Option<String>,
    /// The far end allows UPDATE: we refresh with it, without SDP.
    update: bool,
}

/// The Session-Expires, Min-SE and timer support a request carries.
pub(crate) fn timer_request(request: &Request) -> TimerRequest {
    TimerRequest {
        session_expires: request
            .header_value("Session-Expires")
            .and_then(|v| SessionExpires::parse(&v)),
        min_se: request
            .header_value("Min-SE")
            .and_then(|v| parse_min_se(&v)),
        supports_timer: request.header_contains_token("Supported", session_timer::TAG)
            || request.header_contains_token("Require", session_timer::TAG),
    }
}

/// Whether a message's Allow lists UPDATE.
pub(crate) fn allows_update(headers: &rsipstack::sip::Headers) -> bool {
    headers.iter().any(|h| {
        matches!(h, Header::Allow(allow)
            if allow.value().split(',').any(|m| m.trim().eq_ignore_ascii_case("UPDATE")))
    })
}

/// The 422 for a session interval below ours (RFC 4028 §6): it names our Min-SE.
pub(crate) fn too_small(min_se: u32) -> (StatusCode, Vec<Header>) {
    (
        StatusCode::from(422),
        vec![Header::MinSE(min_se.to_string().into())],
    )
}

impl Sessions {
    pub(crate) fn new(policy: TimerPolicy) -> Self {
        Self {
            policy,
            calls: Mutex::new(HashMap::new()),
            wake: Notify::new(),
        }
    }

    fn calls(&self) -> MutexGuard<'_, HashMap<CallId, Session>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The far end's INVITE or UPDATE arrived: decide our answer now. `Err(min_se)` asks for a
    /// 422; otherwise [`Sessions::answered`] gives the headers when we send the 2xx.
    pub(crate) fn on_request(&self, call: &CallId, request: &Request) -> Result<(), u32> {
        let mut calls = self.calls();
        let session = calls.entry(call.clone()).or_default();
        if allows_update(&request.headers) {
            session.update = true;
        }
        let current = session.timer.as_ref().map(SessionTimer::refresher);
        match answer_request(&timer_request(request), &self.policy, current) {
            UasDecision::TooSmall { min_se } => Err(min_se),
            decision => {
                session.answering = Some(decision);
                Ok(())
            }
        }
    }

    /// We send the 2xx to the far end's INVITE or UPDATE: the session is refreshed, and these
    /// headers go in the answer.
    pub(crate) fn answered(&self, call: &CallId, now: Instant, sdp: Option<&str>) -> Vec<Header> {
        let mut headers = capabilities().to_vec();
        let mut calls = self.calls();
        let session = calls.entry(call.clone()).or_default();
        if let Some(sdp) = sdp {
            session.last_sdp = Some(sdp.to_owned());
        }
        if let Some(UasDecision::Run {
            interval,
            refresher,
            session_expires,
            require,
        }) = session.answering.take()
        {
            start_or_refresh(session, now, interval, refresher);
            headers.push(Header::SessionExpires(session_expires.value().into()));
            if require {
                headers.push(Header::Require(session_timer::TAG.into()));
            }
        }
        drop(calls);
        self.wake.notify_one();
        headers
    }

    /// The headers of our request that starts (`call` unknown yet) or refreshes a session;
    /// `their_min_se` is the Min-SE of a 422 we are retrying after.
    pub(crate) fn request_headers(&self, call: &CallId, their_min_se: Option<u32>) -> Vec<Header> {
        let (mut offer, mut min_se) = self.policy.offer(their_min_se);
        if let Some(timer) = self.calls().get(call).and_then(|s| s.timer.as_ref()) {
            offer = SessionExpires {
                secs: timer.interval_secs(),
                refresher: Some(timer.refresher().param(true)),
            };
            min_se = min_se.min(offer.secs);
        }
        let mut headers = capabilities().to_vec();
        headers.push(Header::SessionExpires(offer.value().into()));
        headers.push(Header::MinSE(min_se.to_string().into()));
        headers
    }

    /// We sent this SDP (offer or answer) on `call`.
    pub(crate) fn sent_sdp(&self, call: &CallId, sdp: &str) {
        self.calls().entry(call.clone()).or_default().last_sdp = Some(sdp.to_owned());
    }

    /// A 2xx to our INVITE, re-INVITE or UPDATE: the session is refreshed on its terms.
    pub(crate) fn on_answer(&self, call: &CallId, response: &Response, now: Instant) {
        let answer = response
            .header_value("Session-Expires")
            .and_then(|v| SessionExpires::parse(&v));
        let mut calls = self.calls();
        let session = calls.entry(call.clone()).or_default();
        if allows_update(&response.headers) {
            session.update = true;
        }
        let current = session.timer.as_ref().map(SessionTimer::refresher);
        let asked = session
            .timer
            .as_ref()
            .map_or(self.policy.offer(None).0.secs, SessionTimer::interval_secs);
        let (interval, refresher) = read_answer(answer, asked, current);
        // A 2xx may not go below our Min-SE (§7.2); one that does is held to it.
        let interval = interval.max(self.policy.offer(None).1);
        start_or_refresh(session, now, interval, refresher);
        drop(calls);
        self.wake.notify_one();
    }

    fn refresh_failed(&self, call: &CallId, now: Instant) {
        if let Some(timer) = self.calls().get_mut(call).and_then(|s| s.timer.as_mut()) {
            timer.refresh_failed(now);
        }
        self.wake.notify_one();
    }

    pub(crate) fn remove(&self, call: &CallId) {
        self.calls().remove(call);
    }

    /// How to refresh `call`: by UPDATE (no SDP), or by re-INVITE with our last SDP.
    fn refresh_plan(&self, call: &CallId) -> Option<Option<String>> {
        let calls = self.calls();
        let session = calls.get(call)?;
        if session.update {
            Some(None)
        } else {
            session.last_sdp.clone().map(Some)
        }
    }

    /// The earliest deadline, and the actions due at `now`.
    fn poll(&self, now: Instant) -> (Option<Instant>, Vec<(CallId, TimerAction)>) {
        let mut calls = self.calls();
        let mut due = Vec::new();
        for (call, session) in calls.iter_mut() {
            if let Some(action) = session.timer.as_mut().and_then(|t| t.handle_timeout(now)) {
                due.push((call.clone(), action));
            }
        }
        let next = calls
            .values()
            .filter_map(|s| s.timer.as_ref().map(SessionTimer::poll_timeout))
            .min();
        (next, due)
    }
}

fn start_or_refresh(session: &mut Session, now: Instant, interval: u32, refresher: Refresher) {
    match session.timer.as_mut() {
        Some(timer) => timer.refreshed(now, interval, refresher),
        None => session.timer = Some(SessionTimer::new(now, interval, refresher)),
    }
}

/// The timer task: sleeps until the next deadline (or a change), then refreshes or ends.
pub(crate) async fn run_timers(shared: Arc<Shared>, cancel: CancellationToken) {
    loop {
        let (next, due) = shared.sessions.poll(Instant::now());
        for (call, action) in due {
            match action {
                TimerAction::Refresh => {
                    tokio::spawn(refresh(shared.clone(), call));
                }
                TimerAction::Expire => expire(&shared, &call),
            }
        }
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = shared.sessions.wake.notified() => {}
            _ = sleep => {}
        }
    }
}

fn expire(shared: &Arc<Shared>, call: &CallId) {
    tracing::warn!(%call, "session not refreshed in time (RFC 4028): ending the call");
    shared.sessions.remove(call);
    if shared.hang_up(call, EndReason::SessionExpired).is_err() {
        shared.end(call, EndReason::SessionExpired);
    }
}

/// Our turn to refresh: UPDATE when the far end allows it, else re-INVITE with our last SDP.
/// 408 or 481 means the session is gone (§10): end it. Another refusal is retried later.
async fn refresh(shared: Arc<Shared>, call: CallId) {
    let Ok(dialog) = shared.established(&call) else {
        return;
    };
    let Some(plan) = shared.sessions.refresh_plan(&call) else {
        // Nothing to refresh with yet (no SDP of ours recorded): try again later rather
        // than let the session run out unasked.
        shared.sessions.refresh_failed(&call, Instant::now());
        return;
    };
    // A re-INVITE of the layer above (hold, resume) in flight refreshes the session itself.
    if plan.is_some() && !shared.set_reinviting(&call, true) {
        return;
    }
    let mut headers = shared.sessions.request_headers(&call, None);
    let request = async {
        match &plan {
            None => dialog.update(Some(headers), None).await,
            Some(sdp) => {
                headers.push(Header::ContentType(crate::driver::SDP.into()));
                let body = Some(sdp.clone().into_bytes());
                dialog.reinvite(Some(headers), body).await
            }
        }
    };
    let result = tokio::time::timeout(TRANSACTION_TIMEOUT, request).await;
    if plan.is_some() {
        shared.set_reinviting(&call, false);
    }
    let method = if plan.is_some() {
        "re-INVITE"
    } else {
        "UPDATE"
    };
    match result {
        Ok(Ok(Some(resp))) if resp.status_code.kind() == StatusCodeKind::Successful => {
            tracing::debug!(%call, method, "session refreshed");
            shared.sessions.on_answer(&call, &resp, Instant::now());
        }
        Ok(Ok(Some(resp))) if matches!(resp.status_code.code(), 408 | 481) => {
            tracing::warn!(%call, method, status = resp.status_code.code(), "session refresh: the far end has lost the call");
            expire(&shared, &call);
        }
        Err(_) => {
            tracing::warn!(%call, method, "session refresh unanswered");
            expire(&shared, &call);
        }
        other => {
            tracing::warn!(%call, method, ?other, "session refresh refused; retrying later");
            shared.sessions.refresh_failed(&call, Instant::now());
        }
    }
}
