//! Session timers (RFC 4028): the two ends agree on an interval and on who refreshes the
//! session (re-INVITE or UPDATE) before it runs out. A call whose far end vanished without a
//! BYE (a crashed phone, a trunk that lost it) then ends by itself instead of keeping the
//! agent "on a call" forever.
//!
//! Sans-IO: header values in, decisions and deadlines out; the driver sends the requests.

use std::time::{Duration, Instant};

/// RFC 4028 §4: no Min-SE may be lower than this.
pub const MIN_SE_FLOOR: u32 = 90;
/// The option tag in Supported and Require.
pub const TAG: &str = "timer";

/// Who refreshes, as the `refresher` parameter says it: relative to the transaction that
/// carries it (the sender of the request is the `uac`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefresherParam {
    Uac,
    Uas,
}

/// Who refreshes, from our point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Us,
    Them,
}

impl Refresher {
    /// The wire parameter for a transaction where we are the client (`we_sent` true) or the
    /// server.
    pub fn param(self, we_sent: bool) -> RefresherParam {
        match (self, we_sent) {
            (Refresher::Us, true) | (Refresher::Them, false) => RefresherParam::Uac,
            (Refresher::Us, false) | (Refresher::Them, true) => RefresherParam::Uas,
        }
    }

    fn from_param(param: RefresherParam, we_sent: bool) -> Self {
        match (param, we_sent) {
            (RefresherParam::Uac, true) | (RefresherParam::Uas, false) => Refresher::Us,
            (RefresherParam::Uac, false) | (RefresherParam::Uas, true) => Refresher::Them,
        }
    }
}

/// A Session-Expires value: `delta-seconds *(;param)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    pub secs: u32,
    pub refresher: Option<RefresherParam>,
}

impl SessionExpires {
    /// Reads a header value; `None` when it is not delta-seconds with parameters. An unknown
    /// `refresher` value is treated as absent, as an unknown parameter is.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split(';').map(str::trim);
        let secs = delta_seconds(parts.next()?)?;
        let mut refresher = None;
        for part in parts {
            if let Some((name, v)) = part.split_once('=') {
                if name.trim().eq_ignore_ascii_case("refresher") {
                    refresher = match v.trim().to_ascii_lowercase().as_str() {
                        "uac" => Some(RefresherParam::Uac),
                        "uas" => Some(RefresherParam::Uas),
                        _ => None,
                    };
                }
            }
        }
        Some(Self { secs, refresher })
    }

    pub fn value(&self) -> String {
        match self.refresher {
            Some(RefresherParam::Uac) => format!("{};refresher=uac", self.secs),
            Some(RefresherParam::Uas) => format!("{};refresher=uas", self.secs),
            None => self.secs.to_string(),
        }
    }
}

/// Reads a Min-SE value (delta-seconds, parameters ignored).
pub fn parse_min_se(value: &str) -> Option<u32> {
    delta_seconds(value.split(';').next()?.trim())
}

fn delta_seconds(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // RFC 3261 §25: a delta-seconds too large to hold means "very long"; a session timer
    // that long is the same as none, and the largest value we hold is as good.
    Some(text.parse().unwrap_or(u32::MAX))
}

/// What we ask for and accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerPolicy {
    /// The interval we ask for in our INVITEs, and use when the far end names none.
    pub expires: u32,
    /// The shortest interval we accept (never below [`MIN_SE_FLOOR`]).
    pub min_se: u32,
}

impl Default for TimerPolicy {
    fn default() -> Self {
        // PJSIP's and baresip's defaults: half an hour, refreshed every quarter.
        Self {
            expires: 1800,
            min_se: MIN_SE_FLOOR,
        }
    }
}

impl TimerPolicy {
    fn min_se(&self) -> u32 {
        self.min_se.max(MIN_SE_FLOOR)
    }

    /// The Session-Expires and Min-SE of our initial INVITE; after a 422 the far end's
    /// Min-SE (`their_min_se`) raises both (RFC 4028 §7.4).
    pub fn offer(&self, their_min_se: Option<u32>) -> (SessionExpires, u32) {
        let min_se = self.min_se().max(their_min_se.unwrap_or(0));
        let offer = SessionExpires {
            secs: self.expires.max(min_se),
            refresher: None,
        };
        (offer, min_se)
    }
}

/// What the far end asked for in a request that starts or refreshes the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimerRequest {
    pub session_expires: Option<SessionExpires>,
    pub min_se: Option<u32>,
    /// `timer` in its Supported (or Require).
    pub supports_timer: bool,
}

