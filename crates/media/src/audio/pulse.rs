//! Streams on a PulseAudio server (or PipeWire's Pulse server) through the server's own client
//! library. Each stream has one thread that owns its connection and waits on it: when the server
//! delivers captured audio or asks for playback (every 10 ms), the thread wakes once and moves
//! the samples between the server and the same lock-free rings the cpal callbacks use.
//!
//! Why not cpal's Pulse host for the streams (it still lists the devices): its pure-Rust client
//! zero-fills a megabyte on every socket read and asks the server for timing on every callback,
//! which measured several times what this costs per call (`call_cost` bench, README).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use libpulse_binding::context::{Context, FlagSet as ContextFlags, State as ContextState};
use libpulse_binding::def::BufferAttr;
use libpulse_binding::mainloop::standard::{IterateResult, Mainloop};
use libpulse_binding::sample::{Format, Spec};
use libpulse_binding::stream::{FlagSet as StreamFlags, PeekResult, SeekMode, State, Stream};
use ringbuf::traits::{Consumer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::device::DeviceCounters;
use crate::error::MediaError;
use crate::format::SAMPLE_RATE;

/// Samples the server moves at a time: 10 ms, the device period cpal streams use too.
const PERIOD: usize = 480;
const PERIOD_BYTES: u32 = (PERIOD * 2) as u32;

/// What the server holds for playback beyond our ring: two periods, so that one late wake-up
/// of the thread does not become a gap.
const PLAYBACK_TARGET: u32 = PERIOD_BYTES * 2;

/// How long the server may take to accept a stream before the device counts as unavailable.
const OPEN_TIMEOUT: Duration = Duration::from_secs(3);

/// A running stream's thread. Dropping it asks the thread to end, which it does at its next
/// wake-up (within a period); it is not joined, so a hung server cannot hang the media thread.
pub(crate) struct Handle {
    stop: Arc<AtomicBool>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Records `device` (the server's default source when `None`) into `ring`.
pub(crate) fn capture(
    device: Option<&str>,
    mut ring: HeapProd<i16>,
    counters: Arc<DeviceCounters>,
) -> Result<Handle, MediaError> {
    start(Way::Capture, device, counters.clone(), move |stream| {
        let mut full = false;
        loop {
            match stream.peek() {
                Ok(PeekResult::Data(bytes)) => {
                    // Overflow drops samples rather than blocking the server.
                    for pair in bytes.chunks_exact(2) {
                        full |= ring
                            .try_push(i16::from_ne_bytes([pair[0], pair[1]]))
                            .is_err();
                    }
                }
                // A gap the server reports (an overrun): nothing to keep.
                Ok(PeekResult::Hole(_)) => {}
                Ok(PeekResult::Empty) => break,
                Err(_) => return false,
            }
            if stream.discard().is_err() {
                return false;
            }
        }
        if full {
            counters.starved.fetch_add(1, Ordering::Relaxed);
        }
        true
    })
}

/// Plays `ring` on `device` (the server's default sink when `None`), silence where it runs short.
pub(crate) fn playback(
    device: Option<&str>,
    mut ring: HeapCons<i16>,
    counters: Arc<DeviceCounters>,
) -> Result<Handle, MediaError> {
    let mut samples = [0i16; PERIOD];
    let mut bytes = [0u8; PERIOD_BYTES as usize];
    start(Way::Playback, device, counters.clone(), move |stream| {
        while stream
            .writable_size()
            .is_some_and(|n| n >= PERIOD_BYTES as usize)
        {
            let got = ring.pop_slice(&mut samples);
            if got < PERIOD {
                samples[got..].fill(0);
                counters.starved.fetch_add(1, Ordering::Relaxed);
            }
            for (pair, s) in bytes.chunks_exact_mut(2).zip(samples) {
                pair.copy_from_slice(&s.to_ne_bytes());
            }
            if stream.write_copy(&bytes, 0, SeekMode::Relative).is_err() {
                return false;
            }
        }
        true
    })
}

#[derive(Clone, Copy)]
enum Way {
    Capture,
    Playback,
}

/// Connects a stream on its own thread, then runs `pump` there at once and after every wake-up
/// until the stream is dropped or fails (`pump` returning false). Returns once the server has accepted
/// the stream, or with why it did not.
fn start<F>(
    way: Way,
    device: Option<&str>,
    counters: Arc<DeviceCounters>,
    mut pump: F,
) -> Result<Handle, MediaError>
where
    F: FnMut(&mut Stream) -> bool + Send + 'static,
{
    // The library turns names into C strings and panics on an inner NUL: refuse it here.
    if device.is_some_and(|d| d.contains('\0')) {
        return Err(MediaError::Device("device name holds a NUL byte".into()));
    }
    let device = device.map(str::to_owned);
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = stop.clone();
    let (opened, outcome) = mpsc::sync_channel(1);
    let name = match way {
        Way::Capture => "pulse-capture",
        Way::Playback => "pulse-playback",
    };
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut connection = match Connection::open(way, device.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    let _ = opened.send(Err(e));
                    return;
                }
            };
            let _ = opened.send(Ok(()));
            // Pump first: a new playback stream has room already and the server will not
            // wake us until something is written.
            while pump(&mut connection.stream) {
                if thread_stop.load(Ordering::Relaxed) {
                    return;
                }
                if !connection.wait() {
                    break;
                }
            }
            counters.failed();
        })
        .map_err(|e| MediaError::Device(format!("starting the {name} thread: {e}")))?;
    match outcome.recv_timeout(OPEN_TIMEOUT) {
        Ok(Ok(())) => Ok(Handle { stop }),
        Ok(Err(e)) => Err(e),
        Err(_) => {
            stop.store(true, Ordering::Relaxed);
            Err(MediaError::Device(
                "the sound server did not open the stream".into(),
            ))
        }
    }
}

