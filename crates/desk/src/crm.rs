//! The HTTP connector to a CRM: one GET per caller, built from a URL template, with headers
//! whose secret values come from the OS keychain, a timeout, and a cache; the JSON answer is
//! mapped onto a [`CustomerRecord`] by JSON pointers (RFC 6901) that IT writes in the settings.
//!
//! The answer is untrusted: a missing field is empty, a case list that is not a list is no
//! cases, a record link that is not http(s) is dropped, and text is capped in length.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::store::customers::is_web_link;
use crate::store::{CaseView, CustomerRecord};

/// Where a record's fields are in the CRM's JSON answer (`[customers.crm.fields]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldMap {
    pub name: String,
    pub account: Option<String>,
    pub tier: Option<String>,
    pub record_url: Option<String>,
    /// A JSON array of case objects.
    pub open_cases: Option<String>,
    /// Within each case object.
    pub case_id: String,
    pub case_title: String,
}

impl Default for FieldMap {
    fn default() -> Self {
        Self {
            name: "/name".into(),
            account: Some("/account".into()),
            tier: Some("/tier".into()),
            record_url: Some("/url".into()),
            open_cases: Some("/cases".into()),
            case_id: "/id".into(),
            case_title: "/title".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CrmConfig {
    /// What the panel names as the record's source ("Acme CRM").
    pub name: String,
    /// `https://crm.internal/api/customers?phone={phone}`: `{phone}` is the caller's E.164
    /// number, percent-encoded.
    pub url_template: String,
    /// Header names and values, secrets already read from the keychain.
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    /// How long an answer (found or not) is reused for the same number.
    pub cache_for: Duration,
    pub fields: FieldMap,
    /// PEM certificate authorities the CRM's certificate must chain to, instead of the
    /// system's.
    pub ca_file: Option<PathBuf>,
}

/// What a lookup came to.
#[derive(Debug, Clone, PartialEq)]
pub enum CrmAnswer {
    Found(CustomerRecord),
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    #[error("the CRM did not answer within {0} ms")]
    Timeout(u128),
    #[error("the CRM answered {0}")]
    Status(u16),
    #[error("the CRM cannot be reached: {0}")]
    Unreachable(String),
    #[error("the CRM's answer is not JSON: {0}")]
    NotJson(String),
    #[error("the CRM connector is misconfigured: {0}")]
    Config(String),
}

/// Longest text kept from any one CRM field.
const FIELD_MAX_CHARS: usize = 500;
/// Most cases shown.
const CASES_MAX: usize = 20;
/// Largest answer read.
const BODY_MAX_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct CrmConnector {
    config: Arc<CrmConfig>,
    client: reqwest::Client,
    cache: Arc<Mutex<HashMap<String, (Instant, CrmAnswer)>>>,
}

impl CrmConnector {
    pub fn new(config: CrmConfig) -> Result<Self, CrmError> {
        check_template(&config.url_template)?;
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| CrmError::Config(format!("{}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| CrmError::Config(format!("{}: {e}", path.display())))?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|e| CrmError::Config(e.to_string()))?;
        Ok(Self {
            config: Arc::new(config),
            client,
            cache: Arc::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The record for `phone` (E.164), from the cache when it is fresh.
    pub async fn look_up(&self, phone: &str) -> Result<CrmAnswer, CrmError> {
        if let Some(answer) = self.cached(phone) {
            return Ok(answer);
        }
        let answer = self.fetch(phone).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (at, _)| at.elapsed() < self.config.cache_for);
            cache.insert(phone.to_owned(), (Instant::now(), answer.clone()));
        }
        Ok(answer)
    }

    fn cached(&self, phone: &str) -> Option<CrmAnswer> {
        let cache = self.cache.lock().ok()?;
        let (at, answer) = cache.get(phone)?;
        (at.elapsed() < self.config.cache_for).then(|| answer.clone())
    }

    async fn fetch(&self, phone: &str) -> Result<CrmAnswer, CrmError> {
        let url = self
            .config
            .url_template
            .replace("{phone}", &percent_encode(phone));
        let mut request = self.client.get(&url).header("Accept", "application/json");
        for (name, value) in &self.config.headers {
            request = request.header(name, value);
        }
        let timeout = self.config.timeout.as_millis();
        let response = request.send().await.map_err(|e| failure(e, timeout))?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(CrmAnswer::Unknown);
        }
        if status != 200 {
            return Err(CrmError::Status(status));
        }
        if response
            .content_length()
            .is_some_and(|n| n > BODY_MAX_BYTES as u64)
        {
            return Err(CrmError::NotJson("the answer is over 1 MiB".into()));
        }
        let body = response.bytes().await.map_err(|e| failure(e, timeout))?;
        if body.len() > BODY_MAX_BYTES {
            return Err(CrmError::NotJson("the answer is over 1 MiB".into()));
        }
        let json: Value =
            serde_json::from_slice(&body).map_err(|e| CrmError::NotJson(e.to_string()))?;
        Ok(map_record(
            &json,
            phone,
            &self.config.fields,
            &self.config.name,
        ))
    }
}

/// The answer as a record; no name at the name's pointer means the CRM knows no such caller.
pub fn map_record(json: &Value, phone: &str, fields: &FieldMap, source: &str) -> CrmAnswer {
    let name = text(json, Some(&fields.name));
    if name.is_empty() {
        return CrmAnswer::Unknown;
    }
    let record_url = Some(text(json, fields.record_url.as_deref())).filter(|u| is_web_link(u));
    let open_cases = fields
        .open_cases
        .as_deref()
        .and_then(|p| json.pointer(p))
        .and_then(Value::as_array)
        .map(|cases| {
            cases
                .iter()
                .take(CASES_MAX)
                .map(|c| CaseView {
                    id: text(c, Some(&fields.case_id)),
                    title: text(c, Some(&fields.case_title)),
                })
                .filter(|c| !c.id.is_empty() || !c.title.is_empty())
                .collect()
        })
        .unwrap_or_default();
    CrmAnswer::Found(CustomerRecord {
        phone: phone.to_owned(),
        name,
        account: text(json, fields.account.as_deref()),
        tier: text(json, fields.tier.as_deref()),
        record_url,
        open_cases,
        last_interactions: Vec::new(),
        source: source.to_owned(),
    })
}

/// A field as text: strings as they are, numbers and booleans written out, anything else
/// (absent, null, objects) empty; capped in length.
fn text(json: &Value, pointer: Option<&str>) -> String {
    let value = match pointer.and_then(|p| json.pointer(p)) {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        _ => String::new(),
    };
    value.chars().take(FIELD_MAX_CHARS).collect()
}

fn failure(e: reqwest::Error, timeout_ms: u128) -> CrmError {
    if e.is_timeout() {
        CrmError::Timeout(timeout_ms)
    } else {
        // The chain names the cause (refused, DNS, certificate) without the URL's query.
        let e = e.without_url();
        let mut cause = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            cause = format!("{cause}: {s}");
            source = s.source();
        }
        CrmError::Unreachable(cause)
    }
}

/// A template must be an https URL (plain http only to this machine) with `{phone}` in it.
pub fn check_template(template: &str) -> Result<(), CrmError> {
    if !template.contains("{phone}") {
        return Err(CrmError::Config("the URL template has no {phone}".into()));
    }
    let url = reqwest::Url::parse(&template.replace("{phone}", "%2B1"))
        .map_err(|e| CrmError::Config(format!("the URL template is not a URL: {e}")))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(CrmError::Config(
            "the CRM must be reached over https (http only on this machine)".into(),
        )),
    }
}

/// `+14155550142` as a query or path value: `%2B14155550142`.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// reqwest is built without a TLS crypto provider: the process uses ring, as the SIP stack does.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> FieldMap {
        FieldMap {
            name: "/data/fullName".into(),
            account: Some("/data/account/id".into()),
            tier: Some("/data/tier".into()),
            record_url: Some("/data/links/self".into()),
            open_cases: Some("/data/cases".into()),
            case_id: "/number".into(),
            case_title: "/subject".into(),
        }
    }

    #[test]
    fn a_crm_answer_is_mapped_by_pointers() {
        let answer = json!({"data": {
            "fullName": "Sam Ortiz", "account": {"id": 2001}, "tier": "Gold",
            "links": {"self": "https://crm.invalid/c/2001"},
            "cases": [{"number": "CASE-7", "subject": "Router"}, {"number": 8}, "junk", {}]
        }});
        let CrmAnswer::Found(record) = map_record(&answer, "+14155550187", &fields(), "Acme")
        else {
            panic!("not found");
        };
        assert_eq!(record.name, "Sam Ortiz");
        assert_eq!(record.account, "2001", "numbers are written out");
        assert_eq!(
            record.record_url.as_deref(),
            Some("https://crm.invalid/c/2001")
        );
        let ids: Vec<&str> = record.open_cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["CASE-7", "8"], "junk entries are skipped");
        assert_eq!(record.source, "Acme");
    }

