//! `[customers.crm]`: the HTTP connector as IT writes it in the settings. Secret header values
//! are never written in the file: they come from the OS keychain (or the environment), and a
//! literal value for a header that carries credentials is refused.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::crm::{check_template, CrmConfig, FieldMap};

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CrmSettings {
    /// What the customer panel names as the record's source.
    #[serde(default = "default_name")]
    pub name: String,
    /// `https://crm.internal/api/customers?phone={phone}`.
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValue>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_cache_secs")]
    pub cache_secs: u64,
    /// PEM certificate authorities for the CRM, instead of the system's.
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub fields: FieldMap,
}

/// A header's value: written out, or a secret read from the OS keychain (by its name there,
/// as `switchboard-cli secret set NAME` stored it) or from an environment variable.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum HeaderValue {
    Value(String),
    Keychain(String),
    Env(String),
}

/// Where secret header values are read from.
pub trait Secrets {
    fn keychain(&self, name: &str) -> Result<String, String>;
    fn env(&self, var: &str) -> Option<String>;
}

/// The OS keychain and the process environment.
pub struct SystemSecrets;

impl Secrets for SystemSecrets {
    fn keychain(&self, name: &str) -> Result<String, String> {
        crate::keychain::read(name).map_err(|e| e.to_string())
    }

    fn env(&self, var: &str) -> Option<String> {
        std::env::var(var).ok()
    }
}

fn default_name() -> String {
    "CRM".into()
}
fn default_timeout_ms() -> u64 {
    2000
}
fn default_cache_secs() -> u64 {
    300
}

/// Headers (and query parameters) whose values are credentials, whatever the CRM calls them.
pub(crate) fn carries_credentials(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["authorization", "cookie"].contains(&name.as_str())
        || ["key", "token", "secret", "password", "auth"]
            .iter()
            .any(|w| name.contains(w))
}

impl CrmSettings {
    /// The connector's configuration, with its secrets read from `secrets`.
    pub fn connector(&self, secrets: &dyn Secrets) -> Result<CrmConfig, String> {
        check_template(&self.url).map_err(|e| format!("customers.crm.url: {e}"))?;
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let value = match value {
                HeaderValue::Value(_) if carries_credentials(name) => {
                    return Err(format!(
                        "customers.crm.headers.{name}: a credential is never written in the \
                         settings; use {{ keychain = \"NAME\" }} (switchboard-cli secret set \
                         NAME)"
                    ))
                }
                HeaderValue::Value(v) => v.clone(),
                HeaderValue::Keychain(secret) => secrets
                    .keychain(secret)
                    .map_err(|e| format!("customers.crm.headers.{name}: {e}"))?,
                HeaderValue::Env(var) => secrets.env(var).ok_or_else(|| {
                    format!("customers.crm.headers.{name}: environment variable {var} is not set")
                })?,
            };
            headers.push((name.clone(), value));
        }
        for pointer in self.pointers() {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                return Err(format!(
                    "customers.crm.fields: {pointer:?} is not a JSON pointer (starts with /)"
                ));
            }
        }
        Ok(CrmConfig {
            name: self.name.clone(),
            url_template: self.url.clone(),
            headers,
            timeout: Duration::from_millis(self.timeout_ms.clamp(100, 30_000)),
            cache_for: Duration::from_secs(self.cache_secs),
            fields: self.fields.clone(),
            ca_file: self.ca_file.clone(),
        })
    }

    fn pointers(&self) -> Vec<&str> {
        let f = &self.fields;
        let optional = [&f.account, &f.tier, &f.record_url, &f.open_cases];
        let mut all = vec![f.name.as_str(), f.case_id.as_str(), f.case_title.as_str()];
        all.extend(optional.into_iter().flatten().map(String::as_str));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CrmSettings {
        toml::from_str(text).expect("valid")
    }

    /// Secrets as a test gives them: one keychain entry, one variable.
    struct Given;

    impl Secrets for Given {
        fn keychain(&self, name: &str) -> Result<String, String> {
            match name {
                "crm-token" => Ok("Bearer k".into()),
                _ => Err(format!("the keychain has no secret {name:?}")),
            }
        }

        fn env(&self, var: &str) -> Option<String> {
            (var == "CRM_TOKEN").then(|| "Bearer t".to_owned())
        }
    }

    #[test]
    fn headers_come_from_the_environment_and_credentials_never_from_the_file() {
        let s = parse(
            "url = \"https://crm.invalid/c?phone={phone}\"\n\
             [headers]\nAuthorization = { env = \"CRM_TOKEN\" }\nX-Tenant = { value = \"acme\" }\n",
        );
        let config = s.connector(&Given).expect("valid");
        assert_eq!(
            config.headers,
            vec![
                ("Authorization".to_owned(), "Bearer t".to_owned()),
                ("X-Tenant".to_owned(), "acme".to_owned())
            ]
        );
        assert_eq!(config.timeout, Duration::from_secs(2));
        let missing = parse(
            "url = \"https://crm.invalid/{phone}\"\n[headers]\nAuthorization = { env = \"NOPE\" }\n",
        )
        .connector(&Given)
        .expect_err("unset variable");
        assert!(missing.contains("NOPE"), "{missing}");
        let keychain = parse(
            "url = \"https://crm.invalid/{phone}\"\n[headers]\nAuthorization = { keychain = \"crm-token\" }\n",
        );
        assert_eq!(
            keychain.connector(&Given).expect("valid").headers,
            vec![("Authorization".to_owned(), "Bearer k".to_owned())]
        );
        let absent = parse(
            "url = \"https://crm.invalid/{phone}\"\n[headers]\nAuthorization = { keychain = \"other\" }\n",
        );
        let err = absent.connector(&Given).expect_err("no such secret");
        assert!(
            err.contains("Authorization") && err.contains("\"other\""),
            "{err}"
        );

        let literal = parse(
            "url = \"https://crm.invalid/{phone}\"\n[headers]\nX-Api-Key = { value = \"s3cret\" }\n",
        );
        let err = literal.connector(&Given).expect_err("a written key");
        assert!(err.contains("never written"), "{err}");
        assert!(
            !err.contains("s3cret"),
            "the error must not repeat the secret: {err}"
        );
    }

    #[test]
    fn bad_urls_and_pointers_are_named() {
        let http = parse("url = \"http://crm.invalid/{phone}\"\n");
        assert!(http
            .connector(&Given)
            .expect_err("http")
            .contains("customers.crm.url"));
        let pointer = parse("url = \"https://c.invalid/{phone}\"\n[fields]\nname = \"name\"\n");
        assert!(pointer
            .connector(&Given)
            .expect_err("pointer")
            .contains("JSON pointer"));
        assert!(toml::from_str::<CrmSettings>("url = \"x\"\nurl_template = \"y\"\n").is_err());
    }
}
