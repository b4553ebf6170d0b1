//! What Microsoft Graph answers, sans-IO: a page of a collection, or the documented error body
//! (`{"error":{"code","message"}}`), with 401, 429 and 503 told apart because each is handled
//! differently (refresh the token once; wait what `Retry-After` says).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::poll_plan::Outcome;
use crate::session::SignInError;

/// An answer as it came off the wire.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After`, in seconds as Graph sends it.
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("Microsoft Graph is throttling requests ({status}){}", wait_words(*retry_after))]
    Throttled {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("Microsoft Graph did not accept the sign-in (401)")]
    Unauthorized,
    #[error("Microsoft Graph answered {status}: {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("Microsoft Graph answered {status} with no error we can read")]
    Status { status: u16 },
    #[error("Microsoft Graph's answer is not what it documents: {0}")]
    Malformed(String),
    #[error("Microsoft Graph cannot be reached: {0}")]
    Unreachable(String),
    #[error("a next page outside Microsoft Graph was not followed: {0}")]
    OffGraph(String),
    #[error("{0}")]
    SignIn(SignInError),
}

impl GraphError {
    /// What the polling schedule makes of it.
    pub fn outcome(&self) -> Outcome {
        match self {
            GraphError::Throttled { retry_after, .. } => Outcome::Throttled {
                retry_after: *retry_after,
            },
            _ => Outcome::Failed,
        }
    }
}

fn wait_words(retry_after: Option<Duration>) -> String {
    retry_after
        .map(|d| format!(": retry after {} s", d.as_secs()))
        .unwrap_or_default()
}

/// A page of a collection: its items and the link to the next page, if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub value: Vec<serde_json::Value>,
    pub next_link: Option<String>,
}

#[derive(Deserialize)]
struct PageBody {
    value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

/// A collection page from a 200, or the error the answer stands for.
pub fn page(answer: &Answer) -> Result<Page, GraphError> {
    let body: PageBody = success(answer)?;
    Ok(Page {
        value: body.value,
        next_link: body.next_link,
    })
}

/// The body of a 200 as `T`, or the error the answer stands for.
pub fn success<T: DeserializeOwned>(answer: &Answer) -> Result<T, GraphError> {
    match answer.status {
        200 => {
            serde_json::from_slice(&answer.body).map_err(|e| GraphError::Malformed(e.to_string()))
        }
        401 => Err(GraphError::Unauthorized),
        429 | 503 => Err(GraphError::Throttled {
            status: answer.status,
            retry_after: answer.retry_after,
        }),
        status => Err(match serde_json::from_slice::<ErrorBody>(&answer.body) {
            Ok(ErrorBody { error }) => GraphError::Refused {
                status,
                code: error.code,
                message: first_line(&error.message).to_owned(),
            },
            Err(_) => GraphError::Status { status },
        }),
    }
}

/// `Retry-After` as Graph sends it: whole seconds. An HTTP date or nonsense is not a wait we
/// can trust, so it counts as absent (the schedule backs off on its own).
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    value?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|secs| Duration::from_secs(secs.min(3600)))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Items of a page that read as `T`; the others are skipped with a warning, so one odd entry
/// does not cost the rest.
pub fn items<T: DeserializeOwned>(value: Vec<serde_json::Value>, what: &str) -> Vec<T> {
    value
        .into_iter()
        .filter_map(|item| match serde_json::from_value(item) {
            Ok(read) => Some(read),
            Err(e) => {
                tracing::warn!("skipped a {what} Microsoft Graph sent that does not read: {e}");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_page_keeps_its_next_link() {
        let p = page(&answer(
            200,
            r#"{"@odata.context":"x","value":[{"id":"1"}],"@odata.nextLink":"https://g/next"}"#,
        ))
        .expect("a page");
        assert_eq!(p.value.len(), 1);
        assert_eq!(p.next_link.as_deref(), Some("https://g/next"));
    }

    #[test]
    fn errors_are_told_apart() {
        let body = r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.\nmore"}}"#;
        assert_eq!(
            page(&answer(403, body)),
            Err(GraphError::Refused {
                status: 403,
                code: "Authorization_RequestDenied".into(),
                message: "Insufficient privileges to complete the operation.".into(),
            })
        );
        assert_eq!(page(&answer(401, body)), Err(GraphError::Unauthorized));
        assert_eq!(
            page(&answer(502, "<html>bad gateway</html>")),
            Err(GraphError::Status { status: 502 })
        );
        let mut throttled = answer(429, body);
        throttled.retry_after = retry_after(Some(" 7 "));
        let e = page(&throttled).expect_err("throttled");
        assert_eq!(
            e.outcome(),
            Outcome::Throttled {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert!(e.to_string().contains("retry after 7 s"), "{e}");
        assert!(matches!(
            page(&answer(200, r#"{"value":"#)),
            Err(GraphError::Malformed(_))
        ));
        assert!(matches!(
            page(&answer(200, r#"{"nothing":[]}"#)),
            Err(GraphError::Malformed(_))
        ));
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        assert_eq!(retry_after(Some("30")), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2026 07:28:00 GMT")), None);
        assert_eq!(retry_after(Some("-1")), None);
        assert_eq!(retry_after(None), None);
        assert_eq!(
            retry_after(Some("99999999")),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn odd_items_are_skipped_and_the_rest_kept() {
        #[derive(Deserialize)]
        struct Item {
            id: String,
        }
        let value = serde_json::from_str(r#"[{"id":"a"},{"id":7},{"id":"b"}]"#).expect("json");
        let read: Vec<Item> = items(value, "thing");
        let ids: Vec<&str> = read.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
