//! The few W3C WebDriver calls the UI tests need, over plain HTTP/1.1 on loopback.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Session {
    port: u16,
    id: String,
}

/// The W3C key under which element references travel.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Session {
    /// Launches `application` through tauri-driver.
    pub fn start(driver_port: u16, application: &Path) -> Self {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": application.display().to_string()}
        }}});
        let reply = request(driver_port, "POST", "/session", Some(&caps));
        let id = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_owned();
        Self {
            port: driver_port,
            id,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        request(
            self.port,
            method,
            &format!("/session/{}{}", self.id, path),
            body,
        )
    }

    /// The first element matching the CSS selector now, if any.
    fn find(&self, css: &str) -> Option<String> {
        let query = json!({"using": "css selector", "value": css});
        let reply = self.call("POST", "/element", Some(&query));
        reply["value"][ELEMENT].as_str().map(str::to_owned)
    }

    /// Waits for an element matching the CSS selector to exist, returning its reference.
    pub fn wait_element(&self, css: &str, timeout: Duration) -> String {
        self.wait_text(css, timeout, |_| true);
        self.find(css).unwrap_or_else(|| panic!("{css:?} vanished"))
    }

    /// Waits until the element's text satisfies `pred`, returning the text.
    pub fn wait_text(&self, css: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.find(css).map(|id| self.text(&id));
            match &text {
                Some(t) if pred(t) => return t.clone(),
                _ if Instant::now() >= deadline => {
                    panic!("{css:?} within {timeout:?}: found {text:?}")
                }
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    pub fn text(&self, element: &str) -> String {
        self.call("GET", &format!("/element/{element}/text"), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn click(&self, element: &str) {
        let reply = self.call(
            "POST",
            &format!("/element/{element}/click"),
            Some(&json!({})),
        );
        assert!(reply["value"].is_null(), "click failed: {reply}");
    }

    /// Types `text` into the element, key by key, as the agent would.
    pub fn send_keys(&self, element: &str, text: &str) {
        let reply = self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(&json!({"text": text})),
        );
        assert!(reply["value"].is_null(), "typing failed: {reply}");
    }

    /// Picks `value` in the `<select>` matching `css` and fires its change event (WebKit's
    /// driver cannot click native menus).
    pub fn select(&self, css: &str, value: &str) {
        let picked = self.script(&format!(
            "const s = document.querySelector({css:?}); \
             if (!s || !Array.from(s.options).some(o => o.value === {value:?})) return false; \
             s.value = {value:?}; s.dispatchEvent(new Event('change', {{ bubbles: true }})); return true"
        ));
        assert_eq!(picked, Value::Bool(true), "{css} has no option {value:?}");
    }

    /// Whether any element matches the selector now.
    pub fn exists(&self, css: &str) -> bool {
        let reply = self.call(
            "POST",
            "/elements",
            Some(&json!({"using": "css selector", "value": css})),
        );
        reply["value"].as_array().is_some_and(|a| !a.is_empty())
    }

    /// Runs a script in the page and returns its value.
    pub fn script(&self, source: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(&json!({"script": source, "args": []})),
        )["value"]
            .clone()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = try_request(self.port, "DELETE", &format!("/session/{}", self.id), None);
    }
}

fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    try_request(port, method, path, body)
        .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
}

fn try_request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    // No `Connection: close`: tauri-driver forwards it to WebKitWebDriver, which then closes the
    // connection tauri-driver keeps pooled, and the next request through the pool fails with an
    // empty reply. The reply is read by its length instead of to end of stream.
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let (head, payload) = read_reply(&mut stream)?;
    // Anything but a JSON reply (the driver failed to reach WebKitWebDriver, a cut
    // connection) is an error: a silently empty reply would let a failed click pass.
    serde_json::from_slice(&payload).map_err(|e| {
        std::io::Error::other(format!(
            "not a WebDriver reply ({e}): {head} {}",
            String::from_utf8_lossy(&payload)
        ))
    })
}

/// Reads one HTTP/1.1 response: headers, then a Content-Length or chunked body.
fn read_reply(stream: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let header_end = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed before a reply"));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &raw[header_end..];
        let complete = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body = raw.split_off(header_end);
    let body = match length {
        Some(n) => body.into_iter().take(n).collect(),
        None if chunked => dechunk(&String::from_utf8_lossy(&body)).into_bytes(),
        None => body,
    };
    Ok((head, body))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
