//! A stand-in for the Microsoft identity platform (v2 endpoints) and the Microsoft Graph calls
//! Switchboard makes, over HTTPS on a loopback port: Microsoft's services cannot be reached
//! from here. It implements the documented requests and answers only (paths, form and query
//! parameters, JSON field names and casing, error bodies) and checks what it is sent as the
//! real service would: the PKCE verifier against the challenge, single-use codes, rotating
//! refresh tokens, bearer tokens that expire. The test plays the user (approving a device
//! code) and the tenant (its users, groups and presence), and can break things on purpose.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::http::{HttpServer, Request, Response};
use crate::kamailio::TlsFiles;

mod graph;

/// How long an issued access token is good for, unless the test says otherwise.
const ACCESS_LIFETIME: u64 = 3599;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeviceState {
    Pending,
    Approved,
    Declined,
}

#[derive(Debug, Clone)]
struct Device {
    user_code: String,
    state: DeviceState,
    expires: Instant,
}

#[derive(Debug, Clone)]
struct CodeGrant {
    challenge: String,
    redirect_uri: String,
}

#[derive(Debug, Default)]
struct State {
    counter: u64,
    /// Who "the browser" is signed in as; authorize refuses when nobody is.
    browser_user: Option<String>,
    codes: HashMap<String, CodeGrant>,
    refresh: HashMap<String, String>,
    access: HashMap<String, Instant>,
    devices: HashMap<String, Device>,
    access_lifetime: Option<u64>,
    device_interval: Option<u64>,
    graph: graph::Tenant,
    next_object: u64,
}

impl State {
    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!(
            "{prefix}-{}-{:08x}",
            self.counter,
            self.counter.wrapping_mul(2_654_435_761)
        )
    }
}

pub struct MicrosoftCloud {
    server: HttpServer,
    state: Arc<Mutex<State>>,
    pub tenant: String,
    pub client_id: String,
}

impl MicrosoftCloud {
    /// Serves the identity platform for `tenant` and our `client_id` with `tls`'s certificate.
    pub fn start(tls: &TlsFiles, tenant: &str, client_id: &str) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, tenant_owned, client) =
            (state.clone(), tenant.to_owned(), client_id.to_owned());
        let server = HttpServer::start_tls(tls, move |request| {
            let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
            route(&mut state, &tenant_owned, &client, request)
        });
        Self {
            server,
            state,
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
        }
    }

    /// The sign-in base (`https://127.0.0.1:PORT`), where `/{tenant}/oauth2/v2.0/...` is.
    pub fn login_base(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.port)
    }

    /// The Graph base, `https://127.0.0.1:PORT/v1.0`.
    pub fn graph_base(&self) -> String {
        format!("{}/v1.0", self.login_base())
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The user the system browser is signed in as: authorize sends a code for them.
    pub fn browser_signed_in_as(&self, user: Option<&str>) {
        self.state().browser_user = user.map(str::to_owned);
    }

    /// Lifetime of access tokens issued from now on.
    pub fn issue_access_tokens_for(&self, secs: u64) {
        self.state().access_lifetime = Some(secs);
    }

    /// Poll interval device codes are issued with (the documented default is 5 s).
    pub fn device_interval(&self, secs: u64) {
        self.state().device_interval = Some(secs);
    }

    /// Every access token issued so far expires now (Graph answers 401 to it).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for expiry in self.state().access.values_mut() {
            *expiry = now;
        }
    }

    /// Every refresh token is revoked (an admin's "revoke sessions").
    pub fn revoke_refresh_tokens(&self) {
        self.state().refresh.clear();
    }

    /// The user enters the code at the link and approves (or declines) the sign-in.
    pub fn enter_device_code(&self, user_code: &str, approve: bool) -> bool {
        let mut state = self.state();
        let Some(device) = state
            .devices
            .values_mut()
            .find(|d| d.user_code == user_code)
        else {
            return false;
        };
        device.state = if approve {
            DeviceState::Approved
        } else {
            DeviceState::Declined
        };
        true
    }

    /// Every device code outstanding runs out now.
    pub fn expire_device_codes(&self) {
        let now = Instant::now();
        for device in self.state().devices.values_mut() {
            device.expires = now;
        }
    }

    /// Whether `token` is an access token this cloud issued that has not expired.
    pub fn is_valid_access(&self, token: &str) -> bool {
        self.state()
            .access
            .get(token)
            .is_some_and(|e| *e > Instant::now())
    }

    /// The refresh tokens that are good now.
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.state().refresh.keys().cloned().collect()
    }

    /// A user of the tenant, with the Graph fields Switchboard reads; returns its object id.
    pub fn add_user(&self, name: &str, upn: &str, title: &str, business_phones: &[&str]) -> String {
        let mut state = self.state();
        state.next_object += 1;
        let n = state.next_object;
        let id = format!(
            "{:08x}-0000-4000-8000-{n:012x}",
            n.wrapping_mul(2_654_435_761) as u32
        );
        let user = json!({
            "@odata.type": "#microsoft.graph.user",
            "id": id, "displayName": name, "userPrincipalName": upn, "mail": upn,
            "jobTitle": if title.is_empty() { Value::Null } else { json!(title) },
            "businessPhones": business_phones, "mobilePhone": null,
            "officeLocation": "Building 4",
        });
        state.graph.users.insert(n, user);
        id
    }

    /// A user's presence, as Graph will report it (any casing the test likes).
    pub fn set_presence(&self, id: &str, availability: &str, activity: &str) {
        self.state().graph.presence.insert(
            id.to_owned(),
            (availability.to_owned(), activity.to_owned()),
        );
    }

    /// A group with these users as members, and a nested group among them (members that are
    /// not users, as real groups have).
    pub fn add_group(&self, id: &str, members: &[String]) {
        let mut state = self.state();
        let mut list: Vec<Value> = members
            .iter()
            .filter_map(|m| state.graph.user_by(m).cloned())
            .collect();
        list.insert(
            list.len() / 2,
            json!({ "@odata.type": "#microsoft.graph.group", "id": format!("{id}-nested"), "displayName": "Nested group" }),
        );
        state.graph.groups.insert(id.to_owned(), list);
    }

    /// Items per page of a collection from now on.
    pub fn page_size(&self, items: usize) {
        self.state().graph.page_size = Some(items);
    }

    /// The app may make `requests` Graph requests per `per`; beyond, 429 with `Retry-After`.
    pub fn graph_budget(&self, requests: usize, per: Duration) {
        let mut state = self.state();
        state.graph.limit = Some((requests, per));
        state.graph.recent.clear();
    }

    /// The next `requests` Graph requests get 429 with `Retry-After: retry_after`.
    pub fn throttle_graph(&self, requests: u32, retry_after: u64) {
        self.state().graph.throttle = (requests > 0).then_some((requests, retry_after));
    }

    /// Graph stops answering (connections dropped), or comes back.
    pub fn graph_outage(&self, down: bool) {
        self.state().graph.outage = down;
    }

    /// Page links point at `base` instead of this Graph.
    pub fn next_links_to(&self, base: &str) {
        self.state().graph.next_link_base = Some(base.to_owned());
    }

    /// The Graph requests so far (those under `/v1.0/`).
    pub fn graph_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.target.starts_with("/v1.0/"))
            .collect()
    }
}

