//! The agent's availability, a sans-IO state machine in the shape of the media cores: what the
//! agent chooses, what calls do to it, and wrap-up's timer. Time is an input, in wall-clock
//! milliseconds because every change is kept for reporting and the state outlives a restart.
//!
//! Available rings; Not ready (with a reason IT defines) and Offline do not. A call makes the
//! agent On call whatever they were; when the last call ends, Wrap-up (after-call work) begins,
//! and its timer returns the agent to Available or to Not ready, as the policy says.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
pub enum AgentState {
    Offline,
    Available,
    NotReady {
        reason: String,
    },
    OnCall,
    /// After-call work; `endsAtMs` when a timer will end it.
    #[serde(rename_all = "camelCase")]
    WrapUp {
        #[cfg_attr(feature = "ipc", ts(type = "number | null"))]
        ends_at_ms: Option<u64>,
    },
}

/// What the agent can choose (the rest follows from calls and timers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
pub enum Choice {
    Offline,
    Available,
    NotReady { reason: String },
}

impl Choice {
    fn state(&self) -> AgentState {
        match self {
            Choice::Offline => AgentState::Offline,
            Choice::Available => AgentState::Available,
            Choice::NotReady { reason } => AgentState::NotReady {
                reason: reason.clone(),
            },
        }
    }
}

/// Wrap-up as the policy file sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapUpPolicy {
    /// How long after-call work lasts; zero: none (straight on, as for a headless agent);
    /// `None`: until the agent leaves it.
    pub duration: Option<Duration>,
    /// Where the timer (or a restart) takes the agent.
    pub then: Choice,
    /// A disposition must be given before wrap-up can end, by the agent or the timer.
    pub disposition_required: bool,
}

impl Default for WrapUpPolicy {
    fn default() -> Self {
        Self {
            duration: Some(Duration::from_secs(30)),
            then: Choice::Available,
            disposition_required: false,
        }
    }
}

/// Why the state changed, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
pub enum Cause {
    Agent,
    CallStarted,
    CallsEnded,
    WrapUpTimer,
    /// The app started again; the state is the one saved, or where wrap-up leads.
    Restored,
}

/// One change, timestamped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub from: AgentState,
    pub to: AgentState,
    pub at_ms: u64,
    pub cause: Cause,
}

/// The policy's say on agent states, and the state to start in.
#[derive(Debug, Clone)]
pub struct AvailabilityConfig {
    pub wrap_up: WrapUpPolicy,
    pub reasons: Vec<String>,
    /// The codes an agent files a call under after it ("Resolved", "Escalated").
    pub dispositions: Vec<String>,
    /// The state saved at the last run (`None`: Offline).
    pub start: Option<AgentState>,
    /// Where each change is saved for the next run (none for a headless agent).
    pub state_file: Option<PathBuf>,
}

