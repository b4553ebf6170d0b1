//! The media driver for one call: a thread that, every 20 ms, takes a captured frame, encodes and
//! sends it, receives what arrived, and plays what the jitter buffer says is due. The cores it
//! drives (codec, jitter buffer, statistics) own no clock or socket.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::audio::device::{Capture, Playback};
use crate::audio::file::{WavSink, WavSource};
use crate::codec::opus::{OpusDecoder, OpusEncoder, MAX_PACKET};
use crate::error::MediaError;
use crate::format::{Frame, FRAME_DURATION, FRAME_SAMPLES, SILENCE};
use crate::jitter::{JitterBuffer, JitterConfig, Playout};
use crate::rtp::{self, RtpSender};
use crate::sdp::Negotiated;
use crate::stats::{MediaStats, ReceiveStats};

/// Where the call's outgoing audio comes from.
#[derive(Debug, Clone)]
pub enum AudioInput {
    /// The default microphone.
    Device,
    /// A WAV file, optionally repeated.
    File {
        path: PathBuf,
        looping: bool,
    },
    /// A WAV image built into the program, repeated.
    Embedded {
        name: &'static str,
        wav: &'static [u8],
    },
    Silence,
}

/// Where the call's incoming audio goes.
#[derive(Debug, Clone)]
pub enum AudioOutput {
    /// The default speaker or headset.
    Device,
    /// A WAV file (48 kHz mono).
    File(PathBuf),
    Discard,
}

pub struct SessionConfig {
    /// The socket named in our SDP, already bound.
    pub socket: UdpSocket,
    pub negotiated: Negotiated,
    pub input: AudioInput,
    pub output: AudioOutput,
}

/// A running call's media. Dropping it stops the thread too; `stop` also returns the statistics.
pub struct MediaSession {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<MediaStats>>,
}

impl MediaSession {
    /// Opens files and devices and starts the media thread. A file that cannot be opened is an
    /// error; a sound device that cannot be opened is logged and replaced by silence, because a
    /// call without a headset is still a call the agent can rescue.
    pub fn start(config: SessionConfig) -> Result<Self, MediaError> {
        let source = Source::open(&config.input)?;
        let sink = Sink::open(&config.output)?;
        let encoder = OpusEncoder::new()?;
        let decoder = OpusDecoder::new()?;
        config.socket.set_nonblocking(false)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let pump = Pump {
            socket: config.socket,
            remote: config.negotiated.remote,
            payload_type: config.negotiated.payload_type,
            source,
            sink,
            encoder,
            decoder,
            sender: RtpSender::new(config.negotiated.payload_type, random_seed()),
            jitter: JitterBuffer::new(JitterConfig::default()),
            receive: ReceiveStats::new(48_000),
            stats: MediaStats::default(),
        };
        let thread = std::thread::Builder::new()
            .name("media".into())
            .spawn(move || pump.run(&flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the media and returns what it measured.
    pub fn stop(mut self) -> MediaStats {
        self.halt()
    }

    fn halt(&mut self) -> MediaStats {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(stats)) => stats,
            Some(Err(_)) => {
                tracing::error!("media thread panicked");
                MediaStats::default()
            }
            None => MediaStats::default(),
        }
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        self.halt();
    }
}

fn random_seed() -> u64 {
    RandomState::new().build_hasher().finish()
}

enum Source {
    Device(Capture),
    File(WavSource),
    Silence,
}

impl Source {
    fn open(input: &AudioInput) -> Result<Self, MediaError> {
        Ok(match input {
            AudioInput::File { path, looping } => Source::File(WavSource::open(path, *looping)?),
            AudioInput::Embedded { name, wav } => {
                Source::File(WavSource::from_bytes(wav, name, true)?)
            }
            AudioInput::Silence => Source::Silence,
            AudioInput::Device => match Capture::open_default() {
                Ok(c) => Source::Device(c),
                Err(e) => {
                    tracing::error!("microphone unavailable, sending silence: {e}");
                    Source::Silence
                }
            },
        })
    }

