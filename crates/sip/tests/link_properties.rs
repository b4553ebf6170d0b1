//! Properties of the sans-IO registration machines, on a virtual clock: a simulated trunk goes
//! down and comes back (restarts forget registrations, as Kamailio does) over an hour of
//! virtual time, for many seeds, keepalive intervals and granted lifetimes; the link is driven
//! as the real driver drives it, and what it did is checked against what it promises.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchboard_sip::registration::{Outcome, RegistrationPolicy};
use switchboard_sip::trunk_link::{Action, ProbeResult, TrunkLink};

use common::Rng;

/// How long the real driver waits for a probe and for a REGISTER (register_loop, config).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const REGISTER_TIMEOUT: Duration = Duration::from_secs(8);
const RTT: Duration = Duration::from_millis(10);
const HOUR: Duration = Duration::from_secs(3600);

/// When the trunk is down: sorted, disjoint outages.
struct Trunk {
    outages: Vec<(Duration, Duration)>,
}

impl Trunk {
    fn random(rng: &mut Rng) -> Self {
        let mut outages = Vec::new();
        let mut t = rng.secs(5.0, 120.0);
        while t < HOUR {
            let down = rng.secs(0.5, 40.0);
            outages.push((t, t + down));
            t += down + rng.secs(20.0, 400.0);
        }
        Self { outages }
    }

    fn up(&self, t: Duration) -> bool {
        !self.outages.iter().any(|(a, b)| *a <= t && t < *b)
    }

    /// Whether an outage (a restart: registrations forgotten) began in (from, to].
    fn restarted(&self, from: Duration, to: Duration) -> bool {
        self.outages.iter().any(|(a, _)| from < *a && *a <= to)
    }
}

struct Run {
    keepalive: Duration,
    /// For each outage: how long after the trunk was back it held our registration again.
    unreachable: Vec<Duration>,
    longest_silence_while_registered: Duration,
}

fn simulate(seed: u64) -> Run {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let keepalive = rng.secs(1.0, 30.0);
    let granted = rng.secs(30.0, 3600.0);
    let trunk = Trunk::random(&mut rng);
    let t0 = Instant::now();
    let at = |d: Duration| t0 + d;
    let mut link = TrunkLink::new(t0, keepalive, RegistrationPolicy::default());
    let seen_as: SocketAddr = "127.0.0.1:5062".parse().expect("addr");

    let mut now = Duration::ZERO;
    // The trunk's memory of us: registered at, lifetime end.
    let mut held: Option<(Duration, Duration)> = None;
    let mut registered_at = Vec::new();
    let mut last_contact = Duration::ZERO;
    let mut longest_silence = Duration::ZERO;
    while now < HOUR {
        let (when, action) = link.next();
        let when = when - t0;
        assert!(
            when + Duration::from_millis(1) >= now,
            "seed {seed}: scheduled in the past"
        );
        if link.is_registered() {
            longest_silence = longest_silence.max(when - last_contact);
        }
        now = when;
        // What the trunk remembers, as of now: nothing after a restart.
        if let Some((since, until)) = held {
            if trunk.restarted(since, now) {
                held = None;
            } else {
                assert!(
                    now <= until || !trunk.up(now),
                    "seed {seed}: registration lapsed at {now:?} (granted {granted:?})"
                );
            }
        }
        let up = trunk.up(now);
        match action {
            Action::Register if up => {
                now += RTT;
                held = Some((now, now + granted));
                registered_at.push(now);
                link.on_register(at(now), Outcome::Registered { granted }, rng.unit());
            }
            Action::Register => {
                now += REGISTER_TIMEOUT;
                link.on_register(at(now), Outcome::NoAnswer, rng.unit());
            }
            Action::Probe if up => {
                now += RTT;
                // The keepalive is addressed to us: a trunk without our binding says so.
                let result = match held {
                    Some(_) => ProbeResult::Answered {
                        seen_as: Some(seen_as),
                    },
                    None => ProbeResult::Forgotten,
                };
                link.on_probe(at(now), result, rng.unit());
            }
            Action::Probe => {
                now += PROBE_TIMEOUT;
                link.on_probe(at(now), ProbeResult::NoAnswer, rng.unit());
            }
        }
        last_contact = now;
    }
    let unreachable = trunk
        .outages
        .iter()
        .filter_map(|(_, end)| {
            let again = registered_at.iter().find(|r| *r >= end)?;
            Some(*again - *end)
        })
        .collect();
    Run {
        keepalive,
        unreachable,
        longest_silence_while_registered: longest_silence,
    }
}

#[test]
fn the_link_keeps_alive_refreshes_in_time_and_recovers_fast_whatever_the_trunk_does() {
    let mut recoveries = Vec::new();
    for seed in 0..300 {
        let run = simulate(seed);
        // Never silent towards the trunk for longer than a keepalive while registered: a NAT
        // binding or a lost trunk is found in that time.
        assert!(
            run.longest_silence_while_registered <= run.keepalive,
            "seed {seed}: silent for {:?} (keepalive {:?})",
            run.longest_silence_while_registered,
            run.keepalive
        );
        // After any outage, short or long, the trunk holds our registration again within a
        // keepalive (a restart between two keepalives: the next one finds us forgotten), or
        // within a probe timeout and the probe cap (an outage the keepalives saw), or after a
        // REGISTER sent into the outage has timed out.
        let bound = run
            .keepalive
            .max(PROBE_TIMEOUT + Duration::from_secs(4))
            .max(REGISTER_TIMEOUT + Duration::from_secs(2))
            + RTT * 2;
        for took in &run.unreachable {
            assert!(
                *took <= bound,
                "seed {seed}: unreachable for {took:?} (bound {bound:?})"
            );
        }
        recoveries.extend(run.unreachable);
    }
    recoveries.sort();
    let worst = *recoveries.last().expect("there were outages");
    let median = recoveries[recoveries.len() / 2];
    eprintln!(
        "registered again after {} outages (0.5-40 s, keepalive 1-30 s): median {median:?}, worst {worst:?} after the trunk was back",
        recoveries.len()
    );
}

#[test]
fn refresh_is_always_before_expiry_and_backoff_is_capped_and_spread() {
    let mut rng = Rng(7);
    let now = Instant::now();
    for i in 0..10_000 {
        let mut policy = RegistrationPolicy::new(rng.secs(0.5, 5.0), rng.secs(30.0, 600.0));
        // The edges first: grants around a second, then anything up to two hours.
        let granted = match i {
            0..=99 => rng.secs(0.6, 2.0),
            _ => rng.secs(1.0, 7200.0),
        };
        let refresh = policy.next_attempt(now, Outcome::Registered { granted }, rng.unit()) - now;
        assert!(refresh < granted, "refresh {refresh:?} for {granted:?}");
        assert!(
            refresh >= granted.mul_f64(0.5).min(Duration::from_secs(1)),
            "{refresh:?} for {granted:?}"
        );
        let cap = Duration::from_secs(600);
        for _ in 0..40 {
            let wait = policy.next_attempt(now, Outcome::NoAnswer, rng.unit()) - now;
            assert!(wait <= cap, "{wait:?}");
        }
    }
}
