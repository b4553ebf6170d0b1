//! Sound devices: a microphone feeding a ring and a speaker draining one. On a PulseAudio server
//! the streams are libpulse's (see `pulse.rs`), elsewhere cpal's. Either way the device side only
//! moves samples between the device and lock-free rings (no allocation, no lock, no logging); the
//! media thread does everything else.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{
    BufferSize, FromSample, Sample, SampleFormat, SizedSample, StreamConfig, SupportedBufferSize,
    SupportedStreamConfig,
};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::backlog::{self, Backlog};
use super::catalog::{Catalog, Direction};
use super::pulse;
use super::resample::{to_i16, RateConverter};
use crate::error::MediaError;
use crate::format::{Frame, FRAME_SAMPLES, SAMPLE_RATE};

/// Frames per device callback: 10 ms. Left to itself PulseAudio buffers two seconds of
/// playback, which would be two seconds of delay on every call.
const DEVICE_PERIOD: u32 = 480;

/// Captured audio that may stay waiting after a frame is read (10 ms, one device period).
const MAX_CAPTURE_BACKLOG: usize = FRAME_SAMPLES / 2;

/// Samples the rings hold: 200 ms, ample for scheduling hiccups without unbounded delay.
const RING_SAMPLES: usize = FRAME_SAMPLES * 10;

/// Playback is converted for a device without 48 kHz 10 ms at a time, as the engine writes it.
const PLAYBACK_CHUNK: usize = FRAME_SAMPLES / 2;

/// What the device callbacks count for the media thread to report (they may not log).
#[derive(Debug, Default)]
pub struct DeviceCounters {
    /// Stream errors cpal reported (xruns, a device gone).
    pub errors: AtomicU64,
    /// Callbacks that found the ring short (playback) or full (capture).
    pub starved: AtomicU64,
    /// The device went away (unplugged): the stream will deliver nothing more.
    pub lost: AtomicBool,
    /// Parts the media thread dropped to keep the delay bounded (speaker and microphone).
    pub dropped: AtomicU64,
}

impl DeviceCounters {
    /// Errors, starved callbacks, and parts dropped to bound the delay.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.errors.load(Ordering::Relaxed),
            self.starved.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
        )
    }

    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// What the error callback does: count, and note a device that is gone.
    fn on_error(&self, e: &cpal::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if e.kind() == cpal::ErrorKind::DeviceNotAvailable {
            self.lost.store(true, Ordering::Relaxed);
        }
    }

    /// The stream ended with an error: it will move nothing more.
    pub(crate) fn failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.lost.store(true, Ordering::Relaxed);
    }
}

/// What keeps a device's audio moving; held only to be dropped, which stops the stream.
enum Running {
    Cpal { _stream: cpal::Stream },
    Pulse { _stream: pulse::Handle },
}

/// The name to give the sound server: the chosen device when it was found, else its default.
fn chosen<'a>(id: Option<&str>, opened: &'a str) -> Option<&'a str> {
    (id == Some(opened)).then_some(opened)
}

/// The microphone: a running input stream feeding a ring the media thread drains.
pub struct Capture {
    _running: Running,
    ring: HeapCons<i16>,
    pub counters: Arc<DeviceCounters>,
    /// The device's id: the one chosen, or the default's when it was not present.
    pub opened: String,
    /// To 48 kHz, when the device runs at another rate.
    converter: Option<RateConverter>,
    /// How much captured audio has stayed waiting.
    backlog: Backlog,
}

impl Capture {
    /// Opens the input device `id` (the default when `None` or not present) at 48 kHz.
    pub fn open(catalog: &Catalog, id: Option<&str>) -> Result<Self, MediaError> {
        let (device, opened) = catalog.open(Direction::Input, id)?;
        let (prod, ring) = HeapRb::<i16>::new(RING_SAMPLES).split();
        let counters = Arc::new(DeviceCounters::default());
        let c = counters.clone();
        let (running, rate) = if catalog.is_pulse() {
            let stream = pulse::capture(chosen(id, &opened), prod, c)?;
            (Running::Pulse { _stream: stream }, SAMPLE_RATE)
        } else {
            let (stream, rate) = cpal_input(&device, prod, c)?;
            (Running::Cpal { _stream: stream }, rate)
        };
        let converter = (rate != SAMPLE_RATE)
            .then(|| RateConverter::to_engine(rate, FRAME_SAMPLES))
            .transpose()?;
        Ok(Self {
            _running: running,
            ring,
            counters,
            opened,
            converter,
            backlog: Backlog::new(MAX_CAPTURE_BACKLOG, backlog::WINDOW),
        })
    }

