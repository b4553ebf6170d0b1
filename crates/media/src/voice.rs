//! The microphone's clean-up before encoding: acoustic echo cancellation, noise suppression and
//! gain control (WebRTC's audio processing, the library Debian ships). What the speaker plays
//! is the canceller's reference: it learns the path from speaker to microphone, delay
//! included, and removes the far end's voice from what the agent sends back.

use serde::Deserialize;
use webrtc_audio_processing::{
    Config, EchoCancellation, EchoCancellationSuppressionLevel, GainControl, GainControlMode,
    InitializationConfig, NoiseSuppression, NoiseSuppressionLevel, Processor,
    NUM_SAMPLES_PER_FRAME,
};

use crate::error::MediaError;
use crate::format::Frame;

/// The library works on 10 ms at 48 kHz.
const CHUNK: usize = NUM_SAMPLES_PER_FRAME as usize;

/// Which parts run; all on by default (a contact center is a noisy room full of speakers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    pub echo_cancellation: bool,
    pub noise_suppression: bool,
    pub gain_control: bool,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        Self {
            echo_cancellation: true,
            noise_suppression: true,
            gain_control: true,
        }
    }
}

impl VoiceConfig {
    pub fn any(&self) -> bool {
        self.echo_cancellation || self.noise_suppression || self.gain_control
    }

    fn library_config(&self) -> Config {
        Config {
            echo_cancellation: self.echo_cancellation.then_some(EchoCancellation {
                suppression_level: EchoCancellationSuppressionLevel::Moderate,
                // The delay from speaker to microphone is not known (device buffers, a
                // Bluetooth headset): the canceller estimates it, and tolerates it changing.
                enable_extended_filter: true,
                enable_delay_agnostic: true,
                stream_delay_ms: None,
            }),
            noise_suppression: self.noise_suppression.then_some(NoiseSuppression {
                suppression_level: NoiseSuppressionLevel::High,
            }),
            gain_control: self.gain_control.then_some(GainControl {
                mode: GainControlMode::AdaptiveDigital,
                target_level_dbfs: 3,
                compression_gain_db: 9,
                enable_limiter: true,
            }),
            enable_high_pass_filter: true,
            ..Config::default()
        }
    }
}

pub struct VoiceProcessing {
    processor: Processor,
    chunk: [f32; CHUNK],
}

impl VoiceProcessing {
    pub fn new(config: VoiceConfig) -> Result<Self, MediaError> {
        let mut processor = Processor::new(&InitializationConfig {
            num_capture_channels: 1,
            num_render_channels: 1,
            ..InitializationConfig::default()
        })
        .map_err(|e| MediaError::Device(format!("voice processing: {e:?}")))?;
        processor.set_config(config.library_config());
        Ok(Self {
            processor,
            chunk: [0.0; CHUNK],
        })
    }

    /// Feeds 10 ms of what the speaker is about to play: the echo to expect.
    pub fn played(&mut self, samples: &[i16]) {
        for part in samples.chunks_exact(CHUNK) {
            to_float(part, &mut self.chunk);
            if let Err(e) = self.processor.process_render_frame(&mut self.chunk) {
                tracing::trace!("voice processing (render): {e:?}");
            }
        }
    }

    /// Cleans a captured frame in place.
    pub fn captured(&mut self, frame: &mut Frame) {
        for part in frame.chunks_exact_mut(CHUNK) {
            to_float(part, &mut self.chunk);
            match self.processor.process_capture_frame(&mut self.chunk) {
                Ok(()) => from_float(&self.chunk, part),
                Err(e) => tracing::trace!("voice processing (capture): {e:?}"),
            }
        }
    }
}

fn to_float(samples: &[i16], out: &mut [f32; CHUNK]) {
    for (o, s) in out.iter_mut().zip(samples) {
        *o = f32::from(*s) / 32_768.0;
    }
}

fn from_float(chunk: &[f32; CHUNK], out: &mut [i16]) {
    for (o, s) in out.iter_mut().zip(chunk) {
        *o = (s * 32_768.0).clamp(-32_768.0, 32_767.0) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{rms, FRAME_SAMPLES};
    use crate::testing::XorShift;

    /// Speech-like far-end audio: noise shaped into syllables, 4 per second.
    fn far_end(frames: usize, seed: u64) -> Vec<Frame> {
        let mut rng = XorShift::new(seed);
        (0..frames)
            .map(|i| {
                let envelope = ((i as f64 * 0.02 * 4.0 * std::f64::consts::PI).sin()).abs();
                let mut frame = [0i16; FRAME_SAMPLES];
                let mut last = 0.0;
                for s in frame.iter_mut() {
                    let white = (rng.next_u64() % 20_000) as f64 - 10_000.0;
                    last = 0.7 * last + 0.3 * white;
                    *s = (last * envelope * 2.0) as i16;
                }
                frame
            })
            .collect()
    }

    /// The microphone hears the speaker 40 ms late at half the level, and nothing else: after
    /// a few seconds to learn the path, the canceller removes most of it.
    #[test]
    fn the_far_ends_echo_is_removed_from_the_microphone() {
        let config = VoiceConfig {
            echo_cancellation: true,
            noise_suppression: false,
            gain_control: false,
        };
        let mut voice = VoiceProcessing::new(config).expect("processor");
        let played = far_end(500, 7);
        let delay = 2; // frames of 20 ms
        let (mut before, mut after) = (0.0, 0.0);
        for i in 0..played.len() {
            let (first, second) = played[i].split_at(FRAME_SAMPLES / 2);
            voice.played(first);
            voice.played(second);
            let mut mic: Frame = [0; FRAME_SAMPLES];
            if i >= delay {
                for (m, p) in mic.iter_mut().zip(played[i - delay].iter()) {
                    *m = p / 2;
                }
            }
            let heard = rms(&mic);
            voice.captured(&mut mic);
            // The last four seconds, once the canceller has converged.
            if i >= 300 {
                before += heard * heard;
                after += rms(&mic) * rms(&mic);
            }
        }
        let reduction_db = 10.0 * (before / after.max(1.0)).log10();
        eprintln!("echo reduced by {reduction_db:.1} dB");
        assert!(
            reduction_db > 20.0,
            "echo reduced by only {reduction_db:.1} dB"
        );
    }

    /// Without the far end playing, the agent's own voice goes through: the canceller does not
    /// eat speech it has no echo for.
    #[test]
    fn the_agents_voice_passes_when_there_is_no_echo() {
        let config = VoiceConfig {
            echo_cancellation: true,
            noise_suppression: false,
            gain_control: false,
        };
        let mut voice = VoiceProcessing::new(config).expect("processor");
        let spoken = far_end(200, 11);
        let (mut before, mut after) = (0.0, 0.0);
        for (i, frame) in spoken.iter().enumerate() {
            voice.played(&[0; FRAME_SAMPLES]);
            let mut mic = *frame;
            voice.captured(&mut mic);
            if i >= 100 {
                before += rms(frame) * rms(frame);
                after += rms(&mic) * rms(&mic);
            }
        }
        let loss_db = 10.0 * (before / after.max(1.0)).log10();
        assert!(
            loss_db.abs() < 3.0,
            "near-end speech changed by {loss_db:.1} dB"
        );
    }
}
