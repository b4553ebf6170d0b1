//! `[media]`: which codecs calls may use. A trunk or gateway that only carries G.711, or IT
//! that wants one codec on every desk, sets `codecs` (commonly locked in the machine policy).
//! Opus is taken whenever it is allowed and offered; our offers list the codecs in this order.

use serde::Deserialize;
use switchboard_media::codec::Codec;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSettings {
    /// "opus", "pcmu", "pcma", in order of preference.
    pub codecs: Vec<String>,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            codecs: Codec::PREFERENCE
                .iter()
                .map(|c| c.encoding_name().to_ascii_lowercase())
                .collect(),
        }
    }
}

impl MediaSettings {
    /// The codecs named, checked: each one we speak, once, and at least one.
    pub fn check(&self) -> Result<Vec<Codec>, String> {
        let mut out = Vec::new();
        for name in &self.codecs {
            let codec = Codec::from_name(name).ok_or_else(|| {
                format!("media.codecs: {name:?} is not a codec we speak (opus, pcmu, pcma)")
            })?;
            if out.contains(&codec) {
                return Err(format!("media.codecs: {name:?} is listed twice"));
            }
            out.push(codec);
        }
        if out.is_empty() {
            return Err("media.codecs is empty: no call could be set up".into());
        }
        Ok(out)
    }

    /// The codecs to use: those named, or all of ours when the list cannot be used (reported
    /// by `check` when the settings are read).
    pub fn codecs(&self) -> Vec<Codec> {
        self.check().unwrap_or_else(|_| Codec::PREFERENCE.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_are_named_in_order_once_each() {
        let named = |names: &[&str]| MediaSettings {
            codecs: names.iter().map(|n| n.to_string()).collect(),
        };
        assert_eq!(
            MediaSettings::default().check(),
            Ok(Codec::PREFERENCE.to_vec())
        );
        assert_eq!(
            named(&["PCMA", "pcmu"]).check(),
            Ok(vec![Codec::Pcma, Codec::Pcmu])
        );
        assert!(named(&["g729"])
            .check()
            .expect_err("unknown")
            .contains("g729"));
        assert!(named(&["opus", "OPUS"])
            .check()
            .expect_err("twice")
            .contains("twice"));
        assert!(named(&[]).check().expect_err("empty").contains("empty"));
        assert_eq!(named(&[]).codecs(), Codec::PREFERENCE.to_vec());
    }
}
