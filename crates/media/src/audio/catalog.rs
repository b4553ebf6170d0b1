//! The sound devices an agent can choose from, and finding a chosen one again by its id.
//! Ids are the host's own (PulseAudio's sink and source names, ALSA's PCM names): stable
//! across runs and replugs, so a remembered choice finds its headset again.

use cpal::traits::{DeviceTrait, HostTrait};
use serde::Serialize;

use crate::error::MediaError;

/// One device, as the agent sees it in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AudioDevice {
    /// What to remember the choice by.
    pub id: String,
    /// What to show ("USB Headset Analog Stereo").
    pub name: String,
    /// The system's default for its direction.
    pub is_default: bool,
}

/// The devices present now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DeviceList {
    pub microphones: Vec<AudioDevice>,
    /// Outputs: for the call (speaker or headset) and for the ringer alike.
    pub speakers: Vec<AudioDevice>,
}

/// Which way a device is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Input,
    Output,
}

/// The sound host, kept open: with PulseAudio each host is a connection to the server, and
/// following a device means asking it every second.
pub struct Catalog {
    host: cpal::Host,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::new()
    }
}

impl Catalog {
    /// PulseAudio (or PipeWire's Pulse server) when one runs, else ALSA;
    /// `SWITCHBOARD_AUDIO_HOST=alsa` forces ALSA (through its pulse plugin, when there is a
    /// server: the default devices only, at a higher CPU cost; see the README).
    pub fn new() -> Self {
        let host = if std::env::var("SWITCHBOARD_AUDIO_HOST").as_deref() == Ok("alsa") {
            cpal::host_from_id(cpal::HostId::Alsa).unwrap_or_else(|_| cpal::default_host())
        } else {
            cpal::default_host()
        };
        Self { host }
    }

    /// Whether the devices are a PulseAudio server's (streams then go through libpulse).
    pub(crate) fn is_pulse(&self) -> bool {
        self.host.id() == cpal::HostId::PulseAudio
    }

    /// Lists the devices present. A host that cannot be asked gives an empty list, not an
    /// error: the agent can still take calls on the defaults.
    pub fn list(&self) -> DeviceList {
        DeviceList {
            microphones: self.of_direction(Direction::Input),
            speakers: self.of_direction(Direction::Output),
        }
    }

    /// Whether the device `id` is present now.
    pub fn is_present(&self, direction: Direction, id: &str) -> bool {
        self.find(direction, id).is_some()
    }

    /// The device with `id`, or the default when `id` is `None` or names a device that is not
    /// here (unplugged): the call goes on, on the default. The second value is the id opened.
    pub(crate) fn open(
        &self,
        direction: Direction,
        id: Option<&str>,
    ) -> Result<(cpal::Device, String), MediaError> {
        if let Some(wanted) = id {
            match self.find(direction, wanted) {
                Some(device) => return Ok((device, wanted.to_owned())),
                None => tracing::warn!(
                    device = wanted,
                    "chosen device not present: using the default"
                ),
            }
        }
        let device = self.default_device(direction).ok_or_else(|| {
            MediaError::Device(match direction {
                Direction::Input => "no input device".into(),
                Direction::Output => "no output device".into(),
            })
        })?;
        let opened = id_of(&device).unwrap_or_else(|| "default".into());
        Ok((device, opened))
    }

    fn of_direction(&self, direction: Direction) -> Vec<AudioDevice> {
        let default_id = self.default_device(direction).and_then(|d| id_of(&d));
        let Some(devices) = self.devices(direction) else {
            return Vec::new();
        };
        devices
            .filter_map(|device| {
                let id = id_of(&device)?;
                // A sink's monitor records what is played: never a microphone.
                if direction == Direction::Input && id.ends_with(".monitor") {
                    return None;
                }
                let name = device
                    .description()
                    .map(|d| d.name().to_owned())
                    .unwrap_or_else(|_| id.clone());
                Some(AudioDevice {
                    is_default: Some(&id) == default_id.as_ref(),
                    id,
                    name,
                })
            })
            .collect()
    }

    fn devices(&self, direction: Direction) -> Option<Box<dyn Iterator<Item = cpal::Device>>> {
        let devices: Result<Box<dyn Iterator<Item = cpal::Device>>, _> = match direction {
            Direction::Input => self.host.input_devices().map(|d| Box::new(d) as Box<_>),
            Direction::Output => self.host.output_devices().map(|d| Box::new(d) as Box<_>),
        };
        devices
            .inspect_err(|e| tracing::warn!("listing sound devices: {e}"))
            .ok()
    }

    fn find(&self, direction: Direction, id: &str) -> Option<cpal::Device> {
        self.devices(direction)?
            .find(|d| id_of(d).as_deref() == Some(id))
    }

    fn default_device(&self, direction: Direction) -> Option<cpal::Device> {
        match direction {
            Direction::Input => self.host.default_input_device(),
            Direction::Output => self.host.default_output_device(),
        }
    }
}

/// Lists the devices present (see [`Catalog::list`]).
pub fn list() -> DeviceList {
    Catalog::new().list()
}

/// What the host names the device (a PulseAudio sink or source name, an ALSA PCM name).
fn id_of(device: &cpal::Device) -> Option<String> {
    Some(device.id().ok()?.id().to_owned())
}