fn route(state: &mut State, tenant: &str, client: &str, request: &Request) -> Response {
    let (path, query) = split_target(&request.target);
    if let Some(graph_path) = path.strip_prefix("/v1.0/") {
        let bearer = request
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .unwrap_or_default();
        let valid = state
            .access
            .get(bearer)
            .is_some_and(|e| *e > Instant::now());
        return graph::route(&mut state.graph, valid, request, graph_path, &query);
    }
    let login = format!("/{tenant}/oauth2/v2.0/");
    match (request.method.as_str(), path.strip_prefix(login.as_str())) {
        ("GET", Some("authorize")) => authorize(state, client, &query),
        ("POST", Some("token")) => token(state, client, &form(&request.body)),
        ("POST", Some("devicecode")) => device_code(state, client, &form(&request.body), request),
        _ => oauth_error(
            404,
            "invalid_request",
            90002,
            "AADSTS90002: unknown endpoint",
        ),
    }
}

fn authorize(state: &mut State, client: &str, q: &HashMap<String, String>) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let redirect = get("redirect_uri");
    // A redirect URI must be registered: only the loopback one is, for this public client.
    if get("client_id") != client || !redirect.starts_with("http://127.0.0.1:") {
        return oauth_error(
            400,
            "invalid_request",
            50011,
            "AADSTS50011: redirect URI mismatch",
        );
    }
    let back = |params: &[(&str, &str)]| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        Response {
            status: 302,
            headers: vec![("Location".into(), format!("{redirect}?{query}"))],
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    };
    let state_param = get("state");
    let well_formed = get("response_type") == "code"
        && get("code_challenge_method") == "S256"
        && get("code_challenge").len() == 43
        && get("scope").split(' ').any(|s| s == "offline_access");
    if !well_formed {
        return back(&[
            ("error", "invalid_request"),
            (
                "error_description",
                "AADSTS900144: a required parameter is missing",
            ),
            ("state", state_param),
        ]);
    }
    if state.browser_user.is_none() {
        return back(&[
            ("error", "access_denied"),
            ("error_description", "the user canceled the authentication"),
            ("state", state_param),
        ]);
    }
    let code = state.next("code");
    state.codes.insert(
        code.clone(),
        CodeGrant {
            challenge: get("code_challenge").to_owned(),
            redirect_uri: redirect.to_owned(),
        },
    );
    back(&[("code", &code), ("state", state_param)])
}