    fn read(&mut self, out: &mut Frame) {
        match self {
            Source::File(f) => f.next_frame(out),
            Source::Device(c) => {
                if !c.read_frame(out) {
                    // The device delivered less than a frame this tick: send silence, keep time.
                    out.fill(0);
                }
                c.trim(FRAME_SAMPLES * 3);
            }
            Source::Silence => out.fill(0),
        }
    }
}

enum Sink {
    Device(Playback),
    File(WavSink),
    Discard,
}

impl Sink {
    fn open(output: &AudioOutput) -> Result<Self, MediaError> {
        Ok(match output {
            AudioOutput::File(path) => Sink::File(WavSink::create(path)?),
            AudioOutput::Discard => Sink::Discard,
            AudioOutput::Device => match Playback::open_default() {
                Ok(p) => Sink::Device(p),
                Err(e) => {
                    tracing::error!("speaker unavailable, discarding received audio: {e}");
                    Sink::Discard
                }
            },
        })
    }

    fn write(&mut self, frame: &Frame) {
        match self {
            Sink::File(f) => {
                if let Err(e) = f.write_frame(frame) {
                    tracing::warn!("recording: {e}");
                }
            }
            Sink::Device(p) => {
                p.write_frame(frame);
            }
            Sink::Discard => {}
        }
    }

    fn finish(&mut self) {
        if let Sink::File(f) = self {
            if let Err(e) = f.finish() {
                tracing::warn!("recording: {e}");
            }
        }
    }
}

struct Pump {
    socket: UdpSocket,
    remote: SocketAddr,
    payload_type: u8,
    source: Source,
    sink: Sink,
    encoder: OpusEncoder,
    decoder: OpusDecoder,
    sender: RtpSender,
    jitter: JitterBuffer,
    receive: ReceiveStats,
    stats: MediaStats,
}

impl Pump {
    fn run(mut self, stop: &AtomicBool) -> MediaStats {
        let mut frame: Frame = SILENCE;
        let mut payload = [0u8; MAX_PACKET];
        let mut wire = [0u8; 1500];
        let mut deadline = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            self.send_frame(&mut frame, &mut payload, &mut wire);
            self.play_frame(deadline, &mut frame);
            deadline += FRAME_DURATION;
            // After a stall (debugger, suspended VM), resynchronise instead of bursting.
            let now = Instant::now();
            if now > deadline + FRAME_DURATION * 5 {
                deadline = now;
            }
            self.receive_until(deadline, &mut wire);
        }
        self.sink.finish();
        self.report_devices();
        self.finish_stats()
    }

