//! The signed-in Microsoft 365 account: sign-in by browser (PKCE, loopback redirect) or by
//! device code, silent refresh, and the access token every Graph request carries. The refresh
//! token goes to the [`Vault`] (the OS keychain) as soon as it arrives and whenever it is
//! replaced; sign-out removes it. What the window shows is a [`SignInView`] on a watch channel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use tokio::sync::{watch, Mutex};

use crate::authorize::BrowserSignIn;
use crate::device_code::{DeviceCodeError, DevicePoll, Step};
use crate::identity::Identity;
use crate::loopback::{Loopback, Visit};
use crate::pkce::Pkce;
use crate::token::{TokenError, Tokens};
use crate::vault::{Saved, Vault};

/// Sign-in as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SignInView {
    SignedOut {
        /// Why, when it was not the agent's doing (the grant was revoked, sign-in failed).
        reason: Option<String>,
    },
    /// The system browser is open at the sign-in page.
    InBrowser,
    /// Waiting for the code to be entered at the link, on any device.
    DeviceCode {
        user_code: String,
        verification_uri: String,
        #[cfg_attr(feature = "ipc", ts(type = "number"))]
        expires_in_secs: u64,
    },
    SignedIn {
        account: Option<String>,
        /// False when the keychain could not keep the sign-in: the next start asks again.
        remembered: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("not signed in to Microsoft 365")]
    SignedOut,
    #[error("{0}")]
    Token(TokenError),
    #[error("{0}")]
    DeviceCode(DeviceCodeError),
    #[error("sign-in was refused: {error} {description}")]
    Refused { error: String, description: String },
    #[error("the browser did not come back within {0} minutes")]
    TimedOut(u64),
    #[error("cannot take the browser's answer on this machine: {0}")]
    Listen(String),
    #[error("cannot open the browser: {0}")]
    Browser(String),
    #[error("the keychain: {0}")]
    Vault(String),
    #[error("the system's random number generator failed")]
    Random,
}

pub struct Session {
    identity: Identity,
    vault: Arc<dyn Vault>,
    /// Held across a refresh, so concurrent requests wait for one refresh instead of each
    /// spending the refresh token.
    tokens: Mutex<Option<Tokens>>,
    view: watch::Sender<SignInView>,
    random: SystemRandom,
}

impl Session {
    pub fn new(identity: Identity, vault: Arc<dyn Vault>) -> Self {
        Self {
            identity,
            vault,
            tokens: Mutex::new(None),
            view: watch::Sender::new(SignInView::SignedOut { reason: None }),
            random: SystemRandom::new(),
        }
    }

