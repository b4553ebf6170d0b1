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
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_owned()
    };
    Ok(serde_json::from_str(&payload).unwrap_or(Value::Null))
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
