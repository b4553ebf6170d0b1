//! Properties of the session timer (RFC 4028) on a virtual clock, over many seeds, intervals
//! and far-end behaviours, driven as the driver drives it (sleep until `poll_timeout`, then
//! `handle_timeout`): a session whose refreshes succeed never expires; the refresher refreshes
//! half way; one whose refreshes stop ends exactly when the interval (less the slack the
//! refresher is owed) runs out, never sooner.

mod common;

use std::time::{Duration, Instant};

use common::Rng;
use switchboard_sip::session_timer::{Refresher, SessionTimer, TimerAction};

const SEEDS: u64 = 500;
const RTT: Duration = Duration::from_millis(40);

/// The slack the side that does not refresh gives the refresher (RFC 4028 §10).
fn slack(interval: Duration) -> Duration {
    (interval / 3).min(Duration::from_secs(32))
}

#[test]
fn as_refresher_we_refresh_half_way_and_expire_only_when_refreshes_fail() {
    for seed in 1..=SEEDS {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let secs = 90 + (rng.next() % 3500) as u32;
        let interval = Duration::from_secs(u64::from(secs));
        let t0 = Instant::now();
        let mut timer = SessionTimer::new(t0, secs, Refresher::Us);
        let mut since = t0;
        // The far end answers our refreshes until it stops, for good, after a random number.
        let answered = rng.next() % 6;
        let mut refreshes = 0;
        // Half way through the interval after each successful refresh.
        let mut half_way = Some(t0 + interval / 2);
        let ended = loop {
            let now = timer.poll_timeout();
            assert!(now > since, "seed {seed}: a deadline in the past");
            match timer.handle_timeout(now) {
                Some(TimerAction::Refresh) => {
                    refreshes += 1;
                    if let Some(expected) = half_way.take() {
                        assert_eq!(now, expected, "seed {seed}: refresh not half way");
                    }
                    if refreshes <= answered {
                        since = now + RTT;
                        timer.refreshed(since, secs, Refresher::Us);
                        half_way = Some(since + interval / 2);
                    } else if rng.unit() < 0.5 {
                        // Refused (not 408/481): tried again later.
                        timer.refresh_failed(now + RTT);
                    }
                    // Else no answer at all: the expiry is what is left.
                }
                Some(TimerAction::Expire) => break now,
                None => {}
            }
            assert!(refreshes < 10_000, "seed {seed}: refreshing forever");
        };
        assert!(
            refreshes > answered,
            "seed {seed}: expired while refreshes succeeded"
        );
        assert_eq!(
            ended,
            since + interval,
            "seed {seed}: a failed session ends when its interval runs out"
        );
    }
}

#[test]
fn when_the_far_end_refreshes_we_wait_and_end_the_session_only_after_it_stops() {
    for seed in 1..=SEEDS {
        let mut rng = Rng(seed.wrapping_mul(0xd1b5_4a32_d192_ed03));
        let secs = 90 + (rng.next() % 3500) as u32;
        let interval = Duration::from_secs(u64::from(secs));
        let deadline = interval - slack(interval);
        let t0 = Instant::now();
        let mut timer = SessionTimer::new(t0, secs, Refresher::Them);
        let mut since = t0;
        // The far end refreshes at random points inside the deadline, a few times, then stops.
        for _ in 0..rng.next() % 8 {
            let gap = rng.secs(1.0, deadline.as_secs_f64() - 0.001);
            let at = since + gap;
            // Nothing is due before the refresh arrives.
            let due = timer.poll_timeout();
            assert!(
                due > at,
                "seed {seed}: the session would expire before a timely refresh"
            );
            assert_eq!(timer.handle_timeout(at), None, "seed {seed}");
            timer.refreshed(at, secs, Refresher::Them);
            since = at;
        }
        let due = timer.poll_timeout();
        assert_eq!(due, since + deadline, "seed {seed}: the expiry moved");
        assert_eq!(timer.handle_timeout(due - Duration::from_millis(1)), None);
        assert_eq!(
            timer.handle_timeout(due),
            Some(TimerAction::Expire),
            "seed {seed}"
        );
    }
}
