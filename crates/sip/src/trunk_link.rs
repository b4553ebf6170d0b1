//! Whether the trunk is there, sans-IO: keepalives while registered, probes while it is gone,
//! REGISTER when it is back. The driver reports what each REGISTER and probe got, with the
//! current instant and a random draw; the link says what to do next, and when.
//!
//! A trunk that restarts forgets our registration (Kamailio keeps it in memory), and nothing
//! tells us so: the only way to learn is to ask. Keepalives (OPTIONS) every few seconds find a
//! silent trunk; they are addressed to our own address-of-record, so a trunk that restarted
//! between two of them answers "not found" and we register again at once. Once the trunk is
//! lost, cheap probes find it again within the probe cap, and only then is a REGISTER sent.
//! Refusals (403) are not loss: they back off as the policy says.
//!
//! With several targets (configured, or from DNS SRV) the link also says which one to use.
//! A target that does not answer, or answers 5xx, hands over to the next at once; a
//! registered target that goes silent does too. Only when every target has failed in a row
//! does the link wait: probes (or the policy's backoff for refusals), still going round the
//! targets, so whichever comes back first is used.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::registration::{Outcome, RegistrationPolicy};

/// The first probe after the trunk went silent; later ones double up to [`PROBE_CAP`].
const FIRST_PROBE: Duration = Duration::from_secs(1);
/// The longest between probes: a restarted trunk is found this long after it is back, at most.
const PROBE_CAP: Duration = Duration::from_secs(4);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Register,
    /// Send a keepalive (OPTIONS) and report with [`TrunkLink::on_probe`].
    Probe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeResult {
    /// Any answer, even a challenge. `seen_as` is our address as the trunk saw it (Via
    /// `received`/`rport`), when it said.
    Answered {
        seen_as: Option<SocketAddr>,
    },
    /// The trunk answered that it does not know our address-of-record (404, 480, 410 to the
    /// keepalive we address to ourselves): it restarted and forgot our registration.
    Forgotten,
    NoAnswer,
}

/// What changed, for the driver to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// The trunk stopped answering while we were registered.
    Lost,
    /// Our address as the trunk sees it moved (a NAT rebinding): registering again.
    Rebound,
    /// The trunk is there but has forgotten us: registering again at once.
    Forgotten,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not registered yet, or refused: REGISTER on the policy's schedule.
    Unregistered,
    Registered {
        refresh_at: Instant,
    },
    /// The trunk went silent: probe until it answers.
    Lost {
        probes: u32,
    },
}

#[derive(Debug, Clone)]
pub struct TrunkLink {
    policy: RegistrationPolicy,
    keepalive: Duration,
    state: State,
    next: (Instant, Action),
    seen_as: Option<SocketAddr>,
    /// Keepalives answered since the last successful REGISTER.
    probes_since_register: u32,
    /// Registrations the very next keepalive called forgotten, in a row. A trunk that says
    /// "not found" to every OPTIONS for a user cannot tell us about our binding: after
    /// [`UNTRUSTED_AFTER`] such answers, "not found" counts as a plain answer.
    forgotten_at_once: u32,
    /// How many targets there are, which one is in use, and how many failed in a row.
    targets: usize,
    current: usize,
    failed_in_row: usize,
    /// Every target failed in a row since the driver last asked: time to locate them anew.
    round_failed: bool,
}

/// Fresh registrations "forgotten" at the first keepalive before we stop believing it.
const UNTRUSTED_AFTER: u32 = 2;

impl TrunkLink {
    /// Registers at once; keeps alive every `keepalive` (jittered) once registered.
    pub fn new(now: Instant, keepalive: Duration, policy: RegistrationPolicy) -> Self {
        Self {
            policy,
            keepalive: keepalive.max(Duration::from_secs(1)),
            state: State::Unregistered,
            next: (now, Action::Register),
            seen_as: None,
            probes_since_register: 0,
            forgotten_at_once: 0,
            targets: 1,
            current: 0,
            failed_in_row: 0,
            round_failed: false,
        }
    }

    /// Goes round `count` targets (at least one), starting with the first.
    pub fn with_targets(mut self, count: usize) -> Self {
        self.set_targets(count);
        self
    }

    /// The targets were located anew: `count` of them, tried from the first. What the link
    /// is doing (waiting, probing) goes on; the next action is for the new first target.
    pub fn set_targets(&mut self, count: usize) {
        self.targets = count.max(1);
        self.current = 0;
        self.failed_in_row = 0;
    }

