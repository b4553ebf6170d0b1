//! Where a call's audio comes from and goes to: a sound device, a WAV file, or nothing. A device
//! that goes away mid-call (a headset unplugged) is replaced by the default at once, and the
//! chosen one is taken back when it returns: the call never drops for a device.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::catalog::{Catalog, Direction};
use super::device::{Capture, DeviceCounters, Playback};
use super::file::{WavSink, WavSource};
use crate::error::MediaError;
use crate::format::{Frame, FRAME_SAMPLES};

/// How often a missing chosen device is looked for (listing devices costs a round trip to the
/// sound server, so not every tick).
const LOOK_AGAIN: Duration = Duration::from_secs(1);

/// Audio queued for the speaker beyond which a 10 ms part is dropped (the device's clock runs
/// faster than ours, or playback started late): 30 ms.
const MAX_PLAYBACK_QUEUE: usize = FRAME_SAMPLES * 3 / 2;

/// Where the call's outgoing audio comes from.
#[derive(Debug, Clone)]
pub enum AudioInput {
    /// A microphone by id (see [`catalog`]), or the system's default.
    Device(Option<String>),
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
    /// A speaker or headset by id, or the system's default.
    Device(Option<String>),
    /// A WAV file (48 kHz mono).
    File(PathBuf),
    Discard,
}

/// A device changed under a running call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSwitch {
    pub direction: Direction,
    /// The id now in use.
    pub device: String,
    /// Whether it is the one chosen (false: the default stands in for a missing one).
    pub chosen: bool,
}

/// An open device stream of either direction.
pub(crate) trait Endpoint: Sized {
    const DIRECTION: Direction;
    fn open(catalog: &Catalog, id: Option<&str>) -> Result<Self, MediaError>;
    fn counters(&self) -> &DeviceCounters;
    fn opened(&self) -> &str;
}

impl Endpoint for Capture {
    const DIRECTION: Direction = Direction::Input;
    fn open(catalog: &Catalog, id: Option<&str>) -> Result<Self, MediaError> {
        Capture::open(catalog, id)
    }
    fn counters(&self) -> &DeviceCounters {
        &self.counters
    }
    fn opened(&self) -> &str {
        &self.opened
    }
}

impl Endpoint for Playback {
    const DIRECTION: Direction = Direction::Output;
    fn open(catalog: &Catalog, id: Option<&str>) -> Result<Self, MediaError> {
        Playback::open(catalog, id)
    }
    fn counters(&self) -> &DeviceCounters {
        &self.counters
    }
    fn opened(&self) -> &str {
        &self.opened
    }
}

/// The device the agent chose, followed through unplugging and replugging. A device that goes
/// away ends its stream (ALSA reports an error; PulseAudio, asked not to move a chosen device's
/// stream, ends it), which the next tick sees. Only while the call is on a fallback are the
/// devices listed, once a second, to take the chosen one back.
pub(crate) struct Followed<D> {
    catalog: Catalog,
    chosen: Option<String>,
    current: Option<D>,
    next_look: Instant,
    /// A call that starts without its chosen device says so at the first tick.
    pending: Option<DeviceSwitch>,
}

impl<D: Endpoint> Followed<D> {
    /// Opens the chosen device (or the default). Without any device the call still runs, on
    /// silence, and a device is looked for again.
    fn open(chosen: Option<String>) -> Self {
        let mut followed = Self {
            catalog: Catalog::new(),
            chosen,
            current: None,
            next_look: Instant::now(),
            pending: None,
        };
        followed.pending = followed.reopen(Instant::now()).filter(|s| !s.chosen);
        followed
    }

    pub(crate) fn current(&self) -> Option<&D> {
        self.current.as_ref()
    }

    pub(crate) fn current_mut(&mut self) -> Option<&mut D> {
        self.current.as_mut()
    }

    /// The agent chose another device mid-call.
    pub(crate) fn choose(&mut self, id: Option<String>, now: Instant) -> Option<DeviceSwitch> {
        self.chosen = id;
        self.reopen(now)
    }