/// One stream and the connection it lives on. Fields drop in order: the stream before its
/// context, the context before its main loop.
struct Connection {
    stream: Stream,
    context: Context,
    mainloop: Mainloop,
}

impl Connection {
    fn open(way: Way, device: Option<&str>) -> Result<Self, MediaError> {
        let refused = |what: &str| MediaError::Device(format!("sound server: {what}"));
        let mut mainloop = Mainloop::new().ok_or_else(|| refused("no main loop"))?;
        let mut context =
            Context::new(&mainloop, "Switchboard").ok_or_else(|| refused("no context"))?;
        context
            .connect(None, ContextFlags::NOFLAGS, None)
            .map_err(|e| refused(&format!("{e}")))?;
        loop {
            if !matches!(mainloop.iterate(true), IterateResult::Success(_)) {
                return Err(refused("main loop failed while connecting"));
            }
            match context.get_state() {
                ContextState::Ready => break,
                ContextState::Failed | ContextState::Terminated => {
                    return Err(refused("connection refused"))
                }
                _ => {}
            }
        }
        // Mono 16-bit at 48 kHz, the engine's own format: the server converts and resamples
        // for the device, so no device rate or channel count reaches us.
        let spec = Spec {
            format: Format::S16NE,
            channels: 1,
            rate: SAMPLE_RATE,
        };
        let (stream_name, attr) = match way {
            Way::Capture => ("call microphone", capture_buffer()),
            Way::Playback => ("call audio", playback_buffer()),
        };
        let mut stream = Stream::new(&mut context, stream_name, &spec, None)
            .ok_or_else(|| refused("no stream"))?;
        // Latency as asked, not the server's default of seconds; no timing requests, which
        // nothing here reads. A chosen device is not left silently: when it goes away the
        // server ends the stream instead of moving it, and the call hears of it at once.
        let mut flags = StreamFlags::ADJUST_LATENCY;
        if device.is_some() {
            flags |= StreamFlags::DONT_MOVE;
        }
        match way {
            Way::Capture => stream.connect_record(device, Some(&attr), flags),
            Way::Playback => stream.connect_playback(device, Some(&attr), flags, None, None),
        }
        .map_err(|e| refused(&format!("{e}")))?;
        let mut connection = Self {
            stream,
            context,
            mainloop,
        };
        loop {
            if !connection.wait() {
                return Err(refused("the stream was not accepted"));
            }
            if connection.stream.get_state() == State::Ready {
                return Ok(connection);
            }
        }
    }

    /// Blocks until the server has sent something; false once the stream or its connection
    /// has failed (the device went away, the server stopped).
    fn wait(&mut self) -> bool {
        matches!(self.mainloop.iterate(true), IterateResult::Success(_))
            && self.context.get_state() == ContextState::Ready
            && !matches!(self.stream.get_state(), State::Failed | State::Terminated)
    }
}

/// Record in 10 ms fragments: each one is woken for and sent at once.
fn capture_buffer() -> BufferAttr {
    // u32::MAX leaves a field to the server.
    BufferAttr {
        maxlength: u32::MAX,
        tlength: u32::MAX,
        prebuf: u32::MAX,
        minreq: u32::MAX,
        fragsize: PERIOD_BYTES,
    }
}

/// Play with two periods queued at the server, asked for one period at a time. Left to
/// itself the server buffers two seconds of playback: two seconds of delay on every call.
fn playback_buffer() -> BufferAttr {
    BufferAttr {
        maxlength: u32::MAX,
        tlength: PLAYBACK_TARGET,
        prebuf: u32::MAX,
        minreq: PERIOD_BYTES,
        fragsize: u32::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbuf::traits::Split;
    use ringbuf::HeapRb;

    /// A name from a settings file with a NUL in it is an error, not a panic in the library.
    #[test]
    fn a_device_name_with_a_nul_byte_is_refused() {
        let (ring, _) = HeapRb::<i16>::new(PERIOD).split();
        let counters = Arc::new(DeviceCounters::default());
        match capture(Some("headset\0evil"), ring, counters) {
            Err(MediaError::Device(why)) => assert!(why.contains("NUL"), "{why}"),
            Err(other) => panic!("unexpected error: {other}"),
            Ok(_) => panic!("a NUL in a device name was accepted"),
        }
    }
}