    /// Whether every target failed in a row since the last call (and forgets it).
    pub fn take_failed_round(&mut self) -> bool {
        std::mem::take(&mut self.round_failed)
    }

    /// The target the next action is for (an index into the driver's list).
    pub fn target(&self) -> usize {
        self.current
    }

    /// Moves to the next target; true while some target has not failed in this row.
    fn fail_over(&mut self) -> bool {
        self.failed_in_row += 1;
        self.current = (self.current + 1) % self.targets;
        if self.failed_in_row < self.targets {
            return true;
        }
        self.failed_in_row = 0;
        self.round_failed = true;
        false
    }

    pub fn next(&self) -> (Instant, Action) {
        self.next
    }

    pub fn is_registered(&self) -> bool {
        matches!(self.state, State::Registered { .. })
    }

    /// `draw` is uniform in [0, 1).
    pub fn on_register(&mut self, now: Instant, outcome: Outcome, draw: f64) {
        match outcome {
            Outcome::Registered { .. } => {
                self.probes_since_register = 0;
                self.failed_in_row = 0;
                let refresh_at = self.policy.next_attempt(now, outcome, draw);
                self.state = State::Registered { refresh_at };
                self.next = self.after_keepalive(now, refresh_at, draw);
            }
            Outcome::Rejected { status } if status >= 500 && self.fail_over() => {
                self.state = State::Unregistered;
                self.next = (now, Action::Register);
            }
            Outcome::NoAnswer if self.fail_over() => {
                self.state = State::Unregistered;
                self.next = (now, Action::Register);
            }
            Outcome::Rejected { .. } => {
                self.state = State::Unregistered;
                self.next = (
                    self.policy.next_attempt(now, outcome, draw),
                    Action::Register,
                );
            }
            Outcome::NoAnswer => {
                // Count it, so a trunk that answers probes but never REGISTERs backs off.
                self.policy.next_attempt(now, outcome, draw);
                self.lose(now, draw);
            }
        }
    }

    pub fn on_probe(&mut self, now: Instant, result: ProbeResult, draw: f64) -> Change {
        let result = self.believe(result);
        match (self.state, result) {
            (State::Registered { refresh_at }, ProbeResult::Answered { seen_as }) => {
                let moved = matches!((self.seen_as, seen_as), (Some(a), Some(b)) if a != b);
                if seen_as.is_some() {
                    self.seen_as = seen_as;
                }
                if moved {
                    self.next = (now, Action::Register);
                    return Change::Rebound;
                }
                self.next = self.after_keepalive(now, refresh_at, draw);
                Change::None
            }
            (State::Registered { .. }, ProbeResult::Forgotten) => {
                self.next = (now, Action::Register);
                Change::Forgotten
            }
            (State::Lost { .. }, ProbeResult::Forgotten) => {
                self.next = (now, Action::Register);
                Change::None
            }
            (State::Registered { .. }, ProbeResult::NoAnswer) => {
                if self.fail_over() {
                    self.state = State::Unregistered;
                    self.next = (now, Action::Register);
                } else {
                    self.lose(now, draw);
                }
                Change::Lost
            }
            (State::Lost { .. }, ProbeResult::Answered { seen_as }) => {
                self.seen_as = seen_as.or(self.seen_as);
                self.next = (now, Action::Register);
                Change::None
            }
            (State::Lost { probes }, ProbeResult::NoAnswer) => {
                self.current = (self.current + 1) % self.targets;
                self.state = State::Lost { probes: probes + 1 };
                self.next = (now + probe_delay(probes + 1, draw), Action::Probe);
                Change::None
            }
            // A probe result with no probe outstanding: nothing to do.
            (State::Unregistered, _) => Change::None,
        }
    }

    /// The connection (TCP, TLS) to the current target closed under us: our Contact named
    /// it, so register again at once, over a new one. If that fails, the usual hand-over.
    pub fn on_flow_closed(&mut self, now: Instant) {
        if self.is_registered() {
            self.state = State::Unregistered;
            self.next = (now, Action::Register);
        }
    }

    /// "Not found" from a trunk that says it to every fresh registration is no news.
    fn believe(&mut self, result: ProbeResult) -> ProbeResult {
        if !self.is_registered() {
            return result;
        }
        let first = self.probes_since_register == 0;
        self.probes_since_register = self.probes_since_register.saturating_add(1);
        match result {
            ProbeResult::Forgotten if self.forgotten_at_once >= UNTRUSTED_AFTER => {
                ProbeResult::Answered { seen_as: None }
            }
            ProbeResult::Forgotten if first => {
                self.forgotten_at_once += 1;
                result
            }
            ProbeResult::Answered { .. } if first => {
                self.forgotten_at_once = 0;
                result
            }
            other => other,
        }
    }