/// How we answer such a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UasDecision {
    /// 422 Session Interval Too Small, with our Min-SE.
    TooSmall { min_se: u32 },
    /// Run the timer; the 2xx carries `session_expires`, and `Require: timer` when `require`.
    Run {
        interval: u32,
        refresher: Refresher,
        session_expires: SessionExpires,
        require: bool,
    },
}

/// RFC 4028 §9: the answer of the UAS to an INVITE or UPDATE. With no Session-Expires in the
/// request we still run a timer, refreshing it ourselves (§9 allows it): that is what ends a
/// call whose far end vanished. `current` is the refresher agreed so far in this dialog, kept
/// when a refresh names none.
pub fn answer_request(
    request: &TimerRequest,
    policy: &TimerPolicy,
    current: Option<Refresher>,
) -> UasDecision {
    let refresher = |asked: Option<RefresherParam>| match asked {
        Some(param) => Refresher::from_param(param, false),
        None => match current {
            Some(kept) => kept,
            // §9: a UAC that supports timers refreshes its own session; one that does not
            // cannot, so we do.
            None if request.supports_timer => Refresher::Them,
            None => Refresher::Us,
        },
    };
    let (interval, refresher) = match request.session_expires {
        Some(asked) if asked.secs < policy.min_se() => {
            return UasDecision::TooSmall {
                min_se: policy.min_se(),
            }
        }
        Some(asked) => (asked.secs, refresher(asked.refresher)),
        None => {
            let floor = request.min_se.unwrap_or(0).max(policy.min_se());
            (policy.expires.max(floor), refresher(None))
        }
    };
    // Only a UAC that supports timers may be made the refresher.
    let refresher = if request.supports_timer {
        refresher
    } else {
        Refresher::Us
    };
    UasDecision::Run {
        interval,
        refresher,
        session_expires: SessionExpires {
            secs: interval,
            refresher: Some(refresher.param(false)),
        },
        require: request.supports_timer,
    }
}

/// RFC 4028 §7.2: what the 2xx to our INVITE or UPDATE means. A 2xx without Session-Expires
/// comes from a UAS that does not do timers: we run one alone, as the refresher.
pub fn read_answer(
    answer: Option<SessionExpires>,
    asked: u32,
    current: Option<Refresher>,
) -> (u32, Refresher) {
    match answer {
        Some(se) => {
            let refresher = match se.refresher {
                Some(param) => Refresher::from_param(param, true),
                None => current.unwrap_or(Refresher::Us),
            };
            (se.secs, refresher)
        }
        None => (asked, Refresher::Us),
    }
}

/// What the timer asks of the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerAction {
    /// Send a refresh (UPDATE, or re-INVITE with the SDP we sent last).
    Refresh,
    /// The session was not refreshed in time: send BYE and end the call.
    Expire,
}

/// The timer of one session.
#[derive(Debug, Clone)]
pub struct SessionTimer {
    interval: Duration,
    refresher: Refresher,
    /// When the session was last refreshed (a 2xx to an INVITE or UPDATE).
    since: Instant,
    /// Our refresh is in flight (or failed): the next event is the expiry, or a retry.
    next_refresh: Option<Instant>,
}

impl SessionTimer {
    pub fn new(now: Instant, interval_secs: u32, refresher: Refresher) -> Self {
        let mut timer = Self {
            interval: Duration::ZERO,
            refresher,
            since: now,
            next_refresh: None,
        };
        timer.refreshed(now, interval_secs, refresher);
        timer
    }

    pub fn refresher(&self) -> Refresher {
        self.refresher
    }

    pub fn interval_secs(&self) -> u32 {
        u32::try_from(self.interval.as_secs()).unwrap_or(u32::MAX)
    }

    /// A 2xx to an INVITE or UPDATE (from either end) renewed the session.
    pub fn refreshed(&mut self, now: Instant, interval_secs: u32, refresher: Refresher) {
        self.interval = Duration::from_secs(u64::from(interval_secs.max(1)));
        self.refresher = refresher;
        self.since = now;
        // §10: the refresher sends its refresh half way through the interval.
        self.next_refresh = (refresher == Refresher::Us).then(|| now + self.interval / 2);
    }

