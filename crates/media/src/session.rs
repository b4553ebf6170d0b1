//! The media driver for one call: a thread that, every 20 ms, takes a captured frame, encodes and
//! sends it, receives what arrived, and plays what the jitter buffer says is due. The cores it
//! drives (codec, jitter buffer, statistics) own no clock or socket.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::audio::route::{AudioInput, AudioOutput, DeviceSwitch};
use crate::audio::route::{Sink, Source};
use crate::bridge::{self, BridgeEnd};
use crate::codec::opus::MAX_PACKET;
use crate::codec::{Codec, Decoder, Encoder};
use crate::dtmf::{self, DtmfSender};
use crate::error::MediaError;
use crate::format::{Frame, FRAME_DURATION, FRAME_SAMPLES, SILENCE};
use crate::jitter::{Playout, PlayoutConfig};
use crate::latch::{Latch, Verdict};
use crate::latency::DeviceLatency;
use crate::ports::MediaSockets;
use crate::quality::{self, Impairments};
use crate::rtcp::{Feedback, Reception, Sent};
use crate::rtcp_path::{is_rtcp, RtcpPath};
use crate::rtp::{self, RtpSender};
use crate::sdp::{Direction, Negotiated};
use crate::srtp::protection::{HandshakeAt, Protection};
use crate::srtp::{dtls, SrtpContexts};
use crate::stats::{MediaStats, ReceiveStats};
use crate::voice::{VoiceConfig, VoiceProcessing};

/// The media thread plays each 20 ms frame in two halves this far apart.
const HALF_FRAME: Duration = Duration::from_millis(10);
/// Capture and playback buffering on top of framing, for the E-model's mouth-to-ear delay
/// when the call is not on devices (the network's share is half the RTCP round trip).
const ASSUMED_DEVICE_DELAY: Duration = Duration::from_millis(20);

/// What the media thread reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// The peer pressed a key (an RFC 4733 event began).
    Dtmf { key: char },
    /// A sound device was opened or replaced (unplugged, chosen again, back again).
    Device(DeviceSwitch),
    /// The call's quality so far, every [`QUALITY_EVERY`] while it runs.
    Quality(MediaStats),
    /// The stream's DTLS-SRTP handshake failed: no audio will cross (never in the clear).
    KeyingFailed { reason: String },
}

/// How often a running call reports its quality.
pub const QUALITY_EVERY: Duration = Duration::from_secs(2);

/// Called from the media thread; must not block.
pub type MediaListener = Box<dyn Fn(MediaEvent) + Send>;

pub struct SessionConfig {
    /// The sockets named in our SDP, already bound.
    pub sockets: MediaSockets,
    pub negotiated: Negotiated,
    pub input: AudioInput,
    pub output: AudioOutput,
    pub listener: Option<MediaListener>,
    /// Echo cancellation, noise suppression and gain control on a microphone (never on a
    /// file, which is already what it should be).
    pub voice: VoiceConfig,
}

/// Changes to a running session, applied at the next 20 ms tick.
enum Control {
    /// A new offer/answer: remote address, payload types, direction.
    Renegotiated(Negotiated),
    /// Local hold: nothing is sent or played, whatever the SDP allows.
    Hold(bool),
    /// Mute: the microphone is replaced by silence; the call, its tones and a conference's
    /// other party go on.
    Mute(bool),
    /// RFC 4733 event codes to send.
    Dtmf(Vec<u8>),
    /// Join (or leave, with `None`) a local three-way conference with another call.
    Bridge(Option<BridgeEnd>),
    /// The agent chose other devices (`None`: the system's default).
    Devices {
        microphone: Option<String>,
        speaker: Option<String>,
    },
}

/// A running call's media. Dropping it stops the thread too; `stop` also returns the statistics.
pub struct MediaSession {
    stop: Arc<AtomicBool>,
    control: Sender<Control>,
    telephone_event: Option<u8>,
    thread: Option<JoinHandle<MediaStats>>,
}

