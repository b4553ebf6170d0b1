//! The watched experts' presence as last read from Graph, with when each was read and what
//! went wrong since, sans-IO. When Graph cannot be reached the board keeps the last known
//! presence with its age and says so: it never turns an unknown into a "free".

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::presence::Presence;

/// One expert's presence and when Graph last reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    pub presence: Presence,
    /// Wall-clock ms of the last answer that included this expert.
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub as_of_ms: u64,
}

/// Rounds are failing: why, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS), ts(rename = "PresenceProblem"))]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub message: String,
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub since_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Board {
    /// By object id, lower-cased (Graph's ids are GUIDs; their case carries nothing).
    seen: HashMap<String, Seen>,
    problem: Option<Problem>,
}

impl Board {
    pub fn get(&self, id: &str) -> Option<&Seen> {
        self.seen.get(&id.to_ascii_lowercase())
    }

    pub fn problem(&self) -> Option<&Problem> {
        self.problem.as_ref()
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// A round over `watched` read `read` at `now_ms`, and ended with `failure` if it did not
    /// get through. Returns whether anything the panel shows changed (a presence, the set of
    /// experts, the problem), so that an unchanged round costs the window nothing; the ages
    /// are brought up to date either way.
    pub fn record(
        &mut self,
        watched: &[String],
        read: Vec<Presence>,
        now_ms: u64,
        failure: Option<String>,
    ) -> bool {
        let watched: HashSet<String> = watched.iter().map(|id| id.to_ascii_lowercase()).collect();
        let before = self.seen.len();
        self.seen.retain(|id, _| watched.contains(id));
        let mut changed = self.seen.len() != before;
        for presence in read {
            let id = presence.id.to_ascii_lowercase();
            if !watched.contains(&id) {
                continue;
            }
            let fresh = Seen {
                presence,
                as_of_ms: now_ms,
            };
            match self.seen.insert(id, fresh.clone()) {
                Some(old)
                    if old.presence.availability == fresh.presence.availability
                        && old.presence.activity == fresh.presence.activity => {}
                _ => changed = true,
            }
        }
        changed | self.set_problem(failure, now_ms)
    }

    /// Rounds can run again (signed in): no problem until one says otherwise.
    pub fn resume(&mut self) -> bool {
        self.problem.take().is_some()
    }

    /// Rounds cannot run (signed out, say): the presence read so far stays, with its age.
    pub fn halt(&mut self, why: &str, now_ms: u64) -> bool {
        self.set_problem(Some(why.to_owned()), now_ms)
    }

    fn set_problem(&mut self, failure: Option<String>, now_ms: u64) -> bool {
        let next = failure.map(|message| Problem {
            message,
            since_ms: self.problem.as_ref().map_or(now_ms, |p| p.since_ms),
        });
        let changed = next != self.problem;
        self.problem = next;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::{Activity, Availability};

    fn p(id: &str, availability: &str) -> Presence {
        Presence {
            id: id.into(),
            availability: Availability::parse(availability),
            activity: Activity::parse(availability),
        }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_unchanged_round_updates_ages_without_a_change() {
        let mut board = Board::default();
        let watched = ids(&["A", "b"]);
        assert!(board.record(
            &watched,
            vec![p("a", "Available"), p("B", "Busy")],
            1000,
            None
        ));
        assert!(!board.record(
            &watched,
            vec![p("a", "Available"), p("b", "Busy")],
            2000,
            None
        ));
        assert_eq!(board.get("A").map(|s| s.as_of_ms), Some(2000));
        assert!(board.record(&watched, vec![p("a", "Away")], 3000, None));
        assert_eq!(board.get("b").map(|s| s.as_of_ms), Some(2000), "kept");
    }

    #[test]
    fn an_outage_keeps_the_last_presence_with_its_age_and_since_when() {
        let mut board = Board::default();
        let watched = ids(&["a"]);
        board.record(&watched, vec![p("a", "Available")], 1000, None);
        assert!(board.record(&watched, vec![], 5000, Some("unreachable".into())));
        assert!(!board.record(&watched, vec![], 9000, Some("unreachable".into())));
        let problem = board.problem().expect("a problem");
        assert_eq!(problem.since_ms, 5000, "since the first failure");
        assert_eq!(board.get("a").map(|s| s.as_of_ms), Some(1000));
        assert!(board.record(&watched, vec![p("a", "Available")], 12_000, None));
        assert_eq!(board.problem(), None);
    }

    #[test]
    fn experts_no_longer_watched_go_and_strangers_are_not_let_in() {
        let mut board = Board::default();
        board.record(
            &ids(&["a", "b"]),
            vec![p("a", "Busy"), p("b", "Busy")],
            1,
            None,
        );
        assert!(board.record(&ids(&["a"]), vec![p("z", "Available")], 2, None));
        assert_eq!(board.len(), 1);
        assert!(board.get("z").is_none());
        assert!(board.halt("signed out", 3));
        assert_eq!(board.len(), 1, "what was known stays, with its age");
        assert!(board.resume());
        assert_eq!(board.problem(), None);
        assert!(!board.resume(), "nothing to clear");
    }
}
