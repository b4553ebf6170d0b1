//! WAV files as audio source and sink (`--play`, `--record`, practice speech, tests).

use std::path::{Path, PathBuf};

use crate::error::MediaError;
use crate::format::{Frame, SAMPLE_RATE};

/// A WAV file read whole into memory at the internal format, handed out a frame at a time.
pub struct WavSource {
    samples: Vec<i16>,
    pos: usize,
    looping: bool,
}

impl WavSource {
    pub fn open(path: &Path, looping: bool) -> Result<Self, MediaError> {
        let file = std::fs::File::open(path).map_err(|e| MediaError::AudioFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::read(
            std::io::BufReader::new(file),
            &path.display().to_string(),
            looping,
        )
    }

    /// A WAV image built into the program (practice speech).
    pub fn from_bytes(bytes: &[u8], name: &str, looping: bool) -> Result<Self, MediaError> {
        Self::read(std::io::Cursor::new(bytes), name, looping)
    }

    fn read<R: std::io::Read>(source: R, name: &str, looping: bool) -> Result<Self, MediaError> {
        let err = |reason: String| MediaError::AudioFile {
            path: name.to_owned(),
            reason,
        };
        let mut reader = hound::WavReader::new(source).map_err(|e| err(e.to_string()))?;
        let spec = reader.spec();
        if spec.channels == 0 || spec.sample_rate == 0 {
            return Err(err("no channels or no sample rate".into()));
        }
        let interleaved: Vec<i16> = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, 16) => reader.samples::<i16>().collect::<Result<_, _>>(),
            (hound::SampleFormat::Float, 32) => reader
                .samples::<f32>()
                .map(|s| s.map(|v| (v.clamp(-1.0, 1.0) * 32767.0) as i16))
                .collect(),
            (format, bits) => {
                return Err(err(format!(
                    "unsupported sample format {format:?} {bits}-bit (use 16-bit PCM)"
                )))
            }
        }
        .map_err(|e| err(e.to_string()))?;
        let mono = mix_to_mono(&interleaved, usize::from(spec.channels));
        let samples = resample_linear(&mono, spec.sample_rate, SAMPLE_RATE);
        if samples.is_empty() {
            return Err(err("no audio in the file".into()));
        }
        Ok(Self {
            samples,
            pos: 0,
            looping,
        })
    }

    /// Fills the next frame; after the end, silence (or the start again when looping).
    pub fn next_frame(&mut self, out: &mut Frame) {
        for s in out.iter_mut() {
            if self.pos >= self.samples.len() {
                if !self.looping {
                    *s = 0;
                    continue;
                }
                self.pos = 0;
            }
            *s = self.samples[self.pos];
            self.pos += 1;
        }
    }
}

fn mix_to_mono(interleaved: &[i16], channels: usize) -> Vec<i16> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    interleaved
        .chunks_exact(channels)
        .map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / channels as i32) as i16)
        .collect()
}

/// Offline linear-interpolation rate conversion for prerecorded files. Adequate for speech
/// prompts and test material; live device audio goes through a proper resampler.
fn resample_linear(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let x = i as f64 * step;
            let i0 = x as usize;
            let frac = x - i0 as f64;
            let a = f64::from(input[i0.min(input.len() - 1)]);
            let b = f64::from(input[(i0 + 1).min(input.len() - 1)]);
            (a + (b - a) * frac) as i16
        })
        .collect()
}

/// Records frames to a 48 kHz mono 16-bit WAV file.
pub struct WavSink {
    path: PathBuf,
    writer: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
}

impl WavSink {
    pub fn create(path: &Path) -> Result<Self, MediaError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| MediaError::AudioFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            path: path.to_owned(),
            writer: Some(writer),
        })
    }

    pub fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        self.write(frame)
    }

    pub fn write(&mut self, samples: &[i16]) -> Result<(), MediaError> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        let mut block = w.get_i16_writer(samples.len() as u32);
        for &s in samples {
            block.write_sample(s);
        }
        block.flush().map_err(|e| self.error(e))
    }

    /// Writes the header's final lengths. Also done on drop, where an error can only be logged.
    pub fn finish(&mut self) -> Result<(), MediaError> {
        match self.writer.take() {
            Some(w) => w.finalize().map_err(|e| self.error(e)),
            None => Ok(()),
        }
    }

    fn error(&self, e: hound::Error) -> MediaError {
        MediaError::AudioFile {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            tracing::warn!("recording not finalized: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{rms, FRAME_SAMPLES};

    #[test]
    fn recording_reads_back_and_other_rates_are_converted() {
        let dir = std::env::temp_dir().join(format!("sb-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("a.wav");
        {
            let mut sink = WavSink::create(&path).expect("create");
            sink.write_frame(&[1000; FRAME_SAMPLES]).expect("write");
            sink.write_frame(&[-1000; FRAME_SAMPLES]).expect("write");
        }
        let mut src = WavSource::open(&path, false).expect("open");
        let mut f = [0; FRAME_SAMPLES];
        src.next_frame(&mut f);
        assert_eq!(f[0], 1000);
        src.next_frame(&mut f);
        assert_eq!(f[FRAME_SAMPLES - 1], -1000);
        src.next_frame(&mut f);
        assert_eq!(rms(&f), 0.0, "silence after the end");

        // 8 kHz stereo in: one second becomes 48,000 mono samples.
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let p8 = dir.join("b.wav");
        let mut w = hound::WavWriter::create(&p8, spec).expect("create");
        for _ in 0..8000 {
            w.write_sample(2000i16).expect("w");
            w.write_sample(0i16).expect("w");
        }
        w.finalize().expect("finalize");
        let src = WavSource::open(&p8, false).expect("open");
        assert_eq!(src.samples.len(), 48_000);
        assert_eq!(src.samples[100], 1000);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_file_that_is_not_wav_is_a_clear_error() {
        let path = std::env::temp_dir().join(format!("sb-notwav-{}", std::process::id()));
        std::fs::write(&path, b"hello").expect("write");
        let err = WavSource::open(&path, false).err().expect("must fail");
        assert!(err.to_string().contains("sb-notwav"), "{err}");
        std::fs::remove_file(&path).ok();
    }
}
