//! An impairment relay for RTP on loopback: two sockets, A's side and B's side. What A sends
//! to the A side leaves from the B side to B, through the seeded link model of
//! `switchboard_media::impair` (loss, bursts, jitter, reordering); what B sends back is relayed
//! untouched. So one direction of a call crosses a bad network that is the same, packet for
//! packet, for every phone measured with the same seed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use switchboard_media::impair::{Impairment, Link};

/// RTP's packet interval, which the link model's spikes drain at.
const INTERVAL: Duration = Duration::from_millis(20);

/// Where each side's traffic goes; filled in when known (a phone's ports come in its SDP).
#[derive(Debug, Default, Clone, Copy)]
struct Targets {
    to_a: Option<SocketAddr>,
    to_b: Option<SocketAddr>,
}

pub struct MediaRelay {
    pub a_side: SocketAddr,
    pub b_side: SocketAddr,
    targets: Arc<Mutex<Targets>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<RelayCount>>,
}

/// What one direction saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct RelayCount {
    pub received: u64,
    pub dropped: u64,
    /// Sum of the delays added to what was forwarded.
    pub delay: Duration,
}

impl MediaRelay {
    pub fn start(model: Impairment, seed: u64) -> Self {
        let a = UdpSocket::bind("127.0.0.1:0").expect("relay socket");
        let b = UdpSocket::bind("127.0.0.1:0").expect("relay socket");
        let (a_side, b_side) = (a.local_addr().expect("addr"), b.local_addr().expect("addr"));
        let targets = Arc::new(Mutex::new(Targets::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let a2 = a.try_clone().expect("clone");
        let b2 = b.try_clone().expect("clone");
        let forward = {
            let (t, s) = (targets.clone(), stop.clone());
            std::thread::spawn(move || {
                pump(a, b2, Some(Link::new(model, seed)), move |x| x.to_b, &t, &s)
            })
        };
        let back = {
            let (t, s) = (targets.clone(), stop.clone());
            std::thread::spawn(move || pump(b, a2, None, move |x| x.to_a, &t, &s))
        };
        Self {
            a_side,
            b_side,
            targets,
            stop,
            threads: vec![forward, back],
        }
    }

    pub fn set_a(&self, to_a: SocketAddr) {
        if let Ok(mut t) = self.targets.lock() {
            t.to_a = Some(to_a);
        }
    }

    pub fn set_b(&self, to_b: SocketAddr) {
        if let Ok(mut t) = self.targets.lock() {
            t.to_b = Some(to_b);
        }
    }

    /// Stops relaying; returns what the impaired (A to B) direction saw.
    pub fn stop(mut self) -> RelayCount {
        self.stop.store(true, Ordering::Relaxed);
        let mut counts = self.threads.drain(..).map(|t| t.join().unwrap_or_default());
        counts.next().unwrap_or_default()
    }
}

impl Drop for MediaRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Receives on `from`, sends on `out` to the target `pick` chooses, through `link` if any.
fn pump(
    from: UdpSocket,
    out: UdpSocket,
    mut link: Option<Link>,
    pick: impl Fn(&Targets) -> Option<SocketAddr>,
    targets: &Mutex<Targets>,
    stop: &AtomicBool,
) -> RelayCount {
    let mut count = RelayCount::default();
    // (release time, arrival order, datagram): a min-heap on release time.
    let mut queue: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>> = BinaryHeap::new();
    let mut buf = [0u8; 2048];
    let mut order = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while queue.peek().is_some_and(|Reverse((at, _, _))| *at <= now) {
            let Some(Reverse((_, _, datagram))) = queue.pop() else {
                break;
            };
            let target = targets.lock().ok().and_then(|t| pick(&t));
            if let Some(to) = target {
                let _ = out.send_to(&datagram, to);
            }
        }
        let wait = queue
            .peek()
            .map(|Reverse((at, _, _))| at.saturating_duration_since(now))
            .unwrap_or(Duration::from_millis(20))
            .clamp(Duration::from_micros(200), Duration::from_millis(20));
        let _ = from.set_read_timeout(Some(wait));
        let Ok((n, _)) = from.recv_from(&mut buf) else {
            continue;
        };
        count.received += 1;
        let delay = match link.as_mut() {
            Some(l) => l.next(INTERVAL),
            None => Some(Duration::ZERO),
        };
        match delay {
            Some(d) => {
                count.delay += d;
                order += 1;
                queue.push(Reverse((Instant::now() + d, order, buf[..n].to_vec())));
            }
            None => count.dropped += 1,
        }
    }
    count
}
