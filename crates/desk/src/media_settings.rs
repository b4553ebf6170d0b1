//! `[media]`: which codecs calls may use. A trunk or gateway that only carries G.711, or IT
//! that wants one codec on every desk, sets `codecs` (commonly locked in the machine policy).
//! Our offers list the codecs in this order; answering, we take Opus whenever it is allowed and
//! offered, else the first allowed one in the caller's order.

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

    /// The codecs to use: those named that we speak, once each (a typo must not bring back a
    /// codec IT left out); all of ours only when none is usable, or no call could be made.
    /// `check` reports what was wrong.
    pub fn codecs(&self) -> Vec<Codec> {
        let mut out = Vec::new();
        for codec in self.codecs.iter().filter_map(|n| Codec::from_name(n)) {
            if !out.contains(&codec) {
                out.push(codec);
            }
        }
        if out.is_empty() {
            return Codec::PREFERENCE.to_vec();
        }
        out
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
        assert_eq!(
            named(&["pcmu", "g729", "pcmu"]).codecs(),
            [Codec::Pcmu],
            "the typo is dropped"
        );
        assert_eq!(named(&["g729"]).codecs(), Codec::PREFERENCE.to_vec());
    }
}
