//! How often a desk asks Graph for its experts' presence, as a sans-IO schedule: time and
//! randomness are inputs. Graph allows about 1,500 presence requests per 30 s per app per
//! tenant, shared by every desk; `getPresencesByUserId` takes at most 650 ids a request. So the
//! interval grows with the batches a desk needs and with the desks the tenant runs, each desk
//! starts at a random point of its interval and every wait is jittered (desks never poll in
//! lockstep), and a 429 or 503 waits at least what `Retry-After` says.

use std::time::{Duration, Instant};

/// Most ids in one `getPresencesByUserId` request.
pub const BATCH_MAX: usize = 650;
/// Never poll faster than this, however few desks: presence changes on a human scale.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// The longest wait after failures without `Retry-After`.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Each wait is the interval give or take this fraction.
pub const JITTER: f64 = 0.1;

/// The tenant's throttling budget, and how much of it presence polling may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Requests the tenant may make in `per` (Graph: about 1,500 per 30 s).
    pub requests: u32,
    pub per: Duration,
    /// Desks running in the tenant (from the policy; a guess errs high).
    pub desks: u32,
    /// The part of the budget presence may use; the rest is for searches and group reads.
    pub share: f64,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            requests: 1500,
            per: Duration::from_secs(30),
            desks: 1000,
            share: 0.8,
        }
    }
}

/// Requests one round of polling takes for `experts` watched experts.
pub fn batches(experts: usize) -> usize {
    experts.div_ceil(BATCH_MAX)
}

/// The time between rounds, so that every desk polling this way stays within its share:
/// `desks × batches` requests per round, spread so the tenant makes at most
/// `requests × share` in each `per`.
pub fn interval(experts: usize, budget: &Budget) -> Duration {
    let per_round = (budget.desks.max(1) as f64) * (batches(experts).max(1) as f64);
    let allowed = (budget.requests as f64 * budget.share.clamp(0.01, 1.0)).max(1.0);
    let secs = budget.per.as_secs_f64() * per_round / allowed;
    Duration::from_secs_f64(secs).max(MIN_INTERVAL)
}

/// How a round of presence requests ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Nobody to read yet (the roster is still being read).
    Idle,
    /// 429 or 503, with the server's `Retry-After` if it gave one.
    Throttled {
        retry_after: Option<Duration>,
    },
    /// No answer, a 5xx, a network error.
    Failed,
}

/// When the next round is due.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    interval: Duration,
    budget: Budget,
    due: Instant,
    failures: u32,
    /// No round has read anyone yet: the first experts should not wait a whole interval.
    idle: bool,
}

impl PollSchedule {
    /// A schedule for `experts`, its first round at a random point (`random` in 0..1) of the
    /// first interval, so that desks started together spread out.
    pub fn new(experts: usize, budget: Budget, now: Instant, random: f64) -> Self {
        let interval = interval(experts, &budget);
        Self {
            interval,
            budget,
            due: now + interval.mul_f64(random.clamp(0.0, 1.0)),
            failures: 0,
            idle: experts == 0,
        }
    }

