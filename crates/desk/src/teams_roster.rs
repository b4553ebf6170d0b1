//! Who the experts are once Microsoft 365 is signed in: the configured experts that name a
//! Teams user, and the members of each skill's group, each with the number the trunk dials
//! (the configured one, else the first of their `businessPhones` in E.164; none: shown, but not
//! chosen). Presence joins them from the board, by Graph object id.

use switchboard_teams::graph::{Graph, User};
use switchboard_teams::presence_board::{Board, Seen};

use crate::directory::{Expert, ExpertSettings, Presence};
use crate::phone::NumberPlan;
use crate::teams_settings::SkillGroup;

/// One expert and, when Graph knows them, their object id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub expert: Expert,
    pub graph_id: Option<String>,
}

/// The experts before Graph has been asked: as configured, presence unknown.
pub fn configured(experts: &[ExpertSettings]) -> Vec<Entry> {
    crate::directory::from_settings(experts)
        .into_iter()
        .map(|expert| Entry {
            expert,
            graph_id: None,
        })
        .collect()
}

/// The roster through Graph. A configured expert Graph does not know stays as configured; a
/// group that cannot be read now keeps the members it had in `previous` (a throttled or
/// failed read must not make a skill's experts vanish). Either is said in the problems.
pub async fn resolve(
    graph: &Graph,
    experts: &[ExpertSettings],
    groups: &[SkillGroup],
    plan: &NumberPlan,
    previous: &[Entry],
) -> (Vec<Entry>, Vec<String>) {
    let mut problems = Vec::new();
    let mut roster = configured(experts);
    for (entry, settings) in roster.iter_mut().zip(experts) {
        let Some(user) = settings.teams_user.as_deref() else {
            continue;
        };
        match graph.user(user).await {
            Ok(found) => adopt(entry, &found, plan),
            Err(e) => problems.push(format!("{}: {e}", settings.name)),
        }
    }
    for group in groups {
        match graph.group_members(&group.group).await {
            Ok(members) => {
                for user in &members {
                    add_member(&mut roster, user, &group.skill, plan);
                }
            }
            Err(e) => {
                problems.push(format!("the {} group: {e}", group.skill));
                keep_members(&mut roster, previous, &group.skill);
            }
        }
    }
    (roster, problems)
}

/// The experts `previous` had for `skill` (from its group), kept in the new roster.
fn keep_members(roster: &mut Vec<Entry>, previous: &[Entry], skill: &str) {
    for old in previous {
        let Some(id) = &old.graph_id else { continue };
        if !old.expert.skills.iter().any(|s| s == skill) {
            continue;
        }
        let same = |e: &&mut Entry| e.graph_id.as_deref() == Some(id.as_str());
        match roster.iter_mut().find(same) {
            Some(entry) if !entry.expert.skills.iter().any(|s| s == skill) => {
                entry.expert.skills.push(skill.to_owned())
            }
            Some(_) => {}
            None => roster.push(old.clone()),
        }
    }
}

/// A configured expert found in Graph: its id, and what the settings left blank.
fn adopt(entry: &mut Entry, user: &User, plan: &NumberPlan) {
    let e = &mut entry.expert;
    e.id = user.id.clone();
    if e.title.is_empty() {
        e.title = user.job_title.clone().unwrap_or_default();
    }
    if e.target.is_none() {
        e.target = dial_number(user, plan);
    }
    entry.graph_id = Some(user.id.clone());
}

/// A group member: a new expert, or one more skill for one already listed.
fn add_member(roster: &mut Vec<Entry>, user: &User, skill: &str, plan: &NumberPlan) {
    let same = |e: &&mut Entry| {
        e.graph_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(&user.id))
    };
    if let Some(entry) = roster.iter_mut().find(same) {
        if !entry.expert.skills.iter().any(|s| s == skill) {
            entry.expert.skills.push(skill.to_owned());
        }
        return;
    }
    roster.push(Entry {
        expert: expert_of(user, vec![skill.to_owned()], plan),
        graph_id: Some(user.id.clone()),
    });
}

/// A Graph user as an expert, presence not yet known.
fn expert_of(user: &User, skills: Vec<String>, plan: &NumberPlan) -> Expert {
    let name = user
        .display_name
        .clone()
        .or_else(|| user.user_principal_name.clone())
        .unwrap_or_else(|| user.id.clone());
    Expert {
        id: user.id.clone(),
        name,
        title: user.job_title.clone().unwrap_or_default(),
        skills,
        target: dial_number(user, plan),
        presence: Presence::unknown(),
    }
}

