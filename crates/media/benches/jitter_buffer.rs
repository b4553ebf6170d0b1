//! Jitter-buffer efficiency on generated arrival traces (virtual time, seeded): the delay the
//! adaptive playout added against the oracle (the best fixed delay with hindsight at the same
//! late-loss rate), and the late-loss and concealment rates. The oracle is given twice: free
//! to play at any instant, and held to our 10 ms pulls (a packet must be in by the pull that
//! plays it), which is what any player the media thread drives could do.
//!
//! `cargo bench -p switchboard-media --bench jitter_buffer`

use switchboard_media::codec::Codec;
use switchboard_media::impair::Impairment;
use switchboard_media::jitter::replay::replay;
use switchboard_media::jitter::PlayoutConfig;

const TRACES: [(&str, &str); 7] = [
    ("clean", ""),
    ("jitter 20 ms", "jitter=20ms"),
    ("jitter 40 ms", "jitter=40ms"),
    ("5% loss, 40 ms jitter", "loss=0.05,jitter=40ms"),
    ("10% bursty loss", "loss=0.1,burst=3,jitter=10ms"),
    ("spikes 300 ms /10 s", "jitter=10ms,spike=300ms/500"),
    ("drift +500 ppm", "jitter=20ms,drift=500"),
];
const SECONDS: u64 = 300;
const SEEDS: [u64; 3] = [1, 2, 3];

fn main() {
    println!(
        "{:<24} {:>9} {:>9} {:>6} {:>9} {:>6} {:>7} {:>8} {:>7} {:>7} {:>9}",
        "trace",
        "buffer ms",
        "oracle ms",
        "ratio",
        "o@tick ms",
        "ratio",
        "late %",
        "conceal%",
        "accel%",
        "expand%",
        "target ms"
    );
    for (name, spec) in TRACES {
        let model = Impairment::parse(spec).expect("trace spec");
        let (mut buffer, mut oracle, mut late, mut conceal, mut accel, mut expand) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let mut tick_oracle = 0.0;
        let mut target = 0.0;
        for seed in SEEDS {
            let r = replay(Codec::Pcmu, model, seed, SECONDS, PlayoutConfig::default())
                .expect("replay");
            let played = (r.stats.packets_played * 960) as f64;
            target += r.stats.target.as_secs_f64() * 1000.0;
            buffer += r.buffer_delay.as_secs_f64() * 1000.0;
            oracle += r.oracle_delay.as_secs_f64() * 1000.0;
            tick_oracle += r.tick_oracle_delay.as_secs_f64() * 1000.0;
            late += r.late_rate * 100.0;
            conceal += r.concealment_rate * 100.0;
            accel += r.stats.accelerated_samples as f64 / played * 100.0;
            expand += r.stats.stretched_samples as f64 / played * 100.0;
        }
        let n = SEEDS.len() as f64;
        // Against an oracle that waits (almost) nothing, a ratio says nothing.
        let ratio = |oracle: f64| {
            if oracle / n >= 1.0 {
                format!("{:.2}", buffer / oracle)
            } else {
                "-".into()
            }
        };
        println!(
            "{:<24} {:>9.1} {:>9.1} {:>6} {:>9.1} {:>6} {:>7.2} {:>8.2} {:>7.2} {:>7.2} {:>9.1}",
            name,
            buffer / n,
            oracle / n,
            ratio(oracle),
            tick_oracle / n,
            ratio(tick_oracle),
            late / n,
            conceal / n,
            accel / n,
            expand / n,
            target / n
        );
    }
    println!("({SECONDS} s per trace, seeds {SEEDS:?}, G.711 µ-law, speech-like signal; means over seeds)");
}