    /// Whether the rounds so far had nobody to read.
    pub fn is_idle(&self) -> bool {
        self.idle
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// When to poll next.
    pub fn poll_timeout(&self) -> Instant {
        self.due
    }

    /// The watched experts changed: the interval follows from the next wait on.
    pub fn set_experts(&mut self, experts: usize) {
        self.interval = interval(experts, &self.budget);
    }

    /// A round ended at `now`; `random` (0..1) jitters the wait.
    pub fn on_outcome(&mut self, outcome: Outcome, now: Instant, random: f64) {
        let jitter = 1.0 + JITTER * (2.0 * random.clamp(0.0, 1.0) - 1.0);
        self.idle = outcome == Outcome::Idle;
        let wait = match outcome {
            Outcome::Ok | Outcome::Idle => {
                self.failures = 0;
                self.interval.mul_f64(jitter)
            }
            Outcome::Throttled {
                retry_after: Some(after),
            } => {
                self.failures += 1;
                // Never sooner than the server asked, nor than the normal round.
                after.max(self.interval).mul_f64(jitter.max(1.0))
            }
            Outcome::Throttled { retry_after: None } | Outcome::Failed => {
                self.failures += 1;
                let doubled = self
                    .interval
                    .saturating_mul(1u32 << self.failures.min(8))
                    .min(MAX_BACKOFF.max(self.interval));
                doubled.mul_f64(jitter)
            }
        };
        self.due = now + wait;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests per `per` the whole tenant makes when every desk polls `experts` this way.
    fn tenant_rate(experts: usize, budget: &Budget) -> f64 {
        let rounds_per_window = budget.per.as_secs_f64() / interval(experts, budget).as_secs_f64();
        budget.desks as f64 * batches(experts) as f64 * rounds_per_window
    }

    #[test]
    fn the_interval_grows_with_batches_and_desks_and_keeps_the_tenant_under_its_limit() {
        let budget = Budget::default();
        assert_eq!(batches(10), 1);
        assert_eq!(batches(650), 1);
        assert_eq!(batches(651), 2);
        assert_eq!(batches(1000), 2);
        // 1,000 desks, 80 % of 1,500 per 30 s: 25 s a round with one batch, 50 s with two.
        assert_eq!(interval(10, &budget), Duration::from_secs(25));
        assert_eq!(interval(100, &budget), Duration::from_secs(25));
        assert_eq!(interval(1000, &budget), Duration::from_secs(50));
        for experts in [10, 100, 650, 651, 1000, 5000] {
            let rate = tenant_rate(experts, &budget);
            assert!(
                rate <= 1500.0 * 0.8 + 1e-6,
                "{experts} experts: {rate} per 30 s"
            );
        }
        // A small tenant is not made to wait for a big one's sake, down to the floor.
        let small = Budget {
            desks: 20,
            ..budget
        };
        assert_eq!(interval(10, &small), MIN_INTERVAL);
        assert_eq!(
            interval(0, &budget),
            Duration::from_secs(25),
            "an empty list still costs a round"
        );
    }

    #[test]
    fn desks_start_spread_out_and_each_wait_is_jittered() {
        let now = Instant::now();
        let budget = Budget::default();
        let early = PollSchedule::new(10, budget, now, 0.0);
        let late = PollSchedule::new(10, budget, now, 0.99);
        assert_eq!(early.poll_timeout(), now);
        assert!(late.poll_timeout() > now + Duration::from_secs(24));
        let mut s = PollSchedule::new(10, budget, now, 0.5);
        for (random, expected) in [(0.0, 22.5), (0.5, 25.0), (1.0, 27.5)] {
            s.on_outcome(Outcome::Ok, now, random);
            let wait = (s.poll_timeout() - now).as_secs_f64();
            assert!((wait - expected).abs() < 1e-6, "{random}: {wait}");
        }
    }

    #[test]
    fn retry_after_is_honoured_and_failures_back_off_to_a_ceiling() {
        let now = Instant::now();
        let mut s = PollSchedule::new(10, Budget::default(), now, 0.0);
        let retry = Outcome::Throttled {
            retry_after: Some(Duration::from_secs(120)),
        };
        s.on_outcome(retry, now, 0.0);
        assert_eq!(
            s.poll_timeout() - now,
            Duration::from_secs(120),
            "never sooner than asked"
        );
        let short = Outcome::Throttled {
            retry_after: Some(Duration::from_secs(1)),
        };
        s.on_outcome(short, now, 0.5);
        assert_eq!(
            s.poll_timeout() - now,
            Duration::from_secs(25),
            "nor sooner than a round"
        );
        let mut waits = Vec::new();
        for _ in 0..6 {
            s.on_outcome(Outcome::Failed, now, 0.5);
            waits.push((s.poll_timeout() - now).as_secs());
        }
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(
            *waits.last().unwrap_or(&0),
            MAX_BACKOFF.as_secs(),
            "{waits:?}"
        );
        s.on_outcome(Outcome::Ok, now, 0.5);
        assert_eq!(
            s.poll_timeout() - now,
            Duration::from_secs(25),
            "a success resets it"
        );
    }

    #[test]
    fn a_schedule_with_nobody_to_read_is_idle_until_a_round_reads_someone() {
        let now = Instant::now();
        let mut s = PollSchedule::new(0, Budget::default(), now, 0.5);
        assert!(s.is_idle());
        s.on_outcome(Outcome::Idle, now, 0.5);
        assert!(s.is_idle());
        s.on_outcome(Outcome::Ok, now, 0.5);
        assert!(!s.is_idle());
        assert!(!PollSchedule::new(3, Budget::default(), now, 0.5).is_idle());
    }

    /// 1,000 desks started together, each on its own schedule, for 20 minutes of virtual
    /// time: the requests in every 30 s window (sliding by 1 s), from the first full window.
    fn tenant_windows(experts: usize) -> Vec<usize> {
        let budget = Budget::default();
        let start = Instant::now();
        // A fixed linear congruential sequence: the same run every time.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut random = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut sent = vec![0usize; 1200];
        for _ in 0..budget.desks {
            let mut desk = PollSchedule::new(experts, budget, start, random());
            loop {
                let at = (desk.poll_timeout() - start).as_secs() as usize;
                if at >= sent.len() {
                    break;
                }
                sent[at] += batches(experts);
                let due = desk.poll_timeout();
                desk.on_outcome(Outcome::Ok, due, random());
            }
        }
        let first_full = interval(experts, &budget).as_secs() as usize;
        (first_full..sent.len() - 30)
            .map(|t| sent[t..t + 30].iter().sum())
            .collect()
    }

    #[test]
    fn a_thousand_desks_stay_under_the_tenants_limit_in_every_30_s_window() {
        for experts in [10, 100, 1000] {
            let windows = tenant_windows(experts);
            let max = windows.iter().copied().max().unwrap_or(0);
            let mean = windows.iter().sum::<usize>() as f64 / windows.len() as f64;
            eprintln!("{experts} experts, 1,000 desks: {mean:.0} requests per 30 s on average, {max} at most");
            assert!(
                max < 1500,
                "{experts} experts: {max} requests in a 30 s window"
            );
            assert!(
                (1100.0..1300.0).contains(&mean),
                "{experts} experts: {mean}"
            );
        }
    }

    #[test]
    fn more_experts_lengthen_the_next_wait() {
        let now = Instant::now();
        let mut s = PollSchedule::new(10, Budget::default(), now, 0.0);
        s.set_experts(1000);
        assert_eq!(s.interval(), Duration::from_secs(50));
        s.on_outcome(Outcome::Ok, now, 0.5);
        assert_eq!(s.poll_timeout() - now, Duration::from_secs(50));
    }
}
