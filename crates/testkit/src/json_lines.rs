//! Reads a child's stdout as JSON lines on a thread, so tests can wait for an event by name.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct JsonLines {
    rx: Receiver<Value>,
    /// Everything seen so far, for failure messages.
    pub seen: Vec<Value>,
}

impl JsonLines {
    pub fn spawn(stream: impl Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let value = match serde_json::from_str(&line) {
                    Ok(v) => v,
                    Err(_) => Value::String(line),
                };
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self {
            rx,
            seen: Vec::new(),
        }
    }

    /// Takes in everything that has arrived, without waiting, and says whether any object
    /// seen so far has `key` equal to `value`. For checking that something did *not* happen:
    /// `seen` alone holds only what earlier waits read.
    pub fn has_seen(&mut self, key: &str, value: &str) -> bool {
        self.count(key, value) > 0
    }

    /// How many objects so far (what has arrived included) have `key` equal to `value`.
    pub fn count(&mut self, key: &str, value: &str) -> usize {
        while let Ok(v) = self.rx.try_recv() {
            self.seen.push(v);
        }
        self.seen
            .iter()
            .filter(|v| v.get(key).and_then(Value::as_str) == Some(value))
            .count()
    }

    /// Waits for the next object whose `key` is `value`, passing over others.
    pub fn wait_for(&mut self, key: &str, value: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if v.get(key).and_then(Value::as_str) == Some(value) {
                        return v;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {key}={value} within {timeout:?}; saw {:#?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("stream closed before {key}={value}; saw {:#?}", self.seen)
                }
            }
        }
    }
}