impl MediaSession {
    /// Opens files and devices and starts the media thread. A file that cannot be opened is an
    /// error; a sound device that cannot be opened is logged and replaced by silence, because a
    /// call without a headset is still a call the agent can rescue.
    pub fn start(config: SessionConfig) -> Result<Self, MediaError> {
        let source = Source::open(&config.input)?;
        let sink = Sink::open(&config.output)?;
        let on_microphone = matches!(config.input, AudioInput::Device(_));
        let voice = if on_microphone && config.voice.any() {
            VoiceProcessing::new(config.voice)
                .inspect_err(|e| tracing::error!("sending the microphone unprocessed: {e}"))
                .ok()
        } else {
            None
        };
        let codec = config.negotiated.codec;
        let encoder = Encoder::new(codec)?;
        let playout = Playout::new(codec, Decoder::new(codec)?, PlayoutConfig::default());
        let MediaSockets { rtp, rtcp } = config.sockets;
        rtp.set_nonblocking(false)?;
        let rtp_local = rtp.local_addr()?;
        let negotiated = &config.negotiated;
        let protection = Protection::new(
            negotiated.srtp.as_ref(),
            negotiated.dtls.as_ref(),
            Some(HandshakeAt {
                local: rtp_local,
                remote: negotiated.remote,
            }),
            Instant::now(),
        )?;
        let seed = random_seed();
        let sender = RtpSender::new(config.negotiated.payload_type, seed);
        let rtcp = RtcpPath::new(
            rtcp,
            &config.negotiated,
            sender.ssrc(),
            seed.rotate_left(17),
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (control, control_rx) = mpsc::channel();
        let telephone_event = config.negotiated.telephone_event;
        let pump = Pump {
            socket: rtp,
            latch: Latch::new(config.negotiated.remote),
            rtcp,
            rtp_local,
            protection,
            codec,
            payload_type: config.negotiated.payload_type,
            telephone_event,
            direction: config.negotiated.direction,
            held: false,
            muted: false,
            control: control_rx,
            listener: config.listener,
            dtmf: DtmfSender::new(8000),
            bridge: None,
            last_event: None,
            source,
            sink,
            voice,
            latency: DeviceLatency::default(),
            encoder,
            playout,
            sender,
            sent_octets: 0,
            receive: ReceiveStats::new(codec.clock_rate()),
            stats: MediaStats::default(),
        };
        let thread = std::thread::Builder::new()
            .name("media".into())
            .spawn(move || pump.run(&flag))?;
        Ok(Self {
            stop,
            control,
            telephone_event,
            thread: Some(thread),
        })
    }

    /// Applies a new offer/answer (re-INVITE): where to send, and which way media may flow.
    pub fn renegotiate(&mut self, negotiated: Negotiated) {
        self.telephone_event = negotiated.telephone_event;
        self.send(Control::Renegotiated(negotiated));
    }

    /// Local hold: stops sending the agent's microphone and playing the far end, so nothing
    /// said while the customer waits reaches them.
    pub fn hold(&self, held: bool) {
        self.send(Control::Hold(held));
    }

    /// Mute: the far end hears silence (comfort noise) instead of the agent's microphone.
    pub fn mute(&self, muted: bool) {
        self.send(Control::Mute(muted));
    }

    /// Whether the peer accepts RFC 4733 telephone-events (else DTMF goes as SIP INFO).
    pub fn has_telephone_events(&self) -> bool {
        self.telephone_event.is_some()
    }

    /// Queues DTMF keys as RFC 4733 events. Fails, sending nothing, on a key that is not DTMF
    /// or when the peer did not offer telephone-events.
    pub fn send_dtmf(&self, keys: &str) -> Result<(), MediaError> {
        let codes = dtmf::parse_keys(keys).map_err(|e| MediaError::Dtmf(e.to_string()))?;
        if self.telephone_event.is_none() {
            return Err(MediaError::Dtmf(
                "the peer did not offer telephone-events".into(),
            ));
        }
        self.send(Control::Dtmf(codes));
        Ok(())
    }

    /// Mixes two calls into a three-way conference with the agent (see [`crate::bridge`]).
    pub fn bridge(a: &MediaSession, b: &MediaSession) {
        let (end_a, end_b) = bridge::pair();
        a.send(Control::Bridge(Some(end_a)));
        b.send(Control::Bridge(Some(end_b)));
    }

    /// Moves the call to other devices (the agent picked a headset mid-call); a session
    /// playing files ignores it.
    pub fn use_devices(&self, microphone: Option<String>, speaker: Option<String>) {
        self.send(Control::Devices {
            microphone,
            speaker,
        });
    }

    /// Leaves a conference; the other call notices on its own.
    pub fn unbridge(&self) {
        self.send(Control::Bridge(None));
    }

    fn send(&self, control: Control) {
        // The thread is gone only after `stop`, which consumes the session.
        let _ = self.control.send(control);
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

struct Pump {
    socket: UdpSocket,
    /// Where RTP goes: the SDP's address until the peer's media shows it comes from elsewhere.
    latch: Latch,
    rtcp: RtcpPath,
    /// The RTP socket's address, where a DTLS handshake is run from.
    rtp_local: SocketAddr,
    /// SRTP for RTP (SDES keys, or DTLS-SRTP with its handshake): RTP is sent and accepted only
    /// through it when the stream is encrypted.
    protection: Protection,
    codec: Codec,
    payload_type: u8,
    telephone_event: Option<u8>,
    /// What the SDP allows.
    direction: Direction,
    held: bool,
    muted: bool,
    control: Receiver<Control>,
    listener: Option<MediaListener>,
    dtmf: DtmfSender,
    bridge: Option<BridgeEnd>,
    /// Timestamp of the last telephone-event reported, so repeats are reported once.
    last_event: Option<u32>,
    source: Source,
    sink: Sink,
    voice: Option<VoiceProcessing>,
    latency: DeviceLatency,
    encoder: Encoder,
    playout: Playout,
    sender: RtpSender,
    /// Payload octets sent, for RTCP sender reports.
    sent_octets: u32,
    receive: ReceiveStats,
    stats: MediaStats,
}

impl Pump {
    /// Follows the devices: a lost one is replaced, a returning chosen one taken back.
    fn follow_devices(&mut self) {
        let now = Instant::now();
        if let Source::Device(d) = &mut self.source {
            let switch = d.tick(now);
            self.report_switch(switch);
        }
        if let Sink::Device(d) = &mut self.sink {
            let switch = d.tick(now);
            self.report_switch(switch);
        }
    }

    fn report_switch(&self, switch: Option<DeviceSwitch>) {
        if let (Some(switch), Some(listener)) = (switch, &self.listener) {
            listener(MediaEvent::Device(switch));
        }
    }

    fn run(mut self, stop: &AtomicBool) -> MediaStats {
        let mut frame: Frame = SILENCE;
        let mut payload = [0u8; MAX_PACKET];
        let mut wire = [0u8; 1500];
        let mut deadline = Instant::now();
        let mut next_quality = deadline + QUALITY_EVERY;
        while !stop.load(Ordering::Relaxed) {
            self.apply_controls();
            self.follow_devices();
            self.send_frame(&mut frame, &mut payload, &mut wire);
            // Played in halves, 10 ms apart: each decision to play, wait or conceal is taken
            // as late as it can be, which is delay the jitter buffer need not hold.
            let (first, second) = frame.split_at_mut(FRAME_SAMPLES / 2);
            self.play_part(deadline, first);
            self.receive_until(deadline + HALF_FRAME, &mut wire);
            self.play_part(deadline + HALF_FRAME, second);
            self.forward_to_bridge(&frame);
            self.exchange_reports();
            self.drive_dtls(Instant::now());
            if deadline >= next_quality {
                next_quality += QUALITY_EVERY;
                self.report_quality();
            }
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
        self.stats_now()
    }

    fn report_quality(&self) {
        if let Some(listener) = &self.listener {
            listener(MediaEvent::Quality(self.stats_now()));
        }
    }

    fn apply_controls(&mut self) {
        while let Ok(control) = self.control.try_recv() {
            match control {
                Control::Renegotiated(n) => {
                    if n.codec != self.codec {
                        self.switch_codec(n.codec);
                    }
                    let at = HandshakeAt {
                        local: self.rtp_local,
                        remote: n.remote,
                    };
                    self.protection.renegotiated(
                        n.srtp.as_ref(),
                        n.dtls.as_ref(),
                        Some(at),
                        Instant::now(),
                    );
                    self.latch.reset(n.remote);
                    self.rtcp.renegotiated(&n);
                    self.payload_type = n.payload_type;
                    self.telephone_event = n.telephone_event;
                    self.direction = n.direction;
                }
                Control::Hold(held) => self.held = held,
                Control::Mute(muted) => self.muted = muted,
                Control::Dtmf(codes) => self.dtmf.push(&codes),
                Control::Bridge(end) => self.bridge = end,
                Control::Devices {
                    microphone,
                    speaker,
                } => {
                    let now = Instant::now();
                    if let Source::Device(d) = &mut self.source {
                        let switch = d.choose(microphone, now);
                        self.report_switch(switch);
                    }
                    if let Sink::Device(d) = &mut self.sink {
                        let switch = d.choose(speaker, now);
                        self.report_switch(switch);
                    }
                }
            }
        }
    }

    /// A re-INVITE changed the codec (rare: a transfer to a G.711-only leg).
    fn switch_codec(&mut self, codec: Codec) {
        let parts = Encoder::new(codec).and_then(|e| Ok((e, Decoder::new(codec)?)));
        match parts {
            Ok((encoder, decoder)) => {
                self.codec = codec;
                self.encoder = encoder;
                self.playout = Playout::new(codec, decoder, PlayoutConfig::default());
                self.receive = ReceiveStats::new(codec.clock_rate());
            }
            Err(e) => tracing::warn!("switching to {codec:?}: {e}"),
        }
    }

    fn srtp_tag_len(&self) -> usize {
        self.protection.keys().map_or(0, |k| k.suite.rtp_tag_len())
    }

    fn frame_units(&self) -> u32 {
        self.codec.frame_units()
    }

    fn sending(&self) -> bool {
        self.direction.sends() && !self.held
    }

    fn send_frame(&mut self, frame: &mut Frame, payload: &mut [u8], wire: &mut [u8]) {
        // The source is read even when nothing is sent, so a microphone does not pile up
        // stale audio and a prompt keeps its place in time.
        let read = self.source.queued().map(|queued| (queued, Instant::now()));
        self.source.read(frame);
        if let Some(voice) = &mut self.voice {
            voice.captured(frame);
        }
        if self.muted {
            // After echo control has seen the microphone, so it keeps its place.
            *frame = SILENCE;
        }
        if let Some(bridge) = &self.bridge {
            if !bridge.mix_into(frame) {
                self.bridge = None;
            }
        }
        if !self.sending() {
            self.sender.advance(self.frame_units());
            return;
        }
        if let Some(len) = self.event_packet(wire) {
            self.sender.advance(self.frame_units());
            self.transmit(&wire[..len]);
            return;
        }
        let n = match self.encoder.encode(frame, payload) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("encode: {e}");
                return;
            }
        };
        if n <= 2 {
            // Opus DTX: a frame of silence that need not be sent (the receiver makes comfort
            // noise); the next packet sent starts a talkspurt.
            self.sender.advance(self.frame_units());
            return;
        }
        let Some(len) = self
            .sender
            .packetize(&payload[..n], self.frame_units(), wire)
        else {
            return;
        };
        self.transmit(&wire[..len]);
        if let Some((queued, at)) = read {
            self.latency.captured(queued, FRAME_SAMPLES, at.elapsed());
        }
    }

    /// A telephone-event packet to send instead of this tick's audio, if a key is playing.
    fn event_packet(&mut self, wire: &mut [u8]) -> Option<usize> {
        let pt = self.telephone_event?;
        let event = self.dtmf.tick(self.sender.timestamp())?;
        self.sender
            .packetize_other(pt, event.marker, event.timestamp, &event.payload, wire)
    }

    fn transmit(&mut self, packet: &[u8]) {
        let packet = match self.protection.through(packet, SrtpContexts::protect_rtp) {
            Ok(p) => p,
            Err(e) => {
                tracing::trace!("srtp: {e}");
                return;
            }
        };
        match self.socket.send_to(&packet, self.latch.target()) {
            Ok(_) => {
                self.stats.packets_sent += 1;
                let payload = packet.len().saturating_sub(12 + self.srtp_tag_len()) as u32;
                self.sent_octets = self.sent_octets.wrapping_add(payload);
            }
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
                Ok((n, from)) => {
                    self.on_datagram(Instant::now(), from, buf.get(..n).unwrap_or_default())
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

    fn on_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if dtls::is_dtls(datagram) {
            if let Some(keys) = self.protection.on_dtls(now, from, datagram) {
                // Multiplexed RTCP is keyed by the same handshake (RFC 5764 §4.1.1).
                self.rtcp.install(&keys);
                for (at, from, early) in self.protection.take_early() {
                    self.on_datagram(at, from, &early);
                }
            }
            self.send_dtls();
            return;
        }
        if self.protection.hold_early(now, from, datagram) {
            return;
        }
        if is_rtcp(datagram) {
            if let Some(feedback) = self.rtcp.on_datagram(now, datagram) {
                self.on_feedback(feedback);
            }
            return;
        }
        // Not RTP at all (a NAT keepalive, say): nothing to authenticate.
        let shaped = rtp::has_header(datagram)
            && self
                .protection
                .contexts()
                .is_none_or(|s| s.could_be_srtp(datagram));
        if !shaped {
            return;
        }
        // Authenticated before anything else reads it: a forged packet must not move the latch
        // or reach the jitter buffer.
        let datagram = match self
            .protection
            .through(datagram, SrtpContexts::unprotect_rtp)
        {
            Ok(plain) => plain,
            Err(e) => {
                self.stats.packets_rejected += 1;
                tracing::trace!("srtp: {e}");
                return;
            }
        };
        let Some(packet) = rtp::parse(&datagram) else {
            return;
        };
        match self.latch.on_packet(now, from, packet.ssrc, packet.seq) {
            Verdict::Accept => {}
            Verdict::Ignore => return,
            Verdict::Moved(to) => {
                tracing::info!(%to, "peer's media comes from another address: sending there");
                self.rtcp.rtp_moved(to);
            }
        }
        if Some(packet.payload_type) == self.telephone_event {
            self.on_event(packet.timestamp, &packet.payload);
            return;
        }
        if packet.payload_type != self.payload_type {
            // Comfort noise and anything else we did not negotiate: not audio.
            return;
        }
        self.receive
            .on_packet(now, packet.ssrc, packet.seq, packet.timestamp);
        self.playout.push(
            now,
            packet.seq,
            packet.timestamp,
            packet.marker,
            &packet.payload,
        );
    }

    /// DTLS retransmissions, and the handshakes' verdicts: a call that cannot be keyed is
    /// reported, to be hung up rather than left silent.
    fn drive_dtls(&mut self, now: Instant) {
        let failures = [
            self.protection.handle_timeout(now),
            self.rtcp.handle_timeout(now),
        ];
        self.send_dtls();
        for reason in failures.into_iter().flatten() {
            tracing::warn!("{reason}");
            if let Some(listener) = &self.listener {
                listener(MediaEvent::KeyingFailed { reason });
            }
        }
    }

    fn send_dtls(&mut self) {
        while let Some((to, record)) = self.protection.poll_transmit() {
            if let Err(e) = self.socket.send_to(&record, to) {
                tracing::trace!("dtls send: {e}");
            }
        }
    }

    /// Reads the peer's reports and sends ours when due.
    fn exchange_reports(&mut self) {
        if let Some(feedback) = self.rtcp.drain() {
            self.on_feedback(feedback);
        }
        let sent = (self.stats.packets_sent > 0).then(|| Sent {
            rtp_timestamp: self.sender.timestamp(),
            packets: self.stats.packets_sent as u32,
            octets: self.sent_octets,
        });
        let reception = self
            .receive
            .report()
            .map(|(ssrc, highest, jitter)| Reception {
                ssrc,
                highest,
                expected: self.receive.expected(),
                received: self.receive.received(),
                jitter,
            });
        self.rtcp
            .send_due(Instant::now(), &self.socket, sent, reception);
    }

    /// The peer's report on our stream: Opus spends bits on FEC only while it loses packets.
    fn on_feedback(&mut self, feedback: Feedback) {
        if let Some(loss) = feedback.loss_reported {
            self.encoder
                .set_expected_loss((loss * 100.0).ceil().min(100.0) as u8);
        }
    }

    /// Reports a key once per event (its packets repeat, and share the start timestamp).
    fn on_event(&mut self, timestamp: u32, payload: &[u8]) {
        let Some((key, _end)) = dtmf::read_event(payload) else {
            return;
        };
        if self.last_event == Some(timestamp) {
            return;
        }
        self.last_event = Some(timestamp);
        if let Some(listener) = &self.listener {
            listener(MediaEvent::Dtmf { key });
        }
    }

    fn play_part(&mut self, now: Instant, part: &mut [i16]) {
        let pulled = Instant::now();
        self.playout.pull(now, part);
        if self.held || !self.direction.receives() {
            part.fill(0);
        }
        if let Some(voice) = &mut self.voice {
            voice.played(part);
        }
        self.sink.write(part);
        if let Some(queued) = self.sink.queued() {
            self.latency.played(queued, part.len(), pulled.elapsed());
        }
    }

    fn forward_to_bridge(&mut self, frame: &Frame) {
        if let Some(bridge) = &self.bridge {
            if !bridge.forward(frame) {
                self.bridge = None;
            }
        }
    }

    /// Device trouble counted by the callbacks, reported from here where logging is allowed.
    fn report_devices(&self) {
        let counters = [
            (
                "microphone",
                match &self.source {
                    Source::Device(d) => d.current().map(|c| c.counters.snapshot()),
                    _ => None,
                },
            ),
            (
                "speaker",
                match &self.sink {
                    Sink::Device(d) => d.current().map(|p| p.counters.snapshot()),
                    _ => None,
                },
            ),
        ];
        for (device, counts) in counters {
            if let Some((errors, starved, dropped)) = counts.filter(|&(e, s, d)| e + s + d > 0) {
                tracing::warn!(
                    device,
                    errors,
                    starved,
                    dropped,
                    "audio device trouble during the call"
                );
            }
        }
    }

    /// The statistics so far (the final ones when the call ends).
    fn stats_now(&self) -> MediaStats {
        let expected = self.receive.expected();
        let playout = self.playout.stats();
        let frame = FRAME_SAMPLES as f64;
        let concealed_frames = playout.concealed_total() as f64 / frame;
        let heard_frames = playout.packets_played as f64 + concealed_frames;
        let heard_loss = if heard_frames > 0.0 {
            concealed_frames / heard_frames
        } else {
            0.0
        };
        let rtt = self.rtcp.state.rtt();
        let network = rtt.map(|r| r / 2).unwrap_or_default();
        // Our side's device delay as measured when on devices (the far side's is unknown,
        // and taken to be like ours).
        let measured = match (
            self.latency.capture_to_packet_ms(),
            self.latency.packet_to_speaker_ms(),
        ) {
            (Some(c), Some(p)) => Some(Duration::from_secs_f64((c + p) / 1000.0)),
            _ => None,
        };
        let devices = measured.unwrap_or(ASSUMED_DEVICE_DELAY);
        let one_way = network + playout.mean_delay() + FRAME_DURATION + devices;
        let rating = quality::rating(Impairments {
            one_way_delay: one_way,
            loss: heard_loss,
        });
        MediaStats {
            packets_received: self.receive.received(),
            packets_lost: self.receive.lost(),
            loss_fraction: if expected == 0 {
                0.0
            } else {
                self.receive.lost() as f64 / expected as f64
            },
            jitter_ms: self.receive.jitter().as_secs_f64() * 1000.0,
            packets_late: playout.packets_late,
            frames_concealed: playout.concealed_total() / FRAME_SAMPLES as u64,
            codec: self.codec.encoding_name(),
            jitter_buffer_ms: playout.mean_delay().as_secs_f64() * 1000.0,
            concealed_ms: playout.concealed_total() as f64 / 48.0,
            rtt_ms: rtt.map(|r| r.as_secs_f64() * 1000.0),
            remote_loss_fraction: self.rtcp.state.remote_loss(),
            stretched_ms: (playout.accelerated_samples + playout.stretched_samples) as f64 / 48.0,
            mos: if playout.packets_played > 0 {
                quality::mos(rating)
            } else {
                0.0
            },
            encrypted: self.protection.encrypted(),
            capture_to_packet_ms: self.latency.capture_to_packet_ms(),
            packet_to_speaker_ms: self.latency.packet_to_speaker_ms(),
            packets_rejected: self.stats.packets_rejected + self.rtcp.rejected,
            ..self.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::file::WavSink;
    use crate::format::rms;
    use crate::srtp::{DtlsIdentity, DtlsParams, DtlsRole, MasterKey, SrtpKeys, Suite};
    use std::path::PathBuf;

    fn tone_file(name: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("sb-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let tone = dir.join("tone.wav");
        write_tone(&tone, 50);
        (dir, tone)
    }

    fn recorded(path: &std::path::Path) -> Vec<i16> {
        hound::WavReader::open(path)
            .expect("recording")
            .samples::<i16>()
            .collect::<Result<_, _>>()
            .expect("samples")
    }

    /// The level of a recording's last 200 ms.
    fn tail_level(path: &std::path::Path) -> f64 {
        let samples = recorded(path);
        rms(&samples[samples.len().saturating_sub(9600)..])
    }

    /// Two sessions on loopback, one playing a tone file, the other recording: in each codec,
    /// the recording must hold the tone (energy), and the statistics must count the packets.
    #[test]
    fn tone_crosses_loopback_between_two_sessions_in_every_codec() {
        for codec in Codec::PREFERENCE {
            let (dir, tone) = tone_file(codec.encoding_name());
            let rec = dir.join("rec.wav");
            let (sa, sb) = pair_with(
                Setup {
                    codec,
                    ..Setup::default()
                },
                AudioInput::File {
                    path: tone,
                    looping: true,
                },
                AudioOutput::File(rec.clone()),
                None,
            );
            std::thread::sleep(Duration::from_millis(600));
            let stats_a = sa.stop();
            let stats_b = sb.stop();
            assert!(stats_a.packets_sent >= 20, "{codec:?} {stats_a:?}");
            assert!(stats_b.packets_received >= 20, "{codec:?} {stats_b:?}");
            assert_eq!(stats_b.packets_lost, 0, "{codec:?} {stats_b:?}");
            assert_eq!(stats_b.codec, codec.encoding_name());
            let level = tail_level(&rec);
            assert!(level > 2000.0, "{codec:?} recorded level {level}");
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    /// RTCP flows on the next port up, or multiplexed: within a few seconds one side has
    /// measured the round trip, which on loopback is a millisecond or so.
    #[test]
    fn rtcp_reports_give_a_round_trip_with_and_without_multiplexing() {
        for mux in [false, true] {
            let (dir, tone) = tone_file(if mux { "rtcp-mux" } else { "rtcp" });
            let (a, b) = pair_with(
                Setup {
                    mux,
                    ..Setup::default()
                },
                AudioInput::File {
                    path: tone,
                    looping: true,
                },
                AudioOutput::Discard,
                None,
            );
            std::thread::sleep(Duration::from_millis(4500));
            let (sa, sb) = (a.stop(), b.stop());
            let rtt = sa.rtt_ms.or(sb.rtt_ms);
            assert!(rtt.is_some_and(|r| r < 20.0), "mux {mux}: {sa:?} {sb:?}");
            assert!(
                sa.remote_loss_fraction.or(sb.remote_loss_fraction) == Some(0.0),
                "mux {mux}: {sa:?} {sb:?}"
            );
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    /// The peer's SDP names the wrong address (a NAT rewrote its source): its media shows
    /// where it really is, and after a short run ours follows it there.
    #[test]
    fn media_latches_to_where_the_peer_really_sends_from() {
        let (dir, tone) = tone_file("latch");
        let rec = dir.join("rec.wav");
        let (a, b) = pair_with(
            Setup {
                a_told_wrong_address: true,
                ..Setup::default()
            },
            AudioInput::File {
                path: tone,
                looping: true,
            },
            AudioOutput::File(rec.clone()),
            None,
        );
        std::thread::sleep(Duration::from_millis(800));
        let (sa, _) = (a.stop(), b.stop());
        assert!(sa.packets_received > 20, "{sa:?}");
        let level = tail_level(&rec);
        assert!(level > 2000.0, "recorded level {level}");
        std::fs::remove_dir_all(&dir).ok();
    }

    /// An encrypted call (SDES keys): the tone crosses, SRTCP gives reports both ways, and
    /// plain packets from a third party are refused without disturbing what is played.
    #[test]
    fn srtp_carries_the_call_and_refuses_what_is_not_authentic() {
        encrypted_call_is_heard("srtp", |mux| Setup {
            mux,
            srtp: true,
            forge_into_b: true,
            ..Setup::default()
        });
    }

    /// DTLS-SRTP: the handshake keys RTP and, on its own port or multiplexed, RTCP; plain
    /// packets, before and after the keys, are refused.
    #[test]
    fn dtls_srtp_keys_the_call_and_its_reports() {
        encrypted_call_is_heard("dtls", |mux| Setup {
            mux,
            dtls: true,
            forge_into_b: true,
            ..Setup::default()
        });
    }

    /// A tone from a to b on `setup(mux)`, with RTCP on its own port and multiplexed.
    fn encrypted_call_is_heard(name: &str, setup: fn(bool) -> Setup) {
        for mux in [false, true] {
            let (dir, tone) = tone_file(&format!("{name}-{mux}"));
            let rec = dir.join("rec.wav");
            let input = AudioInput::File {
                path: tone,
                looping: true,
            };
            let (a, b) = pair_with(setup(mux), input, AudioOutput::File(rec.clone()), None);
            std::thread::sleep(Duration::from_millis(4500));
            let (sa, sb) = (a.stop(), b.stop());
            assert!(sa.encrypted && sb.encrypted, "mux {mux}: {sa:?} {sb:?}");
            assert_eq!(sb.packets_rejected, FORGED, "mux {mux}: {sb:?}");
            assert_eq!(
                (sb.packets_lost, sb.packets_late),
                (0, 0),
                "mux {mux}: {sb:?}"
            );
            assert!(sb.packets_received >= 200, "mux {mux}: {sb:?}");
            // Each side read the other's report (SRTCP decrypted both ways).
            assert!(
                sa.remote_loss_fraction.is_some() && sb.remote_loss_fraction.is_some(),
                "SRTCP both ways, mux {mux}: {sa:?} {sb:?}"
            );
            let level = tail_level(&rec);
            assert!(level > 2000.0, "mux {mux}: recorded level {level}");
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    const FORGED: u64 = 25;

    /// Sends `FORGED` plain RTP packets to `to`, 20 ms apart, from a socket of its own.
    fn forge(to: SocketAddr, payload_type: u8) {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        std::thread::spawn(move || {
            let mut sender = RtpSender::new(payload_type, 99);
            let mut wire = [0u8; 200];
            std::thread::sleep(Duration::from_millis(300));
            for _ in 0..FORGED {
                let n = sender.packetize(&[0xAA; 80], 960, &mut wire).expect("fits");
                socket.send_to(&wire[..n], to).expect("send");
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }

    fn test_key() -> MasterKey {
        let provider = rtc_srtp::crypto::default_provider().expect("ring");
        MasterKey::generate(provider.as_ref()).expect("key")
    }

    #[derive(Clone, Copy)]
    struct Setup {
        codec: Codec,
        mux: bool,
        te: Option<u8>,
        /// Session a's SDP names an address b does not send from; b's names a correctly.
        a_told_wrong_address: bool,
        /// Both sides encrypt (SRTP keys as SDES would give them).
        srtp: bool,
        /// Both sides encrypt with keys from a DTLS handshake (a is the client).
        dtls: bool,
        /// A third party sends b plain RTP packets in the stream's payload type.
        forge_into_b: bool,
    }

    impl Default for Setup {
        fn default() -> Self {
            Self {
                codec: Codec::Opus,
                mux: false,
                te: None,
                a_told_wrong_address: false,
                srtp: false,
                dtls: false,
                forge_into_b: false,
            }
        }
    }

    fn pair(
        input: AudioInput,
        output: AudioOutput,
        te: Option<u8>,
        listener: Option<MediaListener>,
    ) -> (MediaSession, MediaSession) {
        let setup = Setup {
            te,
            ..Setup::default()
        };
        pair_with(setup, input, output, listener)
    }

    /// Session a plays `input` to b, which plays into `output` (and reports to `listener`).
    fn pair_with(
        setup: Setup,
        input: AudioInput,
        output: AudioOutput,
        listener: Option<MediaListener>,
    ) -> (MediaSession, MediaSession) {
        let ip = "127.0.0.1".parse().expect("ip");
        let a = MediaSockets::bind(ip).expect("bind");
        let b = MediaSockets::bind(ip).expect("bind");
        let (key_a, key_b) = (test_key(), test_key());
        let keys = |ours: &MasterKey, theirs: &MasterKey| {
            setup.srtp.then(|| SrtpKeys {
                suite: Suite::AesCm128HmacSha1_80,
                ours: ours.clone(),
                theirs: theirs.clone(),
            })
        };
        let (id_a, id_b) = (
            DtlsIdentity::generate().expect("a"),
            DtlsIdentity::generate().expect("b"),
        );
        let dtls = |role, ours: &Arc<DtlsIdentity>, theirs: &Arc<DtlsIdentity>| {
            setup.dtls.then(|| DtlsParams {
                role,
                identity: ours.clone(),
                remote_fingerprint: theirs.fingerprint().clone(),
            })
        };
        let negotiated = |to: &MediaSockets, srtp: Option<SrtpKeys>, dtls| {
            let remote = to.rtp_addr().expect("addr");
            Negotiated {
                remote,
                rtcp: if setup.mux {
                    remote
                } else {
                    to.rtcp.local_addr().expect("addr")
                },
                rtcp_mux: setup.mux,
                codec: setup.codec,
                payload_type: setup.codec.static_payload_type().unwrap_or(111),
                telephone_event: setup.te,
                direction: Direction::SendRecv,
                remote_direction: Direction::SendRecv,
                srtp,
                dtls,
            }
        };
        let mut to_b = negotiated(
            &b,
            keys(&key_a, &key_b),
            dtls(DtlsRole::Client, &id_a, &id_b),
        );
        if setup.forge_into_b {
            forge(to_b.remote, to_b.payload_type);
        }
        if setup.a_told_wrong_address {
            // A port nobody listens on: what b "said" in its SDP.
            let gone = UdpSocket::bind("127.0.0.1:0").expect("bind");
            to_b.remote = gone.local_addr().expect("addr");
        }
        let to_a = negotiated(
            &a,
            keys(&key_b, &key_a),
            dtls(DtlsRole::Server, &id_b, &id_a),
        );
        // With the wrong address, a only learns b's real one from b's packets: b must talk.
        let (a_input, b_input) = if setup.a_told_wrong_address {
            (AudioInput::Silence, input)
        } else {
            (input, AudioInput::Silence)
        };
        let (a_output, b_output, a_listener, b_listener) = if setup.a_told_wrong_address {
            (output, AudioOutput::Discard, listener, None)
        } else {
            (AudioOutput::Discard, output, None, listener)
        };
        let sa = MediaSession::start(SessionConfig {
            sockets: a,
            negotiated: to_b,
            input: a_input,
            output: a_output,
            listener: a_listener,
            voice: VoiceConfig::default(),
        })
        .expect("start a");
        let sb = MediaSession::start(SessionConfig {
            sockets: b,
            negotiated: to_a,
            input: b_input,
            output: b_output,
            listener: b_listener,
            voice: VoiceConfig::default(),
        })
        .expect("start b");
        (sa, sb)
    }

    /// Keys sent as RFC 4733 events by one session are reported once each, in order, by the other.
    #[test]
    fn dtmf_keys_cross_loopback_once_each() {
        let (tx, rx) = mpsc::channel();
        let listener: MediaListener = Box::new(move |e| {
            let _ = tx.send(e);
        });
        let (a, b) = pair(
            AudioInput::Silence,
            AudioOutput::Discard,
            Some(101),
            Some(listener),
        );
        assert!(
            a.send_dtmf("12x").is_err(),
            "a bad key must refuse the whole sequence"
        );
        a.send_dtmf("4#*").expect("queued");
        // Three keys of 100 ms tone, 60 ms end and 60 ms gap each.
        std::thread::sleep(Duration::from_millis(900));
        a.stop();
        b.stop();
        let keys: String = rx
            .try_iter()
            .filter_map(|e| match e {
                MediaEvent::Dtmf { key } => Some(key),
                _ => None,
            })
            .collect();
        assert_eq!(keys, "4#*");
    }

    #[test]
    fn dtmf_without_telephone_events_is_refused() {
        let (a, _b) = pair(AudioInput::Silence, AudioOutput::Discard, None, None);
        assert!(matches!(a.send_dtmf("1"), Err(MediaError::Dtmf(_))));
    }

    /// Muted, the far end hears silence (no talkspurts: Opus DTX) while the call goes on;
    /// unmuted, the microphone is heard again.
    #[test]
    fn mute_silences_the_microphone_and_unmute_restores_it() {
        let (dir, rec, a, b) = tone_call("mute");
        a.mute(true);
        std::thread::sleep(Duration::from_millis(600));
        a.mute(false);
        std::thread::sleep(Duration::from_millis(600));
        a.stop();
        b.stop();
        let samples = recorded(&rec);
        // From 200 ms: the first frames may be encoded before the mute reaches the thread.
        assert!(
            rms_at(&samples, 200) < 50.0,
            "muted {}",
            rms_at(&samples, 200)
        );
        assert!(
            rms_at(&samples, 900) > 2000.0,
            "unmuted {}",
            rms_at(&samples, 900)
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    /// While held, the far end hears silence and no packets go out; resumed, audio flows again.
    #[test]
    fn hold_sends_nothing_and_resume_restores_audio() {
        let (dir, rec, a, b) = tone_call("hold");
        std::thread::sleep(Duration::from_millis(400));
        a.hold(true);
        std::thread::sleep(Duration::from_millis(600));
        a.hold(false);
        std::thread::sleep(Duration::from_millis(600));
        let sent = a.stop();
        b.stop();
        // About 50 of the 80 ticks sent audio; the 30 held ones did not.
        assert!(
            (35..=65).contains(&sent.packets_sent),
            "{} packets sent",
            sent.packets_sent
        );
        let samples = recorded(&rec);
        let window = |from_ms| rms_at(&samples, from_ms);
        assert!(window(200) > 2000.0, "before hold {}", window(200));
        assert!(window(650) < 50.0, "during hold {}", window(650));
        assert!(window(1250) > 2000.0, "after resume {}", window(1250));
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A call whose caller plays a looping 300 Hz tone and whose callee records it:
    /// (scratch dir, recording, caller, callee).
    fn tone_call(
        name: &str,
    ) -> (
        std::path::PathBuf,
        std::path::PathBuf,
        MediaSession,
        MediaSession,
    ) {
        let (dir, tone) = tone_file(name);
        let rec = dir.join("rec.wav");
        let (a, b) = pair(
            AudioInput::File {
                path: tone,
                looping: true,
            },
            AudioOutput::File(rec.clone()),
            None,
            None,
        );
        (dir, rec, a, b)
    }

    /// The RMS of the 200 ms of a 48 kHz recording from `from_ms`.
    fn rms_at(samples: &[i16], from_ms: usize) -> f64 {
        let at = (from_ms * 48).min(samples.len());
        rms(&samples[at..(at + 9600).min(samples.len())])
    }

    fn write_tone(path: &std::path::Path, frames: usize) {
        let mut sink = WavSink::create(path).expect("create");
        for i in 0..frames {
            let mut f = [0i16; FRAME_SAMPLES];
            for (j, s) in f.iter_mut().enumerate() {
                let t = (i * FRAME_SAMPLES + j) as f64 / 48_000.0;
                *s = (6000.0 * (2.0 * std::f64::consts::PI * 300.0 * t).sin()) as i16;
            }
            sink.write_frame(&f).expect("write");
        }
        sink.finish().expect("finish");
    }
}