impl Default for AvailabilityConfig {
    /// Available from the start (a headless agent; the app starts from the saved state); the
    /// usual reasons and dispositions.
    fn default() -> Self {
        Self {
            wrap_up: WrapUpPolicy::default(),
            reasons: ["Break", "Lunch", "Meeting", "Training"]
                .map(String::from)
                .to_vec(),
            dispositions: ["Resolved", "Follow-up needed", "Escalated", "Wrong number"]
                .map(String::from)
                .to_vec(),
            start: Some(AgentState::Available),
            state_file: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AvailabilityError {
    #[error("not ready reason {0:?} is not one the policy defines")]
    UnknownReason(String),
    #[error("the agent is on a call: hang up first")]
    OnCall,
    #[error("a disposition is required before leaving wrap-up")]
    DispositionRequired,
}

pub struct Availability {
    state: AgentState,
    since_ms: u64,
    calls: usize,
    /// Whether this wrap-up has its disposition.
    disposed: bool,
    policy: WrapUpPolicy,
    reasons: Vec<String>,
    changes: Vec<Transition>,
}

impl Availability {
    /// The state after a start: `saved` (what [`Self::saved`] said last time), with on-call and
    /// wrap-up, whose calls did not survive, resolved as wrap-up would have ended. Offline when
    /// nothing was saved: the agent says when they are ready.
    pub fn new(
        policy: WrapUpPolicy,
        reasons: Vec<String>,
        saved: Option<AgentState>,
        now_ms: u64,
    ) -> Self {
        let mut this = Self {
            state: AgentState::Offline,
            since_ms: now_ms,
            calls: 0,
            disposed: false,
            policy,
            reasons,
            changes: Vec::new(),
        };
        let restored = match saved {
            None | Some(AgentState::Offline) => return this,
            Some(AgentState::OnCall | AgentState::WrapUp { .. }) => this.policy.then.state(),
            Some(AgentState::NotReady { reason }) if !this.reasons.contains(&reason) => {
                // A reason IT has since removed: still not ready, with the first one left.
                match this.reasons.first() {
                    Some(r) => AgentState::NotReady { reason: r.clone() },
                    None => AgentState::Offline,
                }
            }
            Some(state) => state,
        };
        this.change(restored, now_ms, Cause::Restored);
        this
    }

    pub fn state(&self) -> &AgentState {
        &self.state
    }

    /// When the current state began.
    pub fn since_ms(&self) -> u64 {
        self.since_ms
    }

    /// What to save for the next start.
    pub fn saved(&self) -> AgentState {
        self.state.clone()
    }

    /// Whether an inbound call may ring: only for an available agent (a second call while on
    /// one is the engine's call-waiting rule).
    pub fn may_ring(&self) -> bool {
        matches!(self.state, AgentState::Available | AgentState::OnCall)
    }

    /// The changes since the last call, oldest first, for the report.
    pub fn take_changes(&mut self) -> Vec<Transition> {
        std::mem::take(&mut self.changes)
    }

    /// The agent chooses a state. Not while a call is up; leaving wrap-up early is allowed, once
    /// disposed if the policy asks for it.
    pub fn choose(&mut self, choice: Choice, now_ms: u64) -> Result<(), AvailabilityError> {
        if let Choice::NotReady { reason } = &choice {
            if !self.reasons.contains(reason) {
                return Err(AvailabilityError::UnknownReason(reason.clone()));
            }
        }
        match self.state {
            AgentState::OnCall => return Err(AvailabilityError::OnCall),
            AgentState::WrapUp { .. } if self.policy.disposition_required && !self.disposed => {
                return Err(AvailabilityError::DispositionRequired)
            }
            _ => {}
        }
        self.change(choice.state(), now_ms, Cause::Agent);
        Ok(())
    }

    /// A call was answered or placed.
    pub fn call_started(&mut self, now_ms: u64) {
        self.calls += 1;
        if self.state != AgentState::OnCall {
            self.change(AgentState::OnCall, now_ms, Cause::CallStarted);
        }
    }

    /// A call ended; the last one starts wrap-up.
    pub fn call_ended(&mut self, now_ms: u64) {
        self.calls = self.calls.saturating_sub(1);
        if self.calls > 0 || self.state != AgentState::OnCall {
            return;
        }
        self.disposed = false;
        let none = self.policy.duration.is_some_and(|d| d.is_zero());
        if none && !self.policy.disposition_required {
            self.change(self.policy.then.state(), now_ms, Cause::CallsEnded);
            return;
        }
        let ends_at_ms = self
            .policy
            .duration
            .map(|d| now_ms.saturating_add(d.as_millis() as u64));
        self.change(AgentState::WrapUp { ends_at_ms }, now_ms, Cause::CallsEnded);
    }

    /// The wrap-up's disposition was given.
    pub fn disposed(&mut self) {
        self.disposed = true;
    }

    /// When [`Self::handle_timeout`] next has something to do: never while a required
    /// disposition is missing (the timer waits for it, and a caller must not spin on it).
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.state {
            _ if self.policy.disposition_required && !self.disposed => None,
            AgentState::WrapUp { ends_at_ms } => ends_at_ms,
            _ => None,
        }
    }

    /// Ends wrap-up when its time is up, unless a required disposition is missing: then it
    /// lasts until the agent gives one.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let due = self.poll_timeout().is_some_and(|at| now_ms >= at);
        let blocked = self.policy.disposition_required && !self.disposed;
        if due && !blocked {
            self.change(self.policy.then.state(), now_ms, Cause::WrapUpTimer);
        }
    }

    fn change(&mut self, to: AgentState, now_ms: u64, cause: Cause) {
        if to == self.state {
            return;
        }
        let from = std::mem::replace(&mut self.state, to.clone());
        self.since_ms = now_ms;
        self.changes.push(Transition {
            from,
            to,
            at_ms: now_ms,
            cause,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons() -> Vec<String> {
        vec!["Break".into(), "Training".into()]
    }

    fn agent(policy: WrapUpPolicy) -> Availability {
        let mut a = Availability::new(policy, reasons(), None, 0);
        a.choose(Choice::Available, 1_000).expect("available");
        a
    }

    #[test]
    fn a_call_then_wrap_up_then_back_to_available_by_the_timer() {
        let mut a = agent(WrapUpPolicy::default());
        assert!(a.may_ring());
        a.call_started(5_000);
        assert_eq!(a.state(), &AgentState::OnCall);
        a.call_ended(65_000);
        assert_eq!(
            a.state(),
            &AgentState::WrapUp {
                ends_at_ms: Some(95_000)
            }
        );
        assert!(!a.may_ring(), "no calls during after-call work");
        assert_eq!(a.poll_timeout(), Some(95_000));
        a.handle_timeout(94_999);
        assert!(matches!(a.state(), AgentState::WrapUp { .. }));
        a.handle_timeout(95_000);
        assert_eq!(a.state(), &AgentState::Available);
        assert_eq!(a.since_ms(), 95_000);
        let causes: Vec<(Cause, u64)> = a
            .take_changes()
            .iter()
            .map(|t| (t.cause, t.at_ms))
            .collect();
        assert_eq!(
            causes,
            [
                (Cause::Agent, 1_000),
                (Cause::CallStarted, 5_000),
                (Cause::CallsEnded, 65_000),
                (Cause::WrapUpTimer, 95_000)
            ]
        );
        assert!(a.take_changes().is_empty(), "taken once");
    }

    #[test]
    fn not_ready_does_not_ring_and_takes_only_the_policys_reasons() {
        let mut a = agent(WrapUpPolicy::default());
        let e = a
            .choose(
                Choice::NotReady {
                    reason: "Nap".into(),
                },
                2_000,
            )
            .expect_err("not a policy reason");
        assert!(e.to_string().contains("Nap"), "{e}");
        assert_eq!(a.state(), &AgentState::Available, "unchanged");
        a.choose(
            Choice::NotReady {
                reason: "Break".into(),
            },
            2_000,
        )
        .expect("break");
        assert!(!a.may_ring());
        a.choose(Choice::Offline, 3_000).expect("offline");
        assert!(!a.may_ring());
    }

    #[test]
    fn calls_hold_the_state_until_the_last_one_ends() {
        let mut a = agent(WrapUpPolicy::default());
        a.call_started(1);
        a.call_started(2);
        assert_eq!(
            a.choose(Choice::Available, 3),
            Err(AvailabilityError::OnCall)
        );
        a.call_ended(4);
        assert_eq!(a.state(), &AgentState::OnCall, "one call left");
        a.call_ended(5);
        assert!(matches!(a.state(), AgentState::WrapUp { .. }));
        // An outbound call from not ready is a call too, and wrap-up follows it.
        let mut b = agent(WrapUpPolicy::default());
        b.choose(
            Choice::NotReady {
                reason: "Training".into(),
            },
            1,
        )
        .expect("training");
        b.call_started(2);
        assert_eq!(b.state(), &AgentState::OnCall);
    }

    #[test]
    fn a_required_disposition_holds_wrap_up_past_its_timer() {
        let policy = WrapUpPolicy {
            duration: Some(Duration::from_secs(10)),
            then: Choice::NotReady {
                reason: "Break".into(),
            },
            disposition_required: true,
        };
        let mut a = agent(policy);
        a.call_started(0);
        a.call_ended(1_000);
        a.handle_timeout(20_000);
        assert!(matches!(a.state(), AgentState::WrapUp { .. }), "held");
        assert_eq!(
            a.poll_timeout(),
            None,
            "nothing to wake for until the disposition"
        );
        assert_eq!(
            a.choose(Choice::Available, 20_000),
            Err(AvailabilityError::DispositionRequired)
        );
        a.disposed();
        assert_eq!(a.poll_timeout(), Some(11_000), "due at once");
        a.handle_timeout(20_001);
        assert_eq!(
            a.state(),
            &AgentState::NotReady {
                reason: "Break".into()
            },
            "where the policy says"
        );
        // Untimed wrap-up ends only when the agent leaves it.
        let mut b = agent(WrapUpPolicy {
            duration: None,
            ..WrapUpPolicy::default()
        });
        b.call_started(0);
        b.call_ended(1);
        assert_eq!(b.poll_timeout(), None);
        b.handle_timeout(u64::MAX);
        assert!(matches!(b.state(), AgentState::WrapUp { .. }));
        b.choose(Choice::Available, 5).expect("leaves early");
        assert!(b.may_ring());
        // No after-call work at all: straight back when the call ends.
        let mut c = agent(WrapUpPolicy {
            duration: Some(Duration::ZERO),
            ..WrapUpPolicy::default()
        });
        c.call_started(0);
        c.call_ended(1);
        assert_eq!(c.state(), &AgentState::Available);
    }

    #[test]
    fn a_restart_restores_the_state_and_settles_a_call_that_did_not_survive() {
        let restore = |saved| {
            Availability::new(WrapUpPolicy::default(), reasons(), saved, 7)
                .state()
                .clone()
        };
        assert_eq!(restore(None), AgentState::Offline);
        assert_eq!(restore(Some(AgentState::Available)), AgentState::Available);
        let training = AgentState::NotReady {
            reason: "Training".into(),
        };
        assert_eq!(restore(Some(training.clone())), training);
        assert_eq!(restore(Some(AgentState::OnCall)), AgentState::Available);
        assert_eq!(
            restore(Some(AgentState::WrapUp { ends_at_ms: None })),
            AgentState::Available
        );
        let removed = AgentState::NotReady {
            reason: "Old reason".into(),
        };
        assert_eq!(
            restore(Some(removed)),
            AgentState::NotReady {
                reason: "Break".into()
            }
        );
        // What is saved reads back (the file is TOML in the config directory).
        let a = Availability::new(
            WrapUpPolicy::default(),
            reasons(),
            Some(training.clone()),
            7,
        );
        let text = toml::to_string(&a.saved()).expect("toml");
        assert_eq!(
            toml::from_str::<AgentState>(&text).expect("reads"),
            training
        );
        let mut changes = Availability::new(WrapUpPolicy::default(), reasons(), Some(training), 7);
        assert_eq!(changes.take_changes()[0].cause, Cause::Restored);
    }
}
