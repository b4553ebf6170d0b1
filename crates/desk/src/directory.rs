//! The experts an agent escalates to: who they are, what they know, how to reach them through
//! the trunk, and their presence. With Teams signed in, presence comes from Microsoft Graph
//! (`teams_roster`); otherwise it is unknown for configured experts, and the practice
//! directory's changes on its own so a newcomer sees what live presence looks like.

use serde::{Deserialize, Serialize};

/// Presence as Microsoft Graph words it (`availability`, `activity`); values are kept as
/// given, and an expert nobody has reported on is `PresenceUnknown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    pub availability: String,
    pub activity: String,
    /// Wall-clock ms of the report; `None`: never reported.
    #[cfg_attr(feature = "ipc", ts(type = "number | null"))]
    pub as_of_ms: Option<u64>,
    /// Presence cannot be read now (Graph unreachable, signed out): this is the last known,
    /// shown with its age and never as a bright "Available".
    pub stale: bool,
}

impl Presence {
    pub fn unknown() -> Self {
        Self {
            availability: "PresenceUnknown".into(),
            activity: "PresenceUnknown".into(),
            as_of_ms: None,
            stale: false,
        }
    }

    /// Free to take a call now, by a fresh report: stale or unknown values are not.
    pub fn is_free(&self) -> bool {
        !self.stale && switchboard_teams::Availability::parse(&self.availability).is_free()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Expert {
    pub id: String,
    pub name: String,
    pub title: String,
    pub skills: Vec<String>,
    /// What to dial through the trunk; `None`: shown, but cannot be chosen.
    pub target: Option<String>,
    pub presence: Presence,
}

/// One `[[experts]]` entry of the settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExpertSettings {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub skills: Vec<String>,
    /// A number or SIP URI reached through the trunk (default: the Teams user's business
    /// phone).
    pub target: Option<String>,
    /// The Teams user (sign-in name or object id) whose presence is shown.
    #[serde(default)]
    pub teams_user: Option<String>,
}

/// The configured experts, in the order given.
pub fn from_settings(experts: &[ExpertSettings]) -> Vec<Expert> {
    experts
        .iter()
        .enumerate()
        .map(|(i, e)| Expert {
            id: format!("expert-{i}"),
            name: e.name.clone(),
            title: e.title.clone(),
            skills: e.skills.clone(),
            target: e.target.clone().filter(|t| !t.trim().is_empty()),
            presence: Presence::unknown(),
        })
        .collect()
}

/// The practice directory: experts on the practice expert line (`host` is its address; one
/// user answers for them all), one of them without a number, to show what such an expert
/// looks like.
pub fn practice(host: &str) -> Vec<Expert> {
    let target = format!("sip:{PRACTICE_EXPERTS_USER}@{host}");
    let expert = |id: &str, name: &str, title: &str, skills: &[&str], reachable: bool| Expert {
        id: id.into(),
        name: name.into(),
        title: title.into(),
        skills: skills.iter().map(|s| s.to_string()).collect(),
        target: reachable.then(|| target.clone()),
        presence: Presence::unknown(),
    };
    vec![
        expert(
            "priya",
            "Priya Raman",
            "Billing specialist",
            &["Billing", "Refunds"],
            true,
        ),
        expert(
            "marco",
            "Marco Silva",
            "Network engineer",
            &["Networking", "Routers"],
            true,
        ),
        expert(
            "chen",
            "陈静 Chen Jing",
            "Number porting",
            &["Porting", "Billing"],
            true,
        ),
        expert("alex", "Alex Moreau", "Team lead", &["Escalations"], false),
    ]
}

/// The practice expert line's user.
pub const PRACTICE_EXPERTS_USER: &str = "experts";

/// How often the practice directory's presence changes.
const PRACTICE_STEP_MS: u64 = 20_000;

/// Milliseconds from `now_ms` to the practice directory's next change.
pub fn until_practice_change(now_ms: u64) -> u64 {
    PRACTICE_STEP_MS - now_ms % PRACTICE_STEP_MS
}

/// The practice directory's presence at `now_ms`: each expert moves through a day of
/// availability, offset from the others, changing every 20 seconds.
pub fn practice_presence(experts: &mut [Expert], now_ms: u64) {
    const CYCLE: [(&str, &str); 5] = [
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Available", "Available"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    ];
    let step = (now_ms / PRACTICE_STEP_MS) as usize;
    for (i, expert) in experts.iter_mut().enumerate() {
        let (availability, activity) = CYCLE[(step + i * 2) % CYCLE.len()];
        expert.presence = Presence {
            availability: availability.into(),
            activity: activity.into(),
            as_of_ms: Some(now_ms - now_ms % PRACTICE_STEP_MS),
            stale: false,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_experts_keep_their_order_and_an_empty_target_is_none() {
        let experts = from_settings(&[
            ExpertSettings {
                name: "Priya".into(),
                title: String::new(),
                skills: vec!["Billing".into()],
                target: Some("+14155550100".into()),
                teams_user: None,
            },
            ExpertSettings {
                name: "Alex".into(),
                title: String::new(),
                skills: vec![],
                target: Some("  ".into()),
                teams_user: None,
            },
        ]);
        assert_eq!(experts[0].target.as_deref(), Some("+14155550100"));
        assert_eq!(experts[1].target, None);
        assert_eq!(experts[1].presence, Presence::unknown());
    }

    #[test]
    fn practice_presence_changes_every_twenty_seconds_and_differs_between_experts() {
        let mut experts = practice("127.0.0.1:5060");
        practice_presence(&mut experts, 0);
        let first: Vec<String> = experts
            .iter()
            .map(|e| e.presence.availability.clone())
            .collect();
        assert!(first.iter().any(|a| a == "Available") && first.iter().any(|a| a != "Available"));
        practice_presence(&mut experts, 19_999);
        let same: Vec<String> = experts
            .iter()
            .map(|e| e.presence.availability.clone())
            .collect();
        assert_eq!(first, same);
        practice_presence(&mut experts, 20_000);
        let next: Vec<String> = experts
            .iter()
            .map(|e| e.presence.availability.clone())
            .collect();
        assert_ne!(first, next);
        assert_eq!(experts[0].presence.as_of_ms, Some(20_000));
        assert_eq!(until_practice_change(20_000), 20_000);
        assert_eq!(until_practice_change(39_999), 1);
    }
}
