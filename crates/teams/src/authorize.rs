//! The authorization-code leg of sign-in, sans-IO: the URL the system browser opens, and what
//! the identity platform's redirect to our loopback listener says. The `state` we send must come
//! back unchanged; anything else is a request we did not start, and is not believed.

use url::Url;

use crate::cloud::Client;
use crate::pkce::Pkce;

/// One sign-in through the browser: what to open, and what to check the answer against.
#[derive(Debug, Clone)]
pub struct BrowserSignIn {
    pub url: String,
    pub redirect_uri: String,
    state: String,
    pub pkce: Pkce,
}

/// What came to the redirect listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// The code to redeem at the token endpoint.
    Code(String),
    /// The identity platform (or the user) said no: `error` and its description.
    Refused { error: String, description: String },
    /// Not the answer to our request (another path, a missing or wrong `state`): ignored.
    NotOurs,
}

impl BrowserSignIn {
    /// `state` is random text from the caller; `login_hint` fills the account box when we know
    /// who signed in last.
    pub fn new(
        client: &Client,
        redirect_uri: &str,
        state: &str,
        pkce: Pkce,
        login_hint: Option<&str>,
    ) -> Self {
        let mut url = Url::parse(&client.authorize_endpoint())
            .unwrap_or_else(|_| unreachable!("the cloud's base is a URL"));
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &client.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("response_mode", "query")
                .append_pair("scope", &client.scope())
                .append_pair("state", state)
                .append_pair("code_challenge", pkce.challenge())
                .append_pair("code_challenge_method", "S256");
            if let Some(hint) = login_hint {
                query.append_pair("login_hint", hint);
            }
        }
        Self {
            url: url.into(),
            redirect_uri: redirect_uri.to_owned(),
            state: state.to_owned(),
            pkce,
        }
    }

    /// Reads the request target (`/?code=...&state=...`) that reached the listener.
    pub fn redirect(&self, target: &str) -> Redirect {
        let Ok(url) = Url::parse("http://127.0.0.1").and_then(|b| b.join(target)) else {
            return Redirect::NotOurs;
        };
        let expected_path = Url::parse(&self.redirect_uri)
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|_| "/".into());
        if url.path() != expected_path {
            return Redirect::NotOurs;
        }
        let value = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if value("state").as_deref() != Some(self.state.as_str()) {
            return Redirect::NotOurs;
        }
        if let Some(error) = value("error") {
            return Redirect::Refused {
                error,
                description: value("error_description").unwrap_or_default(),
            };
        }
        match value("code") {
            Some(code) if !code.is_empty() => Redirect::Code(code),
            _ => Redirect::NotOurs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Cloud;

    fn sign_in() -> BrowserSignIn {
        let client = Client::new(Cloud::global(), "organizations", "app-1").unwrap();
        BrowserSignIn::new(
            &client,
            "http://127.0.0.1:53100/",
            "st4te",
            Pkce::from_random([3; 32]),
            Some("ana@contoso.com"),
        )
    }

    #[test]
    fn the_authorize_url_carries_what_the_v2_endpoint_documents() {
        let s = sign_in();
        let url = Url::parse(&s.url).unwrap();
        assert_eq!(url.path(), "/organizations/oauth2/v2.0/authorize");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "app-1");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:53100/");
        assert_eq!(q["response_mode"], "query");
        assert_eq!(q["state"], "st4te");
        assert_eq!(q["code_challenge"], s.pkce.challenge());
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["login_hint"], "ana@contoso.com");
        assert!(q["scope"].split(' ').any(|s| s == "offline_access"));
        assert!(!s.url.contains(s.pkce.verifier()));
    }

    #[test]
    fn the_redirect_gives_the_code_only_with_our_state() {
        let s = sign_in();
        assert_eq!(
            s.redirect("/?code=abc%2Bdef&state=st4te"),
            Redirect::Code("abc+def".into())
        );
        assert_eq!(s.redirect("/?code=abc&state=other"), Redirect::NotOurs);
        assert_eq!(s.redirect("/?code=abc"), Redirect::NotOurs);
        assert_eq!(s.redirect("/favicon.ico"), Redirect::NotOurs);
        assert_eq!(s.redirect("/?state=st4te&code="), Redirect::NotOurs);
        assert_eq!(s.redirect("http://[bad"), Redirect::NotOurs);
        assert_eq!(
            s.redirect("/?error=access_denied&error_description=the+user+canceled&state=st4te"),
            Redirect::Refused {
                error: "access_denied".into(),
                description: "the user canceled".into()
            }
        );
    }
}
