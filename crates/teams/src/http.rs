//! The HTTPS client both the sign-in service and Graph are reached with: certificates verified
//! (against the system's roots, or the cloud's own CA file), no redirects followed (a token
//! must not follow one), a timeout on every request, and bodies capped.

use std::time::Duration;

use crate::cloud::Cloud;

/// The longest we wait for any one answer.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// Graph pages and token answers are small; more than this is not an answer we read.
pub const MAX_BODY: usize = 4 << 20;

pub fn client(cloud: &Cloud) -> Result<reqwest::Client, String> {
    // reqwest is built without a default provider: ring, as for the rest of the app.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &cloud.ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        builder = builder.tls_certs_only(certs);
    }
    builder.build().map_err(|e| e.to_string())
}

/// The answer's status and body, the body read up to [`MAX_BODY`].
pub async fn read(response: reqwest::Response) -> Result<(u16, Vec<u8>), String> {
    let status = response.status().as_u16();
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("an answer over {} MiB", MAX_BODY >> 20));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// A transport error in words, with the certificate named when that is the cause.
pub fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        text = format!("{text}: {e}");
        source = e.source();
    }
    text
}