fn token(state: &mut State, client: &str, f: &HashMap<String, String>) -> Response {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != client {
        return oauth_error(
            400,
            "unauthorized_client",
            700016,
            "AADSTS700016: unknown application",
        );
    }
    if f.contains_key("client_secret") {
        return oauth_error(
            400,
            "invalid_request",
            700025,
            "AADSTS700025: public clients send no secret",
        );
    }
    match get("grant_type") {
        "authorization_code" => {
            let Some(grant) = state.codes.remove(get("code")) else {
                return oauth_error(
                    400,
                    "invalid_grant",
                    70008,
                    "AADSTS70008: the code has expired or was used",
                );
            };
            let digest =
                ring::digest::digest(&ring::digest::SHA256, get("code_verifier").as_bytes());
            if URL_SAFE_NO_PAD.encode(digest.as_ref()) != grant.challenge {
                return oauth_error(
                    400,
                    "invalid_grant",
                    501481,
                    "AADSTS501481: the code verifier does not match the challenge",
                );
            }
            if get("redirect_uri") != grant.redirect_uri {
                return oauth_error(
                    400,
                    "invalid_grant",
                    50011,
                    "AADSTS50011: redirect URI mismatch",
                );
            }
            let user = state.browser_user.clone().unwrap_or_default();
            issue(state, &user)
        }
        "refresh_token" => match state.refresh.remove(get("refresh_token")) {
            Some(user) => issue(state, &user),
            None => oauth_error(
                400,
                "invalid_grant",
                700082,
                "AADSTS700082: the refresh token has expired or was revoked",
            ),
        },
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let code = get("device_code").to_owned();
            let Some(device) = state.devices.get(&code).cloned() else {
                return oauth_error(
                    400,
                    "bad_verification_code",
                    70019,
                    "AADSTS70019: unknown device code",
                );
            };
            if device.expires <= Instant::now() {
                state.devices.remove(&code);
                return oauth_error(
                    400,
                    "expired_token",
                    70019,
                    "AADSTS70019: the device code has expired",
                );
            }
            match device.state {
                DeviceState::Pending => oauth_error(
                    400,
                    "authorization_pending",
                    70016,
                    "AADSTS70016: the user has not entered the code yet",
                ),
                DeviceState::Declined => {
                    state.devices.remove(&code);
                    oauth_error(
                        400,
                        "authorization_declined",
                        70000,
                        "AADSTS70000: the user declined",
                    )
                }
                DeviceState::Approved => {
                    state.devices.remove(&code);
                    issue(state, "device-user@contoso.com")
                }
            }
        }
        _ => oauth_error(
            400,
            "unsupported_grant_type",
            70003,
            "AADSTS70003: unsupported grant type",
        ),
    }
}

fn device_code(
    state: &mut State,
    client: &str,
    f: &HashMap<String, String>,
    request: &Request,
) -> Response {
    if f.get("client_id").map(String::as_str) != Some(client) {
        return oauth_error(
            400,
            "unauthorized_client",
            700016,
            "AADSTS700016: unknown application",
        );
    }
    let device = state.next("device");
    let user_code = format!("U{:08X}", state.counter.wrapping_mul(40503));
    let interval = state.device_interval.unwrap_or(5);
    state.devices.insert(
        device.clone(),
        Device {
            user_code: user_code.clone(),
            state: DeviceState::Pending,
            expires: Instant::now() + Duration::from_secs(900),
        },
    );
    let host = request.header("host").unwrap_or("127.0.0.1");
    let link = format!("https://{host}/devicelogin");
    Response::json(
        200,
        &json!({
            "device_code": device, "user_code": user_code, "verification_uri": link,
            "expires_in": 900, "interval": interval,
            "message": format!("To sign in, use a web browser to open the page {link} and enter the code {user_code} to authenticate."),
        }),
    )
}

/// A token answer as the documentation shows it, with an unsigned ID token naming `user`.
fn issue(state: &mut State, user: &str) -> Response {
    let lifetime = state.access_lifetime.unwrap_or(ACCESS_LIFETIME);
    let access = state.next("access");
    let refresh = state.next("refresh");
    state.access.insert(
        access.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    );
    state.refresh.insert(refresh.clone(), user.to_owned());
    let claims = json!({ "preferred_username": user, "name": user, "tid": "tenant" });
    let id_token = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.{}.",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    Response::json(
        200,
        &json!({
            "token_type": "Bearer", "scope": "Presence.Read.All User.Read.All GroupMember.Read.All",
            "expires_in": lifetime, "ext_expires_in": lifetime,
            "access_token": access, "refresh_token": refresh, "id_token": id_token,
        }),
    )
}

/// The identity platform's documented error body.
fn oauth_error(status: u16, error: &str, code: u32, description: &str) -> Response {
    Response::json(
        status,
        &json!({
            "error": error,
            "error_description": format!("{description}\r\nTrace ID: 00000000-0000-0000-0000-000000000000\r\nCorrelation ID: 00000000-0000-0000-0000-000000000000\r\nTimestamp: 2026-12-03 08:00:00Z"),
            "error_codes": [code], "timestamp": "2026-12-03 08:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000000",
            "correlation_id": "00000000-0000-0000-0000-000000000000",
        }),
    )
}

fn split_target(target: &str) -> (&str, HashMap<String, String>) {
    match target.split_once('?') {
        Some((path, query)) => (path, form(query.as_bytes())),
        None => (target, HashMap::new()),
    }
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// What a test reads back from a JSON body.
pub fn body_json(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}
