//! The Graph half of the stand-in: the tenant's users, groups and presence, and the v1.0 calls
//! Switchboard makes on them, as documented: bearer tokens checked (401 with Graph's error body
//! when expired), `getPresencesByUserId` refusing more than 650 ids, a per-app request budget
//! answered with 429 and `Retry-After`, `$search` refused without `ConsistencyLevel: eventual`,
//! collections paged with `@odata.nextLink`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::http::{Request, Response};

const BATCH_MAX: usize = 650;

#[derive(Debug, Default)]
pub(super) struct Tenant {
    /// Users by object id, in the order added.
    pub users: BTreeMap<u64, Value>,
    pub presence: HashMap<String, (String, String)>,
    pub groups: HashMap<String, Vec<Value>>,
    /// Items per page of a collection (Graph's default is 100).
    pub page_size: Option<usize>,
    /// The app's budget: so many requests per window, then 429.
    pub limit: Option<(usize, Duration)>,
    pub recent: VecDeque<Instant>,
    /// Answers 429 to this many requests from now, with this `Retry-After`.
    pub throttle: Option<(u32, u64)>,
    /// Connections to Graph are dropped without an answer.
    pub outage: bool,
    /// The next page links point here instead (a hostile or broken service).
    pub next_link_base: Option<String>,
}

impl Tenant {
    pub fn user_by(&self, id_or_upn: &str) -> Option<&Value> {
        self.users.values().find(|u| {
            ["id", "userPrincipalName"].iter().any(|k| {
                u[k].as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case(id_or_upn))
            })
        })
    }
}

/// Answers a request under `/v1.0/`; `path` is what follows it.
pub(super) fn route(
    tenant: &mut Tenant,
    token_valid: bool,
    request: &Request,
    path: &str,
    query: &HashMap<String, String>,
) -> Response {
    if tenant.outage {
        return Response::hang_up();
    }
    if !token_valid {
        return graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        );
    }
    if let Some(throttled) = throttled(tenant) {
        return throttled;
    }
    let base = format!(
        "https://{}/v1.0",
        request.header("host").unwrap_or("127.0.0.1")
    );
    let segments: Vec<&str> = path.split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["communications", "getPresencesByUserId"]) => presences(tenant, request),
        ("GET", ["groups", id, "members"]) => members(tenant, &decode(id), query, &base),
        ("GET", ["users"]) => search(tenant, request, query),
        ("GET", ["users", id]) => match tenant.user_by(&decode(id)) {
            Some(user) => Response::json(200, &select(user, query)),
            None => not_found(id),
        },
        _ => graph_error(
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{path}'."),
        ),
    }
}

/// The budget, or a throttle the test asked for: 429 with the documented body and header.
fn throttled(tenant: &mut Tenant) -> Option<Response> {
    let retry = if let Some((left, secs)) = tenant.throttle.as_mut() {
        *left -= 1;
        let secs = *secs;
        if *left == 0 {
            tenant.throttle = None;
        }
        Some(secs)
    } else if let Some((requests, per)) = tenant.limit {
        let now = Instant::now();
        while tenant.recent.front().is_some_and(|t| now - *t >= per) {
            tenant.recent.pop_front();
        }
        if tenant.recent.len() >= requests {
            let oldest = tenant.recent.front().copied().unwrap_or(now);
            Some((per - (now - oldest)).as_secs().max(1))
        } else {
            tenant.recent.push_back(now);
            None
        }
    } else {
        None
    };
    let secs = retry?;
    let mut response = graph_error(
        429,
        "TooManyRequests",
        "Too many requests, please retry after some time.",
    );
    response
        .headers
        .push(("Retry-After".into(), secs.to_string()));
    Some(response)
}

fn presences(tenant: &Tenant, request: &Request) -> Response {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let Some(ids) = body["ids"].as_array() else {
        return graph_error(400, "BadRequest", "The request body must have 'ids'.");
    };
    if ids.len() > BATCH_MAX {
        return graph_error(
            400,
            "BadRequest",
            &format!("The number of ids exceeds the limit of {BATCH_MAX}."),
        );
    }
    let value: Vec<Value> = ids
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|id| tenant.user_by(id))
        .map(|user| {
            let id = user["id"].as_str().unwrap_or_default();
            let (availability, activity) = tenant
                .presence
                .get(id)
                .cloned()
                .unwrap_or_else(|| ("PresenceUnknown".into(), "PresenceUnknown".into()));
            json!({
                "@odata.type": "#microsoft.graph.presence",
                "id": id, "availability": availability, "activity": activity,
                "outOfOfficeSettings": { "message": null, "isOutOfOffice": false },
            })
        })
        .collect();
    Response::json(
        200,
        &json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.presence)",
            "value": value,
        }),
    )
}

fn members(tenant: &Tenant, group: &str, query: &HashMap<String, String>, base: &str) -> Response {
    let Some(all) = tenant.groups.get(group) else {
        return not_found(group);
    };
    let top = query
        .get("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(100)
        .min(tenant.page_size.unwrap_or(100));
    let skip = query
        .get("$skiptoken")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(top)
        .map(|m| select(m, query))
        .collect();
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
        "value": page,
    });
    if skip + top < all.len() {
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        for key in ["$select", "$top"] {
            if let Some(v) = query.get(key) {
                next.append_pair(key, v);
            }
        }
        next.append_pair("$skiptoken", &(skip + top).to_string());
        let host = tenant.next_link_base.as_deref().unwrap_or(base);
        body["@odata.nextLink"] = json!(format!("{host}/groups/{group}/members?{}", next.finish()));
    }
    Response::json(200, &body)
}

fn search(tenant: &Tenant, request: &Request, query: &HashMap<String, String>) -> Response {
    let Some(search) = query.get("$search") else {
        return graph_error(
            400,
            "Request_UnsupportedQuery",
            "Only $search is served here.",
        );
    };
    if !request
        .header("consistencylevel")
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    {
        return graph_error(
            400,
            "Request_UnsupportedQuery",
            "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
        );
    }
    let clause = search.trim_matches('"');
    let Some(term) = clause.strip_prefix("displayName:") else {
        return graph_error(
            400,
            "Request_UnsupportedQuery",
            "Unsupported search clause.",
        );
    };
    let term = term.to_lowercase();
    let value: Vec<Value> = tenant
        .users
        .values()
        .filter(|u| {
            u["displayName"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .split_whitespace()
                .any(|word| word.starts_with(&term))
        })
        .map(|u| select(u, query))
        .collect();
    Response::json(
        200,
        &json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
            "value": value,
        }),
    )
}

/// The object with only the `$select`ed fields (and its type), as Graph does.
fn select(object: &Value, query: &HashMap<String, String>) -> Value {
    let Some(fields) = query.get("$select") else {
        return object.clone();
    };
    let mut out = serde_json::Map::new();
    for key in std::iter::once("@odata.type").chain(fields.split(',')) {
        if let Some(v) = object.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

fn not_found(id: &str) -> Response {
    graph_error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={segment}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Graph's documented error body.
pub(super) fn graph_error(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({
            "error": {
                "code": code, "message": message,
                "innerError": {
                    "date": "2026-12-03T08:00:00", "request-id": "00000000-0000-0000-0000-000000000000",
                    "client-request-id": "00000000-0000-0000-0000-000000000000",
                },
            },
        }),
    )
}