/// Users a search found, as experts with no skill listed.
pub fn searched(users: &[User], plan: &NumberPlan) -> Vec<Entry> {
    users
        .iter()
        .map(|u| Entry {
            expert: expert_of(u, Vec::new(), plan),
            graph_id: Some(u.id.clone()),
        })
        .collect()
}

/// The first business phone that is a phone number, in E.164 (the trunk routes E.164 to
/// Teams numbers over Direct Routing). Mobiles are personal: not dialled for work.
fn dial_number(user: &User, plan: &NumberPlan) -> Option<String> {
    user.business_phones.iter().find_map(|n| plan.e164(n))
}

/// The Graph ids presence is read for.
pub fn watched(roster: &[Entry]) -> Vec<String> {
    roster.iter().filter_map(|e| e.graph_id.clone()).collect()
}

/// The experts as shown: each with the board's presence. While rounds are failing, every
/// presence is marked stale, so the panel shows its age and never a bright "Available".
pub fn with_presence(roster: &[Entry], board: &Board) -> Vec<Expert> {
    let stale = board.problem().is_some();
    roster
        .iter()
        .map(|entry| {
            let mut expert = entry.expert.clone();
            if let Some(id) = &entry.graph_id {
                expert.presence = match board.get(id) {
                    Some(seen) => presence_of(seen, stale),
                    None => Presence {
                        stale,
                        ..Presence::unknown()
                    },
                };
            }
            expert
        })
        .collect()
}

/// Graph's report on one expert, as the panel shows it.
pub fn presence_of(seen: &Seen, stale: bool) -> Presence {
    Presence {
        availability: seen.presence.availability.as_str().to_owned(),
        activity: seen.presence.activity.as_str().to_owned(),
        as_of_ms: Some(seen.as_of_ms),
        stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str, phones: &[&str]) -> User {
        User {
            id: id.into(),
            display_name: Some(name.into()),
            job_title: Some("Specialist".into()),
            mail: None,
            user_principal_name: None,
            business_phones: phones.iter().map(|p| p.to_string()).collect(),
            mobile_phone: Some("+1 415 555 0199".into()),
        }
    }

    #[test]
    fn group_members_join_once_with_every_skill_and_a_dialable_number() {
        let plan = NumberPlan::for_country("1");
        let mut roster = Vec::new();
        add_member(
            &mut roster,
            &user("A", "Priya", &["(415) 555-0100"]),
            "Billing",
            &plan,
        );
        add_member(&mut roster, &user("a", "Priya", &[]), "Refunds", &plan);
        add_member(
            &mut roster,
            &user("b", "Marco", &["ext. 12"]),
            "Billing",
            &plan,
        );
        assert_eq!(roster.len(), 2);
        assert_eq!(roster[0].expert.skills, ["Billing", "Refunds"]);
        assert_eq!(roster[0].expert.target.as_deref(), Some("+14155550100"));
        assert_eq!(
            roster[1].expert.target, None,
            "no business number: not the mobile"
        );
        assert_eq!(watched(&roster), ["A", "b"]);
    }

    #[test]
    fn a_group_that_cannot_be_read_keeps_its_members_from_before() {
        let plan = NumberPlan::for_country("1");
        let mut before = Vec::new();
        add_member(
            &mut before,
            &user("a", "Priya", &["+14155550100"]),
            "Billing",
            &plan,
        );
        add_member(&mut before, &user("b", "Marco", &[]), "Routers", &plan);
        let mut now = Vec::new();
        add_member(&mut now, &user("b", "Marco", &[]), "Routers", &plan);
        keep_members(&mut now, &before, "Billing");
        let names: Vec<&str> = now.iter().map(|e| e.expert.name.as_str()).collect();
        assert_eq!(names, ["Marco", "Priya"]);
        keep_members(&mut now, &before, "Billing");
        assert_eq!(now.len(), 2, "once");
    }

    #[test]
    fn a_configured_number_wins_and_blank_titles_are_filled() {
        let plan = NumberPlan::for_country("44");
        let settings = ExpertSettings {
            name: "Chen".into(),
            title: String::new(),
            skills: vec!["Porting".into()],
            target: Some("+442079460123".into()),
            teams_user: Some("chen@contoso.com".into()),
        };
        let mut roster = configured(std::slice::from_ref(&settings));
        adopt(
            &mut roster[0],
            &user("c", "Chen Jing", &["020 7946 0999"]),
            &plan,
        );
        let e = &roster[0].expert;
        assert_eq!(e.target.as_deref(), Some("+442079460123"));
        assert_eq!(e.title, "Specialist");
        assert_eq!(e.name, "Chen", "the configured name stays");
        assert_eq!(roster[0].graph_id.as_deref(), Some("c"));
    }
}