    fn lose(&mut self, now: Instant, draw: f64) {
        self.state = State::Lost { probes: 0 };
        self.next = (now + probe_delay(0, draw), Action::Probe);
    }

    /// The next keepalive (jittered down by up to a fifth), unless the refresh comes first.
    fn after_keepalive(&self, now: Instant, refresh_at: Instant, draw: f64) -> (Instant, Action) {
        let keepalive = now + self.keepalive.mul_f64(1.0 - 0.2 * draw.clamp(0.0, 1.0));
        if refresh_at <= keepalive {
            (refresh_at, Action::Register)
        } else {
            (keepalive, Action::Probe)
        }
    }
}

/// 1 s, 2 s, 4 s, 4 s... each drawn between three quarters and all of it, so desks that lost
/// the trunk together do not probe it in step.
fn probe_delay(probes: u32, draw: f64) -> Duration {
    let delay = FIRST_PROBE
        .saturating_mul(1 << probes.min(8))
        .min(PROBE_CAP);
    delay.mul_f64(0.75 + 0.25 * draw.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trunk_that_forgets_every_fresh_registration_is_not_believed_for_ever() {
        let now = Instant::now();
        let granted = Duration::from_secs(600);
        let mut link = TrunkLink::new(now, KEEPALIVE, RegistrationPolicy::default());
        let mut registers = 0;
        for step in 0..20u32 {
            let t = now + Duration::from_secs(u64::from(step));
            match link.next().1 {
                Action::Register => {
                    registers += 1;
                    link.on_register(t, Outcome::Registered { granted }, 0.5);
                }
                Action::Probe => {
                    link.on_probe(t, ProbeResult::Forgotten, 0.5);
                }
            }
        }
        // The first REGISTER, then one per "forgotten" until they stop being believed.
        assert_eq!(registers, 1 + UNTRUSTED_AFTER as usize);
        assert!(link.is_registered());
        assert_eq!(link.next().1, Action::Probe);
    }

    #[test]
    fn a_forgotten_binding_after_answered_keepalives_is_registered_again_at_once() {
        let now = Instant::now();
        let mut link = registered(now);
        let t = now + KEEPALIVE;
        link.on_probe(t, ProbeResult::Answered { seen_as: None }, 0.5);
        let later = link.next().0;
        assert_eq!(
            link.on_probe(later, ProbeResult::Forgotten, 0.5),
            Change::Forgotten
        );
        assert_eq!(link.next(), (later, Action::Register));
    }

    const KEEPALIVE: Duration = Duration::from_secs(15);

    fn registered(now: Instant) -> TrunkLink {
        let mut link = TrunkLink::new(now, KEEPALIVE, RegistrationPolicy::default());
        assert_eq!(link.next(), (now, Action::Register));
        let granted = Duration::from_secs(600);
        link.on_register(now, Outcome::Registered { granted }, 0.0);
        link
    }

    #[test]
    fn registered_link_keeps_alive_until_the_refresh_is_due() {
        let now = Instant::now();
        let mut link = registered(now);
        assert_eq!(link.next(), (now + KEEPALIVE, Action::Probe));
        // Keepalives every 15 s until the refresh at 420 s (70 % of 600) comes first.
        let mut probes = 0;
        while link.next().1 == Action::Probe {
            let t = link.next().0;
            link.on_probe(t, ProbeResult::Answered { seen_as: None }, 0.0);
            probes += 1;
        }
        assert_eq!(probes, 27);
        assert_eq!(
            link.next(),
            (now + Duration::from_secs(420), Action::Register)
        );
    }

    #[test]
    fn a_silent_trunk_is_probed_at_most_four_seconds_apart_then_registered_at_once() {
        let now = Instant::now();
        let mut link = registered(now);
        let t = now + KEEPALIVE;
        assert_eq!(link.on_probe(t, ProbeResult::NoAnswer, 0.999), Change::Lost);
        assert!(!link.is_registered());
        let mut gaps = Vec::new();
        let mut at = t;
        for _ in 0..5 {
            let (next, action) = link.next();
            assert_eq!(action, Action::Probe);
            gaps.push((next - at).as_millis().div_ceil(100) * 100);
            at = next;
            link.on_probe(at, ProbeResult::NoAnswer, 0.999);
        }
        assert_eq!(gaps, [1000, 2000, 4000, 4000, 4000]);
        let back = at + Duration::from_millis(300);
        link.on_probe(back, ProbeResult::Answered { seen_as: None }, 0.5);
        assert_eq!(link.next(), (back, Action::Register));
    }

    #[test]
    fn a_moved_binding_registers_again_and_refusals_back_off_without_probing() {
        let now = Instant::now();
        let mut link = registered(now);
        let a: SocketAddr = "198.51.100.7:5060".parse().expect("addr");
        let b: SocketAddr = "198.51.100.7:40123".parse().expect("addr");
        let t1 = now + KEEPALIVE;
        let answered = |seen_as| ProbeResult::Answered { seen_as };
        assert_eq!(link.on_probe(t1, answered(Some(a)), 0.0), Change::None);
        let t2 = t1 + KEEPALIVE;
        assert_eq!(link.on_probe(t2, answered(Some(b)), 0.0), Change::Rebound);
        assert_eq!(link.next(), (t2, Action::Register));

        link.on_register(t2, Outcome::Rejected { status: 503 }, 0.0);
        let (at, action) = link.next();
        assert_eq!(action, Action::Register);
        assert_eq!(at - t2, Duration::from_secs(1));
        assert_eq!(link.on_probe(at, ProbeResult::NoAnswer, 0.0), Change::None);
    }

    #[test]
    fn a_failing_target_hands_over_to_the_next_at_once_and_a_full_round_waits() {
        let now = Instant::now();
        let mut link =
            TrunkLink::new(now, KEEPALIVE, RegistrationPolicy::default()).with_targets(3);
        assert_eq!(link.target(), 0);
        link.on_register(now, Outcome::NoAnswer, 0.5);
        assert_eq!((link.target(), link.next()), (1, (now, Action::Register)));
        link.on_register(now, Outcome::Rejected { status: 503 }, 0.5);
        assert_eq!((link.target(), link.next()), (2, (now, Action::Register)));
        // The third fails too: every target has failed in a row, so the link waits, probing.
        link.on_register(now, Outcome::NoAnswer, 0.5);
        let (at, action) = link.next();
        assert_eq!(action, Action::Probe);
        assert!(at > now, "a full round of failures must wait");
        // Probes go round the targets; the first to answer is registered to.
        let first = link.target();
        link.on_probe(at, ProbeResult::NoAnswer, 0.5);
        assert_ne!(link.target(), first);
        let (at, _) = link.next();
        let answering = link.target();
        link.on_probe(at, ProbeResult::Answered { seen_as: None }, 0.5);
        assert_eq!(
            (link.target(), link.next()),
            (answering, (at, Action::Register))
        );
        let granted = Duration::from_secs(600);
        link.on_register(at, Outcome::Registered { granted }, 0.5);
        assert!(link.is_registered());
        assert_eq!(link.target(), answering);
    }

    #[test]
    fn a_registered_target_that_goes_silent_fails_over_without_waiting() {
        let now = Instant::now();
        let mut link =
            TrunkLink::new(now, KEEPALIVE, RegistrationPolicy::default()).with_targets(2);
        link.on_register(
            now,
            Outcome::Registered {
                granted: Duration::from_secs(600),
            },
            0.0,
        );
        let t = link.next().0;
        assert_eq!(link.on_probe(t, ProbeResult::NoAnswer, 0.0), Change::Lost);
        assert_eq!((link.target(), link.next()), (1, (t, Action::Register)));
        // Credentials refused is not the target's fault: no hand-over, the policy's backoff.
        link.on_register(t, Outcome::Rejected { status: 403 }, 0.0);
        assert_eq!(link.target(), 1);
        assert!(link.next().0 > t);
    }

    #[test]
    fn a_full_round_of_failures_is_reported_once_for_locating_anew() {
        let now = Instant::now();
        let mut link =
            TrunkLink::new(now, KEEPALIVE, RegistrationPolicy::default()).with_targets(2);
        link.on_register(now, Outcome::NoAnswer, 0.5);
        assert!(
            !link.take_failed_round(),
            "one target of two failed: hand over, no more"
        );
        link.on_register(now, Outcome::NoAnswer, 0.5);
        assert!(link.take_failed_round());
        assert!(!link.take_failed_round(), "reported once");
        link.set_targets(3);
        assert_eq!(link.target(), 0);
        assert_eq!(
            link.next().1,
            Action::Probe,
            "still waiting, now for the new targets"
        );
    }
}