    /// Called once a tick: replaces a device that went away, and takes the chosen one back
    /// once it is present again.
    pub(crate) fn tick(&mut self, now: Instant) -> Option<DeviceSwitch> {
        if let Some(pending) = self.pending.take() {
            return Some(pending);
        }
        let lost = self
            .current
            .as_ref()
            .is_some_and(|d| d.counters().is_lost());
        if lost {
            let gone = self.current.take().map(|d| d.opened().to_owned());
            tracing::warn!(device = gone.as_deref(), "sound device went away mid-call");
            return self.reopen(now);
        }
        if now < self.next_look {
            return None;
        }
        self.next_look = now + LOOK_AGAIN;
        let Some(current) = &self.current else {
            return self.reopen(now);
        };
        let chosen = self.chosen.as_deref()?;
        // On the chosen device, its stream ending says it is gone: no need to ask the host
        // (a round trip to the sound server) from the media thread.
        if current.opened() == chosen || !self.catalog.is_present(D::DIRECTION, chosen) {
            return None;
        }
        tracing::info!(device = chosen, "chosen sound device is back");
        self.reopen(now)
    }

    fn reopen(&mut self, now: Instant) -> Option<DeviceSwitch> {
        self.next_look = now + LOOK_AGAIN;
        self.current = None;
        match D::open(&self.catalog, self.chosen.as_deref()) {
            Ok(device) => {
                let switch = DeviceSwitch {
                    direction: D::DIRECTION,
                    device: device.opened().to_owned(),
                    chosen: self.chosen.as_deref().is_none_or(|c| c == device.opened()),
                };
                self.current = Some(device);
                Some(switch)
            }
            Err(e) => {
                tracing::error!("{:?} device unavailable: {e}", D::DIRECTION);
                None
            }
        }
    }
}

/// The call's audio source.
pub(crate) enum Source {
    Device(Box<Followed<Capture>>),
    File(WavSource),
    Silence,
}

impl Source {
    /// A file that cannot be opened is an error; a missing device is not (see [`Followed`]).
    pub(crate) fn open(input: &AudioInput) -> Result<Self, MediaError> {
        Ok(match input {
            AudioInput::File { path, looping } => Source::File(WavSource::open(path, *looping)?),
            AudioInput::Embedded { name, wav } => {
                Source::File(WavSource::from_bytes(wav, name, true)?)
            }
            AudioInput::Silence => Source::Silence,
            AudioInput::Device(id) => Source::Device(Box::new(Followed::open(id.clone()))),
        })
    }

    /// Samples the microphone holds that are not read yet (`None` without a device).
    pub(crate) fn queued(&self) -> Option<usize> {
        match self {
            Source::Device(d) => d.current().map(Capture::queued),
            _ => None,
        }
    }

    pub(crate) fn read(&mut self, out: &mut Frame) {
        match self {
            Source::File(f) => f.next_frame(out),
            Source::Device(followed) => match followed.current_mut() {
                Some(c) => {
                    if !c.read_frame(out) {
                        // Less than a frame arrived this tick: send silence, keep time.
                        out.fill(0);
                    }
                    // What is left waits a whole tick more: what stays beyond a device
                    // period becomes delay on every word, and goes.
                    c.settle();
                }
                None => out.fill(0),
            },
            Source::Silence => out.fill(0),
        }
    }
}

/// Where the call's received audio goes.
pub(crate) enum Sink {
    Device(Box<Followed<Playback>>),
    File(WavSink),
    Discard,
}

impl Sink {
    pub(crate) fn open(output: &AudioOutput) -> Result<Self, MediaError> {
        Ok(match output {
            AudioOutput::File(path) => Sink::File(WavSink::create(path)?),
            AudioOutput::Discard => Sink::Discard,
            AudioOutput::Device(id) => Sink::Device(Box::new(Followed::open(id.clone()))),
        })
    }

    /// Samples waiting for the speaker (`None` without a device).
    pub(crate) fn queued(&self) -> Option<usize> {
        match self {
            Sink::Device(d) => d.current().map(Playback::queued),
            _ => None,
        }
    }

    pub(crate) fn write(&mut self, samples: &[i16]) {
        match self {
            Sink::File(f) => {
                if let Err(e) = f.write(samples) {
                    tracing::warn!("recording: {e}");
                }
            }
            Sink::Device(followed) => {
                if let Some(p) = followed.current_mut() {
                    if p.queued() + samples.len() > MAX_PLAYBACK_QUEUE {
                        p.counters.dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    p.write(samples);
                }
            }
            Sink::Discard => {}
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Sink::File(f) = self {
            if let Err(e) = f.finish() {
                tracing::warn!("recording: {e}");
            }
        }
    }
}
