//! The Microsoft Graph calls Switchboard makes, over HTTPS with the signed-in account's token:
//! presence in batches (`POST /communications/getPresencesByUserId`), a group's members, a user
//! search (`$search` with `ConsistencyLevel: eventual`), one user by id or sign-in name. A 401
//! refreshes the token once; pages are followed through `@odata.nextLink` only while it stays
//! on our Graph, so the token never goes anywhere else.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use crate::cloud::Cloud;
use crate::graph_answer::{self, Answer, GraphError, Page};
use crate::http;
use crate::poll_plan::BATCH_MAX;
use crate::presence::Presence;
use crate::session::Session;

/// The user fields we ask for: enough to show an expert and to dial them.
const USER_FIELDS: &str =
    "id,displayName,jobTitle,mail,userPrincipalName,businessPhones,mobilePhone";
/// A group bigger than this many pages is not a list an agent can read; we stop there.
const MAX_PAGES: usize = 20;

/// A Graph `user`, with the fields of [`USER_FIELDS`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub business_phones: Vec<String>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
}

pub struct Graph {
    cloud: Cloud,
    http: reqwest::Client,
    session: Arc<Session>,
}

enum Body<'a> {
    None,
    Json(&'a serde_json::Value),
    /// A GET whose query needs `ConsistencyLevel: eventual` (`$search` on users).
    Eventual,
}

impl Graph {
    pub fn new(session: Arc<Session>) -> Result<Self, String> {
        let cloud = session.identity().client().cloud.clone();
        let http = http::client(&cloud)?;
        Ok(Self {
            cloud,
            http,
            session,
        })
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Presence of up to [`BATCH_MAX`] users by object id, in one request.
    pub async fn presences(&self, ids: &[String]) -> Result<Vec<Presence>, GraphError> {
        if ids.len() > BATCH_MAX {
            return Err(GraphError::Malformed(format!(
                "{} ids in one presence request; Graph takes at most {BATCH_MAX}",
                ids.len()
            )));
        }
        let url = self
            .cloud
            .graph_url(&["communications", "getPresencesByUserId"]);
        let body = json!({ "ids": ids });
        let answer = self
            .send(reqwest::Method::POST, &url, Body::Json(&body))
            .await?;
        let page = graph_answer::page(&answer)?;
        Ok(graph_answer::items(page.value, "presence"))
    }

    /// The users among a group's members (members that are groups or devices are left out).
    pub async fn group_members(&self, group_id: &str) -> Result<Vec<User>, GraphError> {
        let url = format!(
            "{}?$select={USER_FIELDS}&$top=999",
            self.cloud.graph_url(&["groups", group_id, "members"])
        );
        let members = self.all_pages(&url).await?;
        let users = members
            .into_iter()
            .filter(|m| {
                m.get("@odata.type")
                    .and_then(|t| t.as_str())
                    .is_none_or(|t| t == "#microsoft.graph.user")
            })
            .collect();
        Ok(graph_answer::items(users, "group member"))
    }

    /// Users whose display name has a word starting with `text` (Graph's tokenized search).
    pub async fn search_users(&self, text: &str) -> Result<Vec<User>, GraphError> {
        // Inside the quoted search clause a quote or backslash would end or escape it.
        let term: String = text
            .chars()
            .filter(|c| !matches!(c, '"' | '\\') && !c.is_control())
            .collect();
        let term = term.trim();
        if term.is_empty() {
            return Ok(Vec::new());
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("$search", &format!("\"displayName:{term}\""))
            .append_pair("$select", USER_FIELDS)
            .append_pair("$top", "25")
            .finish();
        let url = format!("{}?{query}", self.cloud.graph_url(&["users"]));
        let answer = self
            .send(reqwest::Method::GET, &url, Body::Eventual)
            .await?;
        let page = graph_answer::page(&answer)?;
        Ok(graph_answer::items(page.value, "user"))
    }

    /// One user by object id or user principal name.
    pub async fn user(&self, id_or_upn: &str) -> Result<User, GraphError> {
        let url = format!(
            "{}?$select={USER_FIELDS}",
            self.cloud.graph_url(&["users", id_or_upn])
        );
        let answer = self.send(reqwest::Method::GET, &url, Body::None).await?;
        graph_answer::success(&answer)
    }

    /// Every item of a collection, page after page.
    async fn all_pages(&self, first: &str) -> Result<Vec<serde_json::Value>, GraphError> {
        let mut items = Vec::new();
        let mut url = first.to_owned();
        for _ in 0..MAX_PAGES {
            let answer = self.send(reqwest::Method::GET, &url, Body::None).await?;
            let Page { value, next_link } = graph_answer::page(&answer)?;
            items.extend(value);
            match next_link {
                None => return Ok(items),
                Some(next) if self.cloud.is_graph(&next) => url = next,
                Some(next) => return Err(GraphError::OffGraph(next)),
            }
        }
        tracing::warn!("a Graph collection longer than {MAX_PAGES} pages was cut there: {first}");
        Ok(items)
    }

    /// One request with the current token; a 401 refreshes it and tries once more.
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Body<'_>,
    ) -> Result<Answer, GraphError> {
        let token = self
            .session
            .access_token()
            .await
            .map_err(GraphError::SignIn)?;
        let answer = self.once(method.clone(), url, &body, &token).await?;
        if answer.status != 401 {
            return Ok(answer);
        }
        let token = self
            .session
            .renew(&token)
            .await
            .map_err(GraphError::SignIn)?;
        self.once(method, url, &body, &token).await
    }

    async fn once(
        &self,
        method: reqwest::Method,
        url: &str,
        body: &Body<'_>,
        token: &str,
    ) -> Result<Answer, GraphError> {
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(token)
            .header("Accept", "application/json");
        match body {
            Body::None => {}
            Body::Json(json) => {
                request = request
                    .header("Content-Type", "application/json")
                    .body(json.to_string());
            }
            Body::Eventual => request = request.header("ConsistencyLevel", "eventual"),
        }
        let response = request
            .send()
            .await
            .map_err(|e| GraphError::Unreachable(http::describe(&e)))?;
        let retry_after = graph_answer::retry_after(
            response
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok()),
        );
        let (status, body) = http::read(response)
            .await
            .map_err(GraphError::Unreachable)?;
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }
}
