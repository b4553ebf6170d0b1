//! The secrets this desk holds, found from its settings: the trunk's password, the CRM's secret
//! headers and the Microsoft 365 sign-in. A bundle is scanned for each of them. A secret that
//! cannot be read (no keychain, an unset variable) cannot be in the logs through us either.

use crate::crm_settings::{HeaderValue, Secrets};
use crate::settings::Settings;
use crate::teams_vault;
use switchboard_teams::Saved;

pub fn known(settings: &Settings, from: &dyn Secrets) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(trunk) = &settings.trunk {
        if let Some(name) = &trunk.password_keychain {
            found.extend(from.keychain(name).ok());
        }
        if let Some(var) = &trunk.password_env {
            found.extend(from.env(var));
        }
    }
    if let Some(crm) = &settings.customers.crm {
        for value in crm.headers.values() {
            match value {
                HeaderValue::Keychain(name) => found.extend(from.keychain(name).ok()),
                HeaderValue::Env(var) => found.extend(from.env(var)),
                HeaderValue::Value(_) => {}
            }
        }
    }
    if let Some(teams) = &settings.teams {
        if let Ok(entry) = from.keychain(&teams_vault::entry_name(&teams.tenant)) {
            // The entry as kept (JSON), and the refresh token inside it.
            if let Ok(saved) = serde_json::from_str::<Saved>(&entry) {
                found.push(saved.refresh_token);
            }
            found.push(entry);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Kept(HashMap<&'static str, &'static str>);

    impl Secrets for Kept {
        fn keychain(&self, name: &str) -> Result<String, String> {
            self.0
                .get(name)
                .map(|s| s.to_string())
                .ok_or_else(|| "missing".into())
        }
        fn env(&self, var: &str) -> Option<String> {
            self.0.get(var).map(|s| s.to_string())
        }
    }

    #[test]
    fn the_trunk_crm_and_sign_in_secrets_are_all_found() {
        let settings: Settings = toml::from_str(
            r#"
            [trunk]
            registrar = "sip:127.0.0.1:5060"
            user = "agent7"
            password_keychain = "trunk"
            [customers.crm]
            url = "https://127.0.0.1:1/c?phone={phone}"
            headers = { Authorization = { keychain = "crm" }, X-Api-Key = { env = "CRM_KEY" }, Accept = { value = "application/json" } }
            [teams]
            tenant = "Contoso.Test"
            client_id = "00000000-0000-0000-0000-000000000001"
            "#,
        )
        .expect("settings");
        let kept = Kept(HashMap::from([
            ("trunk", "trunk-pass"),
            ("crm", "Bearer crm-token"),
            ("CRM_KEY", "api-key-value"),
            (
                "microsoft365/contoso.test",
                r#"{"refresh_token":"refresh-value","account":"a@contoso.test"}"#,
            ),
        ]));
        let found = known(&settings, &kept);
        for secret in [
            "trunk-pass",
            "Bearer crm-token",
            "api-key-value",
            "refresh-value",
        ] {
            assert!(found.iter().any(|f| f == secret), "{secret} in {found:?}");
        }
        assert!(!found.iter().any(|f| f == "application/json"));
        assert!(known(&Settings::default(), &kept).is_empty());
    }
}
