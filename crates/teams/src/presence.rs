//! Presence values as Microsoft Graph reports them (`availability`, `activity`).
//!
//! Graph documents a fixed set of values but adds new ones over time, and tenants have been seen
//! sending them in other casings. So matching is case-insensitive and an unknown value is kept
//! verbatim (`Other`) to be shown neutrally, never mapped to something that looks free.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `availability` of a Graph `presence` resource.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS), ts(type = "string"))]
pub enum Availability {
    Available,
    AvailableIdle,
    Away,
    BeRightBack,
    Busy,
    BusyIdle,
    DoNotDisturb,
    Offline,
    PresenceUnknown,
    /// A value this build does not know, kept as Graph sent it.
    Other(String),
}

const AVAILABILITY: [(&str, Availability); 9] = [
    ("Available", Availability::Available),
    ("AvailableIdle", Availability::AvailableIdle),
    ("Away", Availability::Away),
    ("BeRightBack", Availability::BeRightBack),
    ("Busy", Availability::Busy),
    ("BusyIdle", Availability::BusyIdle),
    ("DoNotDisturb", Availability::DoNotDisturb),
    ("Offline", Availability::Offline),
    ("PresenceUnknown", Availability::PresenceUnknown),
];

impl Availability {
    pub fn parse(value: &str) -> Self {
        AVAILABILITY
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(value))
            .map(|(_, known)| known.clone())
            .unwrap_or_else(|| Availability::Other(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Availability::Other(raw) => raw,
            known => AVAILABILITY
                .iter()
                .find(|(_, k)| k == known)
                .map(|(name, _)| *name)
                // Every known variant is in the table above.
                .unwrap_or("PresenceUnknown"),
        }
    }

    /// Whether an agent may pick this expert without a second thought. Unknown values are not.
    pub fn is_free(&self) -> bool {
        matches!(self, Availability::Available | Availability::AvailableIdle)
    }
}

/// `activity` of a Graph `presence` resource; the list is open-ended, so only the values the
/// escalation panel reasons about are named.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS), ts(type = "string"))]
pub enum Activity {
    Available,
    InACall,
    InAConferenceCall,
    InAMeeting,
    Presenting,
    OutOfOffice,
    Other(String),
}

const ACTIVITY: [(&str, Activity); 6] = [
    ("Available", Activity::Available),
    ("InACall", Activity::InACall),
    ("InAConferenceCall", Activity::InAConferenceCall),
    ("InAMeeting", Activity::InAMeeting),
    ("Presenting", Activity::Presenting),
    ("OutOfOffice", Activity::OutOfOffice),
];

impl Activity {
    pub fn parse(value: &str) -> Self {
        ACTIVITY
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(value))
            .map(|(_, known)| known.clone())
            .unwrap_or_else(|| Activity::Other(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Activity::Other(raw) => raw,
            known => ACTIVITY
                .iter()
                .find(|(_, k)| k == known)
                .map(|(name, _)| *name)
                .unwrap_or("Available"),
        }
    }
}

macro_rules! string_serde {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Ok(<$ty>::parse(&raw))
            }
        }
    };
}
string_serde!(Availability);
string_serde!(Activity);

/// One user's presence, in Graph's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    pub id: String,
    pub availability: Availability,
    pub activity: Activity,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_matches_any_case_and_keeps_unknown_values() {
        assert_eq!(Availability::parse("available"), Availability::Available);
        assert_eq!(
            Availability::parse("DONOTDISTURB"),
            Availability::DoNotDisturb
        );
        let odd = Availability::parse("FocusTime");
        assert_eq!(odd, Availability::Other("FocusTime".into()));
        assert_eq!(odd.as_str(), "FocusTime");
        assert!(!odd.is_free());
        assert!(Availability::parse("availableidle").is_free());
    }

    #[test]
    fn graph_presence_json_round_trips() {
        let json = r#"{"id":"fa8bf3dc","availability":"busy","activity":"inACall"}"#;
        let p: Presence = serde_json::from_str(json).expect("valid presence JSON");
        assert_eq!(p.availability, Availability::Busy);
        assert_eq!(p.activity, Activity::InACall);
        let back = serde_json::to_string(&p).expect("serializes");
        assert_eq!(
            back,
            r#"{"id":"fa8bf3dc","availability":"Busy","activity":"InACall"}"#
        );
    }
}