    pub fn view(&self) -> watch::Receiver<SignInView> {
        self.view.subscribe()
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// At start: a refresh token in the keychain signs the desk in without asking. Nothing
    /// kept is not an error; a grant that is gone is removed and said.
    pub async fn resume(&self) -> Result<bool, SignInError> {
        let Some(saved) = self.vault_call(|v| v.load()).await? else {
            return Ok(false);
        };
        let mut tokens = self.tokens.lock().await;
        match self.identity.refresh(&saved.refresh_token).await {
            Ok(fresh) => {
                let fresh = keep_refresh(fresh, Some(&saved));
                self.adopt(&mut tokens, fresh).await;
                Ok(true)
            }
            Err(e) => Err(self.on_refresh_failed(&mut tokens, e).await),
        }
    }

    /// Browser sign-in: `open` shows `url` in the system browser; the redirect comes back to
    /// a loopback listener within `patience`.
    pub async fn sign_in_with_browser(
        &self,
        open: impl FnOnce(&str) -> Result<(), String>,
        patience: Duration,
        login_hint: Option<&str>,
    ) -> Result<(), SignInError> {
        let loopback = Loopback::bind()
            .await
            .map_err(|e| SignInError::Listen(e.to_string()))?;
        let sign_in = BrowserSignIn::new(
            self.identity.client(),
            &loopback.redirect_uri,
            &self.random_text::<16>()?,
            Pkce::from_random(self.random_bytes()?),
            login_hint,
        );
        self.view.send_replace(SignInView::InBrowser);
        let result = self.browser_leg(&loopback, &sign_in, open, patience).await;
        self.settle(result).await
    }

    async fn browser_leg(
        &self,
        loopback: &Loopback,
        sign_in: &BrowserSignIn,
        open: impl FnOnce(&str) -> Result<(), String>,
        patience: Duration,
    ) -> Result<Tokens, SignInError> {
        open(&sign_in.url).map_err(SignInError::Browser)?;
        let visit = tokio::time::timeout(patience, loopback.wait(sign_in))
            .await
            .map_err(|_| SignInError::TimedOut(patience.as_secs().div_ceil(60)))?
            .map_err(|e| SignInError::Listen(e.to_string()))?;
        match visit {
            Visit::Code(code) => self
                .identity
                .redeem(sign_in, &code)
                .await
                .map_err(SignInError::Token),
            Visit::Refused { error, description } => {
                Err(SignInError::Refused { error, description })
            }
        }
    }

    /// Device-code sign-in: the view shows the code and the link until it is entered, declined
    /// or expired.
    pub async fn sign_in_with_device_code(&self) -> Result<(), SignInError> {
        let result = self.device_leg().await;
        self.settle(result).await
    }

    async fn device_leg(&self) -> Result<Tokens, SignInError> {
        let code = self
            .identity
            .device_code()
            .await
            .map_err(SignInError::Token)?;
        let now = Instant::now();
        self.view.send_replace(SignInView::DeviceCode {
            user_code: code.user_code.clone(),
            verification_uri: code.verification_uri.clone(),
            expires_in_secs: code.expires_at.saturating_duration_since(now).as_secs(),
        });
        let mut poll = DevicePoll::new(code);
        let mut step = poll.first_poll(now);
        loop {
            match step {
                Step::PollAt(at) => tokio::time::sleep_until(at.into()).await,
                Step::SignedIn(tokens) => return Ok(tokens),
                Step::Failed(e) => return Err(SignInError::DeviceCode(e)),
            }
            let sent = Instant::now();
            let answer = self.identity.poll_device(poll.code()).await;
            step = poll.on_answer(sent, answer);
        }
    }

    /// A sign-in under way was given up (the agent closed it): back to signed out.
    pub fn abandon_sign_in(&self) {
        self.view.send_if_modified(|v| {
            let pending = matches!(v, SignInView::InBrowser | SignInView::DeviceCode { .. });
            if pending {
                *v = SignInView::SignedOut { reason: None };
            }
            pending
        });
    }

    /// A token for the next Graph request, refreshed first when it is about to run out.
    pub async fn access_token(&self) -> Result<String, SignInError> {
        let mut tokens = self.tokens.lock().await;
        let current = tokens.as_ref().ok_or(SignInError::SignedOut)?;
        if !current.is_stale(Instant::now()) {
            return Ok(current.access.clone());
        }
        self.refresh_locked(&mut tokens).await
    }

    /// Graph answered 401 to `used`: refresh once, unless another request already did.
    pub async fn renew(&self, used: &str) -> Result<String, SignInError> {
        let mut tokens = self.tokens.lock().await;
        let current = tokens.as_ref().ok_or(SignInError::SignedOut)?;
        if current.access != used {
            return Ok(current.access.clone());
        }
        self.refresh_locked(&mut tokens).await
    }

    /// Forgets the account here and in the keychain.
    pub async fn sign_out(&self) -> Result<(), SignInError> {
        *self.tokens.lock().await = None;
        self.view
            .send_replace(SignInView::SignedOut { reason: None });
        self.vault_call(|v| v.clear()).await
    }

    async fn refresh_locked(&self, tokens: &mut Option<Tokens>) -> Result<String, SignInError> {
        let Some(refresh) = tokens.as_ref().and_then(|t| t.refresh.clone()) else {
            *tokens = None;
            self.view.send_replace(SignInView::SignedOut {
                reason: Some("the sign-in has run out: sign in again".into()),
            });
            return Err(SignInError::SignedOut);
        };
        match self.identity.refresh(&refresh).await {
            Ok(fresh) => {
                let account = tokens.as_ref().and_then(|t| t.account.clone());
                let saved = Saved {
                    refresh_token: refresh,
                    account,
                };
                let fresh = keep_refresh(fresh, Some(&saved));
                let access = fresh.access.clone();
                self.adopt(tokens, fresh).await;
                Ok(access)
            }
            Err(e) => Err(self.on_refresh_failed(tokens, e).await),
        }
    }

    /// A refresh that failed: a grant that is gone signs out (and leaves the keychain); a
    /// service that cannot be reached leaves everything as it is, to be tried again.
    async fn on_refresh_failed(&self, tokens: &mut Option<Tokens>, e: TokenError) -> SignInError {
        let gone = matches!(&e, TokenError::Refused(o) if o.needs_sign_in());
        if gone {
            tracing::warn!("the Microsoft 365 sign-in is no longer valid: {e}");
            *tokens = None;
            self.view.send_replace(SignInView::SignedOut {
                reason: Some(format!("Microsoft 365 asks you to sign in again ({e})")),
            });
            if let Err(v) = self.vault_call(|v| v.clear()).await {
                tracing::warn!("cannot remove the old sign-in from the keychain: {v}");
            }
        }
        SignInError::Token(e)
    }

    /// The end of an interactive sign-in, either way.
    async fn settle(&self, result: Result<Tokens, SignInError>) -> Result<(), SignInError> {
        match result {
            Ok(fresh) => {
                let mut tokens = self.tokens.lock().await;
                self.adopt(&mut tokens, fresh).await;
                Ok(())
            }
            Err(e) => {
                self.view.send_replace(SignInView::SignedOut {
                    reason: Some(e.to_string()),
                });
                Err(e)
            }
        }
    }

    /// New tokens: in memory, the refresh token to the keychain, the view signed in.
    async fn adopt(&self, tokens: &mut Option<Tokens>, fresh: Tokens) {
        let remembered = match &fresh.refresh {
            Some(refresh) => {
                let saved = Saved {
                    refresh_token: refresh.clone(),
                    account: fresh.account.clone(),
                };
                match self.vault_call(move |v| v.save(&saved)).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!("the sign-in is not kept for the next start: {e}");
                        false
                    }
                }
            }
            None => false,
        };
        // Only a change is told: a refresh that leaves the view as it was wakes nobody (the
        // roster is read again on signing in, not on every refresh).
        let view = SignInView::SignedIn {
            account: fresh.account.clone(),
            remembered,
        };
        self.view.send_if_modified(|v| {
            let changed = *v != view;
            *v = view;
            changed
        });
        *tokens = Some(fresh);
    }

    async fn vault_call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Vault) -> Result<T, String> + Send + 'static,
    ) -> Result<T, SignInError> {
        let vault = self.vault.clone();
        tokio::task::spawn_blocking(move || call(&*vault))
            .await
            .map_err(|e| SignInError::Vault(e.to_string()))?
            .map_err(SignInError::Vault)
    }

    fn random_bytes<const N: usize>(&self) -> Result<[u8; N], SignInError> {
        let mut bytes = [0u8; N];
        self.random
            .fill(&mut bytes)
            .map_err(|_| SignInError::Random)?;
        Ok(bytes)
    }

    fn random_text<const N: usize>(&self) -> Result<String, SignInError> {
        Ok(self
            .random_bytes::<N>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }
}

/// A refresh answer may leave out the refresh token: the one we had stays good.
fn keep_refresh(mut fresh: Tokens, had: Option<&Saved>) -> Tokens {
    if fresh.refresh.is_none() {
        fresh.refresh = had.map(|s| s.refresh_token.clone());
    }
    if fresh.account.is_none() {
        fresh.account = had.and_then(|s| s.account.clone());
    }
    fresh
}