    #[test]
    fn hostile_or_empty_answers_map_safely() {
        let f = fields();
        assert_eq!(
            map_record(&json!({"data": {}}), "+1", &f, "x"),
            CrmAnswer::Unknown
        );
        assert_eq!(map_record(&json!([]), "+1", &f, "x"), CrmAnswer::Unknown);
        let answer = json!({"data": {
            "fullName": "A".repeat(10_000),
            "links": {"self": "javascript:alert(1)"},
            "cases": {"not": "a list"}
        }});
        let CrmAnswer::Found(r) = map_record(&answer, "+1", &f, "x") else {
            panic!("not found");
        };
        assert_eq!(r.name.chars().count(), FIELD_MAX_CHARS);
        assert_eq!(r.record_url, None);
        assert!(r.open_cases.is_empty());
    }

    #[test]
    fn templates_must_be_https_or_local_and_name_the_number() {
        assert!(check_template("https://crm.invalid/api?phone={phone}").is_ok());
        assert!(check_template("http://127.0.0.1:8080/c/{phone}").is_ok());
        assert!(check_template("http://localhost/c/{phone}").is_ok());
        assert!(check_template("http://crm.invalid/c/{phone}").is_err());
        assert!(check_template("https://crm.invalid/c").is_err());
        assert!(check_template("file:///etc/{phone}").is_err());
        assert_eq!(percent_encode("+14155550187"), "%2B14155550187");
    }
}
