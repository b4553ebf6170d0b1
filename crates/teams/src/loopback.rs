//! The redirect listener for browser sign-in: `http://127.0.0.1:<port>/` on a port the system
//! picks, as the identity platform allows for public clients. It reads only request heads, and
//! answers each with a static page (no script, nothing loaded). Requests that are not the
//! answer to our sign-in (a favicon, a guess at the port, a wrong `state`) are turned away and
//! the listener keeps waiting, so a page elsewhere cannot end the sign-in.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::authorize::{BrowserSignIn, Redirect};

/// The most of a request head we read: a redirect with a code is a few kilobytes.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Loopback {
    listener: TcpListener,
    pub redirect_uri: String,
}

/// How the browser's visit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visit {
    Code(String),
    Refused { error: String, description: String },
}

impl Loopback {
    pub async fn bind() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/"),
        })
    }

    /// Until the redirect that answers `sign_in` arrives (the caller bounds the wait).
    pub async fn wait(&self, sign_in: &BrowserSignIn) -> std::io::Result<Visit> {
        loop {
            let (stream, _) = self.listener.accept().await?;
            if let Some(visit) = serve(stream, sign_in).await {
                return Ok(visit);
            }
        }
    }
}

async fn serve(mut stream: TcpStream, sign_in: &BrowserSignIn) -> Option<Visit> {
    let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream))
        .await
        .ok()
        .flatten()?;
    let target = request_target(&head);
    let (status, page, visit) = match target.map(|t| sign_in.redirect(t)) {
        Some(Redirect::Code(code)) => (200, DONE, Some(Visit::Code(code))),
        Some(Redirect::Refused { error, description }) => {
            (200, REFUSED, Some(Visit::Refused { error, description }))
        }
        Some(Redirect::NotOurs) | None => (404, NOT_OURS, None),
    };
    let reply = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Security-Policy: default-src 'none'\r\nCache-Control: no-store\r\n\
         Referrer-Policy: no-referrer\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
        if status == 200 { "OK" } else { "Not Found" },
        page.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
    visit
}

/// The head up to the blank line, or nothing when it is too long or the peer goes away.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(2048);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

/// The target of a `GET` request line.
fn request_target(head: &str) -> Option<&str> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("GET"), Some(target), Some(version)) if version.starts_with("HTTP/1.") => {
            Some(target)
        }
        _ => None,
    }
}

const DONE: &str = "<!doctype html><meta charset=utf-8><title>Switchboard</title>\
<p>You are signed in to Switchboard. You can close this tab.</p>";
const REFUSED: &str = "<!doctype html><meta charset=utf-8><title>Switchboard</title>\
<p>Sign-in did not complete. Switchboard shows why; you can close this tab.</p>";
const NOT_OURS: &str = "<!doctype html><meta charset=utf-8><title>Switchboard</title>\
<p>Nothing here.</p>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_get_request_line_gives_a_target() {
        assert_eq!(
            request_target("GET /?code=a&state=b HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some("/?code=a&state=b")
        );
        assert_eq!(request_target("POST / HTTP/1.1\r\n\r\n"), None);
        assert_eq!(request_target("GET /\r\n\r\n"), None);
        assert_eq!(request_target(""), None);
    }
}