    /// Takes one frame if a whole one has been captured.
    pub fn read_frame(&mut self, out: &mut Frame) -> bool {
        let Some(converter) = &mut self.converter else {
            if self.ring.occupied_len() < FRAME_SAMPLES {
                return false;
            }
            return self.ring.pop_slice(out) == FRAME_SAMPLES;
        };
        if self.ring.occupied_len() < converter.input_needed() {
            return false;
        }
        let converted = converter.convert(self.ring.pop_iter());
        for (o, s) in out.iter_mut().zip(converted) {
            *o = to_i16(*s);
        }
        converted.len() == FRAME_SAMPLES
    }

    /// Samples captured and not yet read (at 48 kHz): how long the oldest has waited.
    pub fn queued(&self) -> usize {
        let held = self.ring.occupied_len();
        self.converter
            .as_ref()
            .map_or(held, |c| c.to_engine_samples(held))
    }

    /// After a frame is read: drops the oldest captured audio when more than the bound has
    /// stayed waiting over the last half second (see [`Backlog`]), so that a late start or a
    /// device clock running ahead of ours does not become delay, in one cut.
    pub fn settle(&mut self) {
        let cut = self.backlog.after_read(self.queued());
        if cut == 0 {
            return;
        }
        let cut = self
            .converter
            .as_ref()
            .map_or(cut, |c| c.to_device_samples(cut));
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        self.ring.skip(cut.min(self.ring.occupied_len()));
    }
}

/// The speaker: a running output stream fed from a ring the media thread fills.
pub struct Playback {
    _running: Running,
    ring: HeapProd<i16>,
    pub counters: Arc<DeviceCounters>,
    /// The device's id: the one chosen, or the default's when it was not present.
    pub opened: String,
    /// From 48 kHz, when the device runs at another rate.
    converter: Option<Converting>,
}

/// Playback's conversion, and what the engine wrote that is not yet a whole chunk.
struct Converting {
    converter: RateConverter,
    pending: Vec<i16>,
}

impl Playback {
    /// Opens the output device `id` (the default when `None` or not present) at 48 kHz.
    pub fn open(catalog: &Catalog, id: Option<&str>) -> Result<Self, MediaError> {
        let (device, opened) = catalog.open(Direction::Output, id)?;
        let (ring, cons) = HeapRb::<i16>::new(RING_SAMPLES).split();
        let counters = Arc::new(DeviceCounters::default());
        let c = counters.clone();
        let (running, rate) = if catalog.is_pulse() {
            let stream = pulse::playback(chosen(id, &opened), cons, c)?;
            (Running::Pulse { _stream: stream }, SAMPLE_RATE)
        } else {
            let (stream, rate) = cpal_output(&device, cons, c)?;
            (Running::Cpal { _stream: stream }, rate)
        };
        let converter = (rate != SAMPLE_RATE)
            .then(|| {
                Ok::<_, MediaError>(Converting {
                    converter: RateConverter::from_engine(rate, PLAYBACK_CHUNK)?,
                    pending: Vec::with_capacity(FRAME_SAMPLES * 2),
                })
            })
            .transpose()?;
        Ok(Self {
            _running: running,
            ring,
            counters,
            opened,
            converter,
        })
    }

    /// Queues samples (48 kHz); returns false when the device is not draining (ring full).
    pub fn write(&mut self, samples: &[i16]) -> bool {
        let Some(Converting { converter, pending }) = &mut self.converter else {
            return self.ring.push_slice(samples) == samples.len();
        };
        pending.extend_from_slice(samples);
        let mut all = true;
        while pending.len() >= converter.input_needed() {
            let needed = converter.input_needed();
            let converted = converter.convert(pending.drain(..needed));
            for s in converted {
                all &= self.ring.try_push(to_i16(*s)).is_ok();
            }
        }
        all
    }

    /// Samples written and not yet taken by the device (at 48 kHz): how long the newest will
    /// wait.
    pub fn queued(&self) -> usize {
        let held = self.ring.occupied_len();
        match &self.converter {
            None => held,
            Some(c) => c.converter.to_engine_samples(held) + c.pending.len(),
        }
    }
}

/// A cpal input stream with 10 ms periods, running, and its rate (48 kHz where offered).
fn cpal_input(
    device: &cpal::Device,
    ring: HeapProd<i16>,
    counters: Arc<DeviceCounters>,
) -> Result<(cpal::Stream, u32), MediaError> {
    let config = pick_config(device, true)?;
    let stream = match config.sample_format() {
        SampleFormat::I16 => build_input::<i16>(device, low_latency(&config), ring, counters),
        SampleFormat::F32 => build_input::<f32>(device, low_latency(&config), ring, counters),
        other => {
            return Err(MediaError::Device(format!(
                "unsupported input format {other}"
            )))
        }
    }?;
    stream.play().map_err(device_error)?;
    Ok((stream, config.sample_rate()))
}

