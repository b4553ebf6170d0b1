//! When to send the next REGISTER, sans-IO. The driver reports each attempt's outcome with the
//! current instant and a random draw; the policy answers with the instant of the next attempt.
//!
//! Refresh comes well before expiry and is spread out so that a floor of desks restarted
//! together does not refresh in lockstep; failures back off exponentially with jitter up to a
//! cap, as baresip and PJSIP do, so a trunk coming back is not flooded.

use std::time::{Duration, Instant};

/// The soonest a refresh comes, whatever the registrar grants (a grant of 0 s included).
const MIN_REFRESH: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Registered {
        granted: Duration,
    },
    /// A final non-2xx answer (401 after our credentials, 403, 404, 503...).
    Rejected {
        status: u16,
    },
    /// No answer before the timeout, or the transport failed.
    NoAnswer,
}

#[derive(Debug, Clone)]
pub struct RegistrationPolicy {
    failures: u32,
    first_retry: Duration,
    max_retry: Duration,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        Self::new(Duration::from_secs(2), Duration::from_secs(300))
    }
}

impl RegistrationPolicy {
    pub fn new(first_retry: Duration, max_retry: Duration) -> Self {
        Self {
            failures: 0,
            first_retry,
            max_retry,
        }
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// `draw` is uniform in [0, 1): the caller's randomness, so tests stay deterministic.
    pub fn next_attempt(&mut self, now: Instant, outcome: Outcome, draw: f64) -> Instant {
        let draw = draw.clamp(0.0, 1.0);
        match outcome {
            Outcome::Registered { granted } => {
                self.failures = 0;
                // Refresh between 70 % and 85 % of the granted lifetime, and never later than
                // 30 s before expiry when the lifetime allows it.
                let fraction = 0.70 + 0.15 * draw;
                let mut at = granted.mul_f64(fraction);
                if granted > Duration::from_secs(60) {
                    at = at.min(granted - Duration::from_secs(30));
                }
                // A floor keeps a registrar granting next to nothing from being hammered; below
                // it, half the lifetime still refreshes in time.
                now + at.max(Duration::from_secs(1).min(granted / 2).max(MIN_REFRESH))
            }
            Outcome::Rejected { .. } | Outcome::NoAnswer => {
                let exp = self.failures.min(16);
                self.failures = self.failures.saturating_add(1);
                let backoff = self
                    .first_retry
                    .saturating_mul(1u32 << exp)
                    .min(self.max_retry);
                // Full jitter in the upper half: between half and all of the backoff.
                now + backoff.mul_f64(0.5 + 0.5 * draw)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_before_expiry_and_is_spread() {
        let now = Instant::now();
        let mut p = RegistrationPolicy::default();
        let granted = Duration::from_secs(600);
        let early = p.next_attempt(now, Outcome::Registered { granted }, 0.0) - now;
        let late = p.next_attempt(now, Outcome::Registered { granted }, 0.999) - now;
        assert_eq!(early, Duration::from_secs(420));
        assert!(late > early && late <= Duration::from_secs(570), "{late:?}");
        let short = p.next_attempt(
            now,
            Outcome::Registered {
                granted: Duration::from_secs(10),
            },
            0.5,
        ) - now;
        assert!(
            short < Duration::from_secs(10) && short >= Duration::from_secs(7),
            "{short:?}"
        );
    }

    #[test]
    fn failures_back_off_exponentially_to_the_cap_and_success_resets() {
        let now = Instant::now();
        let mut p = RegistrationPolicy::new(Duration::from_secs(2), Duration::from_secs(60));
        let waits: Vec<u64> = (0..8)
            .map(|_| (p.next_attempt(now, Outcome::NoAnswer, 0.999) - now).as_secs())
            .collect();
        assert_eq!(waits, vec![1, 3, 7, 15, 31, 59, 59, 59]);
        let low = p.next_attempt(now, Outcome::Rejected { status: 503 }, 0.0) - now;
        assert_eq!(low, Duration::from_secs(30));
        p.next_attempt(
            now,
            Outcome::Registered {
                granted: Duration::from_secs(300),
            },
            0.5,
        );
        assert_eq!(p.failures(), 0);
        let after = p.next_attempt(now, Outcome::NoAnswer, 0.0) - now;
        assert_eq!(after, Duration::from_secs(1));
    }
}