    /// Our refresh was refused with something other than 408 or 481: try again half way to
    /// the expiry (at least a second later), until it runs out.
    pub fn refresh_failed(&mut self, now: Instant) {
        let left = self.expiry().saturating_duration_since(now);
        let retry = (left / 2).max(Duration::from_secs(1));
        self.next_refresh = (now + retry < self.expiry()).then_some(now + retry);
    }

    /// When the session ends unless refreshed. The side that does not refresh gives the
    /// refresher some slack before it: min(32 s, a third of the interval) (§10).
    fn expiry(&self) -> Instant {
        let slack = match self.refresher {
            Refresher::Us => Duration::ZERO,
            Refresher::Them => (self.interval / 3).min(Duration::from_secs(32)),
        };
        self.since + self.interval - slack
    }

    #[must_use]
    pub fn poll_timeout(&self) -> Instant {
        match self.next_refresh {
            Some(at) => at.min(self.expiry()),
            None => self.expiry(),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Option<TimerAction> {
        if now >= self.expiry() {
            self.next_refresh = None;
            return Some(TimerAction::Expire);
        }
        match self.next_refresh {
            Some(at) if now >= at => {
                self.next_refresh = None;
                Some(TimerAction::Refresh)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(se: Option<&str>, min_se: Option<u32>, supports: bool) -> TimerRequest {
        TimerRequest {
            session_expires: se.and_then(SessionExpires::parse),
            min_se,
            supports_timer: supports,
        }
    }

    #[test]
    fn session_expires_values_are_read_and_written() {
        assert_eq!(
            SessionExpires::parse(" 1800 ; refresher = UAS "),
            Some(SessionExpires {
                secs: 1800,
                refresher: Some(RefresherParam::Uas)
            })
        );
        assert_eq!(SessionExpires::parse("90").map(|s| s.refresher), Some(None));
        assert_eq!(
            SessionExpires::parse("120;refresher=both").map(|s| s.refresher),
            Some(None)
        );
        for bad in ["", "abc", "-5", "1.5", ";refresher=uac", "0x10"] {
            assert_eq!(SessionExpires::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            SessionExpires::parse("99999999999999").map(|s| s.secs),
            Some(u32::MAX)
        );
        let se = SessionExpires {
            secs: 600,
            refresher: Some(RefresherParam::Uac),
        };
        assert_eq!(SessionExpires::parse(&se.value()), Some(se));
        assert_eq!(parse_min_se("120;x=1"), Some(120));
        assert_eq!(parse_min_se("soon"), None);
    }

    #[test]
    fn an_interval_below_our_min_se_is_refused_with_422() {
        let policy = TimerPolicy::default();
        assert_eq!(
            answer_request(&request(Some("30"), None, true), &policy, None),
            UasDecision::TooSmall { min_se: 90 }
        );
        // A configured Min-SE below the RFC's floor is raised to it.
        let low = TimerPolicy {
            expires: 1800,
            min_se: 10,
        };
        assert_eq!(
            answer_request(&request(Some("60"), None, true), &low, None),
            UasDecision::TooSmall { min_se: 90 }
        );
    }

    #[test]
    fn the_requested_refresher_is_honoured_and_translated_to_our_side() {
        let policy = TimerPolicy::default();
        let run = |se: &str, supports: bool| match answer_request(
            &request(Some(se), None, supports),
            &policy,
            None,
        ) {
            UasDecision::Run {
                interval,
                refresher,
                session_expires,
                require,
            } => (interval, refresher, session_expires.value(), require),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            run("90;refresher=uas", true),
            (90, Refresher::Us, "90;refresher=uas".into(), true)
        );
        assert_eq!(
            run("600;refresher=uac", true),
            (600, Refresher::Them, "600;refresher=uac".into(), true)
        );
        // No refresher named: a UAC that supports timers refreshes its own session.
        assert_eq!(
            run("600", true),
            (600, Refresher::Them, "600;refresher=uac".into(), true)
        );
        // A UAC without timer support cannot refresh, and cannot be sent Require: timer.
        assert_eq!(
            run("600;refresher=uac", false),
            (600, Refresher::Us, "600;refresher=uas".into(), false)
        );
    }

    #[test]
    fn without_a_session_expires_we_run_our_own_timer() {
        let policy = TimerPolicy::default();
        let decision = answer_request(&request(None, Some(2000), false), &policy, None);
        assert_eq!(
            decision,
            UasDecision::Run {
                interval: 2000,
                refresher: Refresher::Us,
                session_expires: SessionExpires {
                    secs: 2000,
                    refresher: Some(RefresherParam::Uas)
                },
                require: false,
            }
        );
        // A refresh naming no refresher keeps the one agreed before.
        let kept = answer_request(&request(None, None, true), &policy, Some(Refresher::Us));
        assert!(matches!(
            kept,
            UasDecision::Run {
                refresher: Refresher::Us,
                ..
            }
        ));
    }

    #[test]
    fn our_offer_follows_a_422() {
        let policy = TimerPolicy::default();
        assert_eq!(policy.offer(None).0.secs, 1800);
        assert_eq!(policy.offer(None).1, 90);
        let (se, min_se) = policy.offer(Some(3600));
        assert_eq!((se.secs, min_se), (3600, 3600));
        assert_eq!(se.value(), "3600");
    }

    #[test]
    fn the_answer_to_our_request_names_the_refresher_from_its_side() {
        let se = |v: &str| SessionExpires::parse(v);
        assert_eq!(
            read_answer(se("90;refresher=uac"), 1800, None),
            (90, Refresher::Us)
        );
        assert_eq!(
            read_answer(se("900;refresher=uas"), 1800, None),
            (900, Refresher::Them)
        );
        assert_eq!(read_answer(None, 1800, None), (1800, Refresher::Us));
    }

    #[test]
    fn the_refresher_refreshes_half_way_and_expires_only_without_a_refresh() {
        let t0 = Instant::now();
        let mut timer = SessionTimer::new(t0, 90, Refresher::Us);
        assert_eq!(timer.poll_timeout(), t0 + Duration::from_secs(45));
        assert_eq!(timer.handle_timeout(t0 + Duration::from_secs(44)), None);
        let at = t0 + Duration::from_secs(45);
        assert_eq!(timer.handle_timeout(at), Some(TimerAction::Refresh));
        // Once asked, not asked again; the expiry is what is left.
        assert_eq!(timer.handle_timeout(at), None);
        assert_eq!(timer.poll_timeout(), t0 + Duration::from_secs(90));
        timer.refreshed(at + Duration::from_secs(1), 90, Refresher::Us);
        assert_eq!(timer.poll_timeout(), t0 + Duration::from_secs(91));
        // A refresh that never comes back ends the session at the interval.
        assert_eq!(
            timer.handle_timeout(t0 + Duration::from_secs(91)),
            Some(TimerAction::Refresh)
        );
        assert_eq!(
            timer.handle_timeout(t0 + Duration::from_secs(136)),
            Some(TimerAction::Expire)
        );
    }

    #[test]
    fn a_refused_refresh_is_retried_until_the_session_runs_out() {
        let t0 = Instant::now();
        let mut timer = SessionTimer::new(t0, 100, Refresher::Us);
        let at = t0 + Duration::from_secs(50);
        assert_eq!(timer.handle_timeout(at), Some(TimerAction::Refresh));
        timer.refresh_failed(at);
        assert_eq!(timer.poll_timeout(), t0 + Duration::from_secs(75));
        let mut now = timer.poll_timeout();
        let mut refreshes = 1;
        while let Some(action) = timer.handle_timeout(now) {
            if action == TimerAction::Expire {
                break;
            }
            refreshes += 1;
            timer.refresh_failed(now);
            now = timer.poll_timeout();
        }
        assert!(refreshes > 3, "{refreshes}");
        assert_eq!(now, t0 + Duration::from_secs(100));
    }

    #[test]
    fn the_other_side_gets_slack_before_we_end_the_session() {
        let t0 = Instant::now();
        // min(32 s, interval/3): 30 s for 90 s, 32 s for 1800 s.
        let timer = SessionTimer::new(t0, 90, Refresher::Them);
        assert_eq!(timer.poll_timeout(), t0 + Duration::from_secs(60));
        let mut long = SessionTimer::new(t0, 1800, Refresher::Them);
        assert_eq!(long.poll_timeout(), t0 + Duration::from_secs(1768));
        assert_eq!(long.handle_timeout(t0 + Duration::from_secs(1767)), None);
        let refreshed = t0 + Duration::from_secs(900);
        long.refreshed(refreshed, 1800, Refresher::Them);
        assert_eq!(
            long.handle_timeout(t0 + Duration::from_secs(1768)),
            None,
            "a refresh moves the expiry"
        );
        assert_eq!(
            long.handle_timeout(refreshed + Duration::from_secs(1768)),
            Some(TimerAction::Expire)
        );
    }
}
