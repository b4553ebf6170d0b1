//! The `[teams]` section: which tenant and app registration the desk signs in with, where the
//! sign-in service and Graph are (national clouds, a test server), how many desks share the
//! tenant's Graph budget, and which Teams groups hold the experts of a skill.

use std::path::PathBuf;

use serde::Deserialize;
use switchboard_teams::cloud::{GLOBAL_GRAPH, GLOBAL_LOGIN};
use switchboard_teams::poll_plan::Budget;
use switchboard_teams::{Client, Cloud};

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TeamsSettings {
    /// The directory tenant: its id or one of its domains.
    pub tenant: String,
    /// The app registration's (public client's) application id.
    pub client_id: String,
    /// The sign-in service (default: the worldwide cloud's).
    #[serde(default = "global_login")]
    pub login_base: String,
    /// Graph with its version (default: the worldwide cloud's v1.0).
    #[serde(default = "global_graph")]
    pub graph_base: String,
    /// PEM certificate authorities both must chain to, instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// Desks running in the tenant, all sharing Graph's presence budget (err high).
    #[serde(default = "default_desks")]
    pub desks: u32,
    /// Skills whose experts are a group's members (`[[teams.skill_groups]]`).
    #[serde(default)]
    pub skill_groups: Vec<SkillGroup>,
}

/// The members of a Teams (Microsoft 365) group are experts in `skill`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SkillGroup {
    pub skill: String,
    /// The group's object id.
    pub group: String,
}

fn global_login() -> String {
    GLOBAL_LOGIN.into()
}

fn global_graph() -> String {
    GLOBAL_GRAPH.into()
}

fn default_desks() -> u32 {
    Budget::default().desks
}

impl TeamsSettings {
    /// The identity platform's client, or what is wrong with the section.
    pub fn client(&self) -> Result<Client, String> {
        let cloud = Cloud::new(&self.login_base, &self.graph_base, self.ca_file.clone())
            .map_err(|e| format!("teams: {e}"))?;
        Client::new(cloud, &self.tenant, &self.client_id).map_err(|e| format!("teams: {e}"))
    }

    pub fn budget(&self) -> Budget {
        Budget {
            desks: self.desks.max(1),
            ..Budget::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_worldwide_cloud_and_a_thousand_desks() {
        let s: TeamsSettings = toml::from_str(
            "tenant = \"contoso.onmicrosoft.com\"\nclient_id = \"5e3ce6c0-2b1f-4285-8d4b-75ee78787346\"\n",
        )
        .expect("valid");
        let client = s.client().expect("a client");
        assert!(client
            .token_endpoint()
            .starts_with("https://login.microsoftonline.com/contoso.onmicrosoft.com/"));
        assert_eq!(s.budget().desks, 1000);
    }

    #[test]
    fn a_plain_http_graph_off_loopback_and_unknown_keys_are_refused() {
        let s: TeamsSettings = toml::from_str(
            "tenant = \"contoso.onmicrosoft.com\"\nclient_id = \"abc\"\ngraph_base = \"http://graph.contoso.test/v1.0\"\n",
        )
        .expect("parses");
        let e = s.client().expect_err("refused");
        assert!(e.contains("https"), "{e}");
        let typo = toml::from_str::<TeamsSettings>("tenant = \"t\"\nclient_id = \"c\"\ndesk = 3\n")
            .expect_err("unknown key");
        assert!(typo.to_string().contains("desk"), "{typo}");
        let group: TeamsSettings = toml::from_str(
            "tenant = \"t\"\nclient_id = \"c\"\n[[skill_groups]]\nskill = \"Billing\"\ngroup = \"g-1\"\n",
        )
        .expect("valid");
        assert_eq!(group.skill_groups[0].skill, "Billing");
    }
}
