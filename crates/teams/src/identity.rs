//! The identity platform's token and device-code endpoints, over HTTPS: the I/O around the
//! sans-IO readers in [`crate::token`] and [`crate::device_code`]. Every request is a form
//! POST as documented; no client secret (we are a public client).

use std::time::Instant;

use crate::authorize::BrowserSignIn;
use crate::cloud::Client;
use crate::device_code::{self, DeviceCode};
use crate::http;
use crate::token::{self, TokenError, Tokens};

pub struct Identity {
    client: Client,
    http: reqwest::Client,
}

impl Identity {
    pub fn new(client: Client) -> Result<Self, String> {
        let http = http::client(&client.cloud)?;
        Ok(Self { client, http })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Redeems the code the browser brought back, proving with the PKCE verifier that we are
    /// the ones who asked for it.
    pub async fn redeem(&self, sign_in: &BrowserSignIn, code: &str) -> Result<Tokens, TokenError> {
        let scope = self.client.scope();
        self.token(&[
            ("client_id", self.client.client_id.as_str()),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", sign_in.redirect_uri.as_str()),
            ("code_verifier", sign_in.pkce.verifier()),
            ("scope", scope.as_str()),
        ])
        .await
    }

    /// A new access token (and usually a new refresh token, which replaces the old one).
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, TokenError> {
        let scope = self.client.scope();
        self.token(&[
            ("client_id", self.client.client_id.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", scope.as_str()),
        ])
        .await
    }

    pub async fn device_code(&self) -> Result<DeviceCode, TokenError> {
        let scope = self.client.scope();
        let sent = Instant::now();
        let form = [
            ("client_id", self.client.client_id.as_str()),
            ("scope", scope.as_str()),
        ];
        let (status, body) = self
            .post(&self.client.device_code_endpoint(), &form)
            .await?;
        device_code::parse(status, &body, sent)
    }

    /// One poll of the token endpoint for a device code.
    pub async fn poll_device(&self, code: &DeviceCode) -> Result<Tokens, TokenError> {
        self.token(&[
            ("client_id", self.client.client_id.as_str()),
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", code.device_code.as_str()),
        ])
        .await
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<Tokens, TokenError> {
        let sent = Instant::now();
        let (status, body) = self.post(&self.client.token_endpoint(), form).await?;
        token::parse(status, &body, sent)
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> Result<(u16, Vec<u8>), TokenError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| TokenError::Unreachable(http::describe(&e)))?;
        http::read(response).await.map_err(TokenError::Unreachable)
    }
}