/// A cpal output stream with 10 ms periods, running, and its rate (48 kHz where offered).
fn cpal_output(
    device: &cpal::Device,
    ring: HeapCons<i16>,
    counters: Arc<DeviceCounters>,
) -> Result<(cpal::Stream, u32), MediaError> {
    let config = pick_config(device, false)?;
    let stream = match config.sample_format() {
        SampleFormat::I16 => build_output::<i16>(device, low_latency(&config), ring, counters),
        SampleFormat::F32 => build_output::<f32>(device, low_latency(&config), ring, counters),
        other => {
            return Err(MediaError::Device(format!(
                "unsupported output format {other}"
            )))
        }
    }?;
    stream.play().map_err(device_error)?;
    Ok((stream, config.sample_rate()))
}

/// The stream configuration with a 10 ms period, when the device accepts one.
fn low_latency(supported: &SupportedStreamConfig) -> StreamConfig {
    let mut config = supported.config();
    // 10 ms at the device's own rate.
    let period = DEVICE_PERIOD * supported.sample_rate() / SAMPLE_RATE;
    if let SupportedBufferSize::Range { min, max } = *supported.buffer_size() {
        if (min..=max).contains(&period) {
            config.buffer_size = BufferSize::Fixed(period);
        }
    }
    config
}

fn device_error(e: cpal::Error) -> MediaError {
    MediaError::Device(e.to_string())
}

/// 48 kHz, mono preferred, 16-bit or float: what PulseAudio and nearly every USB headset offer.
/// A device without 48 kHz runs at the rate it has nearest (converted on the media thread);
/// `SWITCHBOARD_DEVICE_RATE` asks for another rate where the device has it (a device that
/// misbehaves at 48 kHz; the tests).
fn pick_config(device: &cpal::Device, input: bool) -> Result<SupportedStreamConfig, MediaError> {
    let ranges: Vec<_> = if input {
        device
            .supported_input_configs()
            .map_err(device_error)?
            .collect()
    } else {
        device
            .supported_output_configs()
            .map_err(device_error)?
            .collect()
    };
    let wanted = std::env::var("SWITCHBOARD_DEVICE_RATE")
        .ok()
        .and_then(|r| r.parse::<u32>().ok())
        .filter(|r| (8_000..=192_000).contains(r))
        .unwrap_or(SAMPLE_RATE);
    let usable = |r: &&cpal::SupportedStreamConfigRange, channels, format| {
        r.channels() == channels && r.sample_format() == format
    };
    // The wanted rate in any usable layout first; then the nearest rate each range has.
    let exact = |r: &cpal::SupportedStreamConfigRange| r.try_with_sample_rate(wanted);
    let nearest = |r: &cpal::SupportedStreamConfigRange| {
        r.try_with_sample_rate(wanted.clamp(r.min_sample_rate(), r.max_sample_rate()))
    };
    for pick in [&exact as &dyn Fn(&_) -> _, &nearest] {
        for channels in [1, 2] {
            for format in [SampleFormat::I16, SampleFormat::F32] {
                if let Some(c) = ranges
                    .iter()
                    .filter(|r| usable(r, channels, format))
                    .find_map(pick)
                {
                    return Ok(c);
                }
            }
        }
    }
    Err(MediaError::Device(format!(
        "{device} has no mono or stereo 16-bit/float configuration"
    )))
}

fn build_input<T>(
    device: &cpal::Device,
    config: StreamConfig,
    mut ring: HeapProd<i16>,
    counters: Arc<DeviceCounters>,
) -> Result<cpal::Stream, MediaError>
where
    T: SizedSample,
    i16: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let input_counters = counters.clone();
    device
        .build_input_stream(
            config,
            move |data: &[T], _| {
                // Keep the first channel; overflow drops samples rather than blocking the device.
                let mut full = false;
                for s in data.iter().step_by(channels) {
                    full |= ring.try_push(i16::from_sample(*s)).is_err();
                }
                if full {
                    input_counters.starved.fetch_add(1, Ordering::Relaxed);
                }
            },
            move |e| counters.on_error(&e),
            None,
        )
        .map_err(device_error)
}

fn build_output<T>(
    device: &cpal::Device,
    config: StreamConfig,
    mut ring: HeapCons<i16>,
    counters: Arc<DeviceCounters>,
) -> Result<cpal::Stream, MediaError>
where
    T: SizedSample + FromSample<i16>,
{
    let channels = usize::from(config.channels.max(1));
    let output_counters = counters.clone();
    device
        .build_output_stream(
            config,
            move |data: &mut [T], _| {
                let mut short = false;
                for frame in data.chunks_mut(channels) {
                    let sample = ring.try_pop();
                    short |= sample.is_none();
                    frame.fill(T::from_sample(sample.unwrap_or(0)));
                }
                if short {
                    output_counters.starved.fetch_add(1, Ordering::Relaxed);
                }
            },
            move |e| counters.on_error(&e),
            None,
        )
        .map_err(device_error)
}
