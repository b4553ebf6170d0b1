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

use super::catalog::{Catalog, Direction};
use super::pulse;
use crate::error::MediaError;
use crate::format::{Frame, FRAME_SAMPLES, SAMPLE_RATE};

/// Frames per device callback: 10 ms. Left to itself PulseAudio buffers two seconds of
/// playback, which would be two seconds of delay on every call.
const DEVICE_PERIOD: u32 = 480;

/// Samples the rings hold: 200 ms, ample for scheduling hiccups without unbounded delay.
const RING_SAMPLES: usize = FRAME_SAMPLES * 10;

/// What the device callbacks count for the media thread to report (they may not log).
#[derive(Debug, Default)]
pub struct DeviceCounters {
    /// Stream errors cpal reported (xruns, a device gone).
    pub errors: AtomicU64,
    /// Callbacks that found the ring short (playback) or full (capture).
    pub starved: AtomicU64,
    /// The device went away (unplugged): the stream will deliver nothing more.
    pub lost: AtomicBool,
    /// Parts the media thread dropped to keep playback delay bounded.
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
}

impl Capture {
    /// Opens the input device `id` (the default when `None` or not present) at 48 kHz.
    pub fn open(catalog: &Catalog, id: Option<&str>) -> Result<Self, MediaError> {
        let (device, opened) = catalog.open(Direction::Input, id)?;
        let (prod, ring) = HeapRb::<i16>::new(RING_SAMPLES).split();
        let counters = Arc::new(DeviceCounters::default());
        let c = counters.clone();
        let running = if catalog.is_pulse() {
            Running::Pulse {
                _stream: pulse::capture(chosen(id, &opened), prod, c)?,
            }
        } else {
            Running::Cpal {
                _stream: cpal_input(&device, prod, c)?,
            }
        };
        Ok(Self {
            _running: running,
            ring,
            counters,
            opened,
        })
    }

    /// Takes one frame if a whole one has been captured.
    pub fn read_frame(&mut self, out: &mut Frame) -> bool {
        if self.ring.occupied_len() < FRAME_SAMPLES {
            return false;
        }
        self.ring.pop_slice(out) == FRAME_SAMPLES
    }

    /// Samples captured and not yet read: how long the oldest has waited.
    pub fn queued(&self) -> usize {
        self.ring.occupied_len()
    }

    /// Drops captured audio beyond `keep` samples, so that a late start does not become delay.
    pub fn trim(&mut self, keep: usize) {
        let excess = self.ring.occupied_len().saturating_sub(keep);
        self.ring.skip(excess);
    }
}

/// The speaker: a running output stream fed from a ring the media thread fills.
pub struct Playback {
    _running: Running,
    ring: HeapProd<i16>,
    pub counters: Arc<DeviceCounters>,
    /// The device's id: the one chosen, or the default's when it was not present.
    pub opened: String,
}

impl Playback {
    /// Opens the output device `id` (the default when `None` or not present) at 48 kHz.
    pub fn open(catalog: &Catalog, id: Option<&str>) -> Result<Self, MediaError> {
        let (device, opened) = catalog.open(Direction::Output, id)?;
        let (ring, cons) = HeapRb::<i16>::new(RING_SAMPLES).split();
        let counters = Arc::new(DeviceCounters::default());
        let c = counters.clone();
        let running = if catalog.is_pulse() {
            Running::Pulse {
                _stream: pulse::playback(chosen(id, &opened), cons, c)?,
            }
        } else {
            Running::Cpal {
                _stream: cpal_output(&device, cons, c)?,
            }
        };
        Ok(Self {
            _running: running,
            ring,
            counters,
            opened,
        })
    }

    /// Queues samples; returns false when the device is not draining (ring full).
    pub fn write(&mut self, samples: &[i16]) -> bool {
        self.ring.push_slice(samples) == samples.len()
    }

    /// Samples written and not yet taken by the device: how long the newest will wait.
    pub fn queued(&self) -> usize {
        self.ring.occupied_len()
    }
}

/// A cpal input stream at 48 kHz with 10 ms periods, running.
fn cpal_input(
    device: &cpal::Device,
    ring: HeapProd<i16>,
    counters: Arc<DeviceCounters>,
) -> Result<cpal::Stream, MediaError> {
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
    Ok(stream)
}

/// A cpal output stream at 48 kHz with 10 ms periods, running.
fn cpal_output(
    device: &cpal::Device,
    ring: HeapCons<i16>,
    counters: Arc<DeviceCounters>,
) -> Result<cpal::Stream, MediaError> {
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
    Ok(stream)
}

/// The stream configuration with a 10 ms period, when the device accepts one.
fn low_latency(supported: &SupportedStreamConfig) -> StreamConfig {
    let mut config = supported.config();
    if let SupportedBufferSize::Range { min, max } = *supported.buffer_size() {
        if (min..=max).contains(&DEVICE_PERIOD) {
            config.buffer_size = BufferSize::Fixed(DEVICE_PERIOD);
        }
    }
    config
}

fn device_error(e: cpal::Error) -> MediaError {
    MediaError::Device(e.to_string())
}

/// 48 kHz, mono preferred, 16-bit or float: what PulseAudio and every USB headset offer.
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
    for channels in [1, 2] {
        for format in [SampleFormat::I16, SampleFormat::F32] {
            if let Some(c) = ranges
                .iter()
                .filter(|r| r.channels() == channels && r.sample_format() == format)
                .find_map(|r| r.try_with_sample_rate(SAMPLE_RATE))
            {
                return Ok(c);
            }
        }
    }
    Err(MediaError::Device(format!(
        "{device} has no 48 kHz mono or stereo 16-bit/float configuration"
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