    fn send_frame(&mut self, frame: &mut Frame, payload: &mut [u8], wire: &mut [u8]) {
        self.source.read(frame);
        let n = match self.encoder.encode(frame, payload) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("encode: {e}");
                return;
            }
        };
        let Some(len) = self
            .sender
            .packetize(&payload[..n], FRAME_SAMPLES as u32, wire)
        else {
            return;
        };
        match self.socket.send_to(&wire[..len], self.remote) {
            Ok(_) => self.stats.packets_sent += 1,
            Err(e) => tracing::trace!("rtp send: {e}"),
        }
    }

    /// Receives until `deadline`, pushing each RTP packet into the jitter buffer as it arrives
    /// so that arrival times (and so jitter) are measured when packets land, not per tick.
    fn receive_until(&mut self, deadline: Instant, buf: &mut [u8]) {
        loop {
            let now = Instant::now();
            let Some(wait) = deadline
                .checked_duration_since(now)
                .filter(|d| !d.is_zero())
            else {
                return;
            };
            // A zero timeout means "block forever" to the OS: never pass one.
            if self
                .socket
                .set_read_timeout(Some(wait.max(Duration::from_micros(100))))
                .is_err()
            {
                return;
            }
            match self.socket.recv_from(buf) {
                Ok((n, _from)) => {
                    self.on_datagram(Instant::now(), buf.get(..n).unwrap_or_default())
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return,
                // ICMP port unreachable surfaces here on Linux before the peer's socket is open.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                Err(e) => {
                    tracing::debug!("rtp receive: {e}");
                    return;
                }
            }
        }
    }

    fn on_datagram(&mut self, now: Instant, datagram: &[u8]) {
        let Some(packet) = rtp::parse(datagram) else {
            return;
        };
        if packet.payload_type != self.payload_type {
            // telephone-event, comfort noise: handled by later work, not audio.
            return;
        }
        self.receive.on_packet(now, packet.seq, packet.timestamp);
        self.jitter.push(now, packet.seq, &packet.payload);
    }

    fn play_frame(&mut self, now: Instant, frame: &mut Frame) {
        let result = match self.jitter.pop(now) {
            Playout::Waiting => {
                frame.fill(0);
                Ok(())
            }
            Playout::Packet(p) => self.decoder.decode(p, frame),
            Playout::Lost { next } => {
                self.stats.frames_concealed += 1;
                self.decoder.conceal(next, frame)
            }
        };
        if let Err(e) = result {
            tracing::debug!("decode: {e}");
            frame.fill(0);
        }
        self.sink.write(frame);
    }

    /// Device trouble counted by the callbacks, reported from here where logging is allowed.
    fn report_devices(&self) {
        let counters = [
            (
                "microphone",
                match &self.source {
                    Source::Device(c) => Some(c.counters.snapshot()),
                    _ => None,
                },
            ),
            (
                "speaker",
                match &self.sink {
                    Sink::Device(p) => Some(p.counters.snapshot()),
                    _ => None,
                },
            ),
        ];
        for (device, counts) in counters {
            if let Some((errors, starved)) = counts.filter(|&(e, s)| e + s > 0) {
                tracing::warn!(
                    device,
                    errors,
                    starved,
                    "audio device trouble during the call"
                );
            }
        }
    }

    fn finish_stats(&self) -> MediaStats {
        let expected = self.receive.expected();
        MediaStats {
            packets_received: self.receive.received(),
            packets_lost: self.receive.lost(),
            loss_fraction: if expected == 0 {
                0.0
            } else {
                self.receive.lost() as f64 / expected as f64
            },
            jitter_ms: self.receive.jitter().as_secs_f64() * 1000.0,
            packets_late: self.jitter.stats().late,
            ..self.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::rms;

    /// Two sessions on loopback, one playing a tone file, the other recording: the recording
    /// must hold the tone (energy), and the statistics must count the packets.
    #[test]
    fn tone_crosses_loopback_between_two_sessions() {
        let dir = std::env::temp_dir().join(format!("sb-session-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let tone_path = dir.join("tone.wav");
        let mut sink = WavSink::create(&tone_path).expect("create");
        for i in 0..50 {
            let mut f = [0i16; FRAME_SAMPLES];
            for (j, s) in f.iter_mut().enumerate() {
                let t = (i * FRAME_SAMPLES + j) as f64 / 48_000.0;
                *s = (6000.0 * (2.0 * std::f64::consts::PI * 300.0 * t).sin()) as i16;
            }
            sink.write_frame(&f).expect("write");
        }
        sink.finish().expect("finish");

        let a = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let b = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let (a_addr, b_addr) = (a.local_addr().expect("addr"), b.local_addr().expect("addr"));
        let rec = dir.join("rec.wav");
        let sa = MediaSession::start(SessionConfig {
            socket: a,
            negotiated: Negotiated {
                remote: b_addr,
                payload_type: 111,
                telephone_event: None,
            },
            input: AudioInput::File {
                path: tone_path,
                looping: true,
            },
            output: AudioOutput::Discard,
        })
        .expect("start a");
        let sb = MediaSession::start(SessionConfig {
            socket: b,
            negotiated: Negotiated {
                remote: a_addr,
                payload_type: 111,
                telephone_event: None,
            },
            input: AudioInput::Silence,
            output: AudioOutput::File(rec.clone()),
        })
        .expect("start b");
        std::thread::sleep(Duration::from_millis(600));
        let stats_a = sa.stop();
        let stats_b = sb.stop();
        assert!(stats_a.packets_sent >= 20, "{stats_a:?}");
        assert!(stats_b.packets_received >= 20, "{stats_b:?}");
        assert_eq!(stats_b.packets_lost, 0, "{stats_b:?}");

        let mut reader = hound::WavReader::open(&rec).expect("recording");
        let samples: Vec<i16> = reader
            .samples::<i16>()
            .collect::<Result<_, _>>()
            .expect("samples");
        let tail = &samples[samples.len().saturating_sub(9600)..];
        assert!(rms(tail) > 2000.0, "recorded level {}", rms(tail));
        std::fs::remove_dir_all(&dir).ok();
    }
}
