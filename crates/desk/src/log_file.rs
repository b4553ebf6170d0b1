//! The app's log file: `switchboard.log` in the platform's log directory, rolled over to
//! `switchboard.1.log`, `switchboard.2.log`, ... when it passes a size, so that a desk that runs
//! for months keeps a bounded, recent history for a diagnostics bundle. Nothing secret is
//! logged (the secrets' types redact themselves); the bundle scans for secrets all the same.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The current file's name; older ones are `switchboard.N.log`, 1 the most recent.
pub const FILE_NAME: &str = "switchboard.log";
/// A file rolls over once it passes this size...
pub const MAX_BYTES: u64 = 5 * 1024 * 1024;
/// ...and this many rolled-over files are kept besides the current one.
pub const KEEP: usize = 4;

/// Where the logs go: `SWITCHBOARD_LOG_DIR`, or the platform's log directory
/// (`$XDG_STATE_HOME/switchboard/logs` on Linux, `~/Library/Logs/Switchboard` on macOS,
/// `%LOCALAPPDATA%\Switchboard\logs` on Windows).
pub fn log_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_LOG_DIR") {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if cfg!(target_os = "windows") {
        let local = std::env::var_os("LOCALAPPDATA").map(PathBuf::from)?;
        Some(local.join("Switchboard").join("logs"))
    } else if cfg!(target_os = "macos") {
        Some(home?.join("Library/Logs/Switchboard"))
    } else {
        let state = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| home.map(|h| h.join(".local/state")))?;
        Some(state.join("switchboard").join("logs"))
    }
}

/// The log files in `dir`, the current one first, then from the most recent rolled-over one.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    (0..=KEEP)
        .map(|n| numbered(dir, n))
        .filter(|p| p.is_file())
        .collect()
}

fn numbered(dir: &Path, n: usize) -> PathBuf {
    match n {
        0 => dir.join(FILE_NAME),
        n => dir.join(format!("switchboard.{n}.log")),
    }
}

/// A log file that rolls over by size. Each `write` is one whole event (the formatter writes
/// an event at once), so a roll never splits a line.
pub struct RollingFile {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    written: u64,
}

impl RollingFile {
    /// Opens (or creates) the current file in `dir`, appending to what an earlier run left.
    pub fn open(dir: &Path, max_bytes: u64, keep: usize) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = append(&numbered(dir, 0))?;
        let written = file.metadata()?.len();
        Ok(Self {
            dir: dir.to_owned(),
            max_bytes,
            keep,
            file,
            written,
        })
    }

    /// The oldest file goes, each other one moves up a number, and a new current file starts.
    fn roll(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let _ = std::fs::remove_file(numbered(&self.dir, self.keep));
        for n in (0..self.keep).rev() {
            let from = numbered(&self.dir, n);
            if from.exists() {
                std::fs::rename(&from, numbered(&self.dir, n + 1))?;
            }
        }
        self.file = append(&numbered(&self.dir, 0))?;
        self.written = 0;
        Ok(())
    }
}

/// Opened for appending; created readable by the user alone (logs name callers).
fn append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

impl Write for RollingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            // Another process (a second launch handing over a link) may have appended or
            // rolled: the file's own size decides. A roll that fails (a file held open on
            // Windows, a full disk) keeps this file going, and is tried again once as much
            // again has been written.
            self.written = self.file.metadata().map_or(self.written, |m| m.len());
            if self.written + buf.len() as u64 > self.max_bytes {
                if let Err(e) = self.roll() {
                    self.written = 0;
                    let _ = writeln!(self.file, "(the log did not roll over: {e})");
                }
            }
        }
        self.file.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The rolling file shared by the logging threads: a writer per event, cheap to clone.
#[derive(Clone)]
pub struct LogFile(Arc<Mutex<RollingFile>>);

impl LogFile {
    /// The app's log in `dir`, with the standard size and count.
    pub fn open(dir: &Path) -> io::Result<Self> {
        RollingFile::open(dir, MAX_BYTES, KEEP).map(|f| Self(Arc::new(Mutex::new(f))))
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A logging thread that panicked mid-write leaves a file that is still usable.
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sb-log-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_file_rolls_over_by_size_and_keeps_a_bounded_number() {
        let dir = scratch("roll");
        let mut log = RollingFile::open(&dir, 100, 2).expect("open");
        for i in 0..12 {
            log.write_all(format!("event {i:02} {}\n", "x".repeat(30)).as_bytes())
                .expect("write");
        }
        drop(log);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names.len(),
            3,
            "the current file and two old ones: {names:?}"
        );
        let current = std::fs::read_to_string(dir.join(FILE_NAME)).expect("current");
        let older = std::fs::read_to_string(dir.join("switchboard.1.log")).expect("older");
        assert!(current.ends_with(&format!("event 11 {}\n", "x".repeat(30))));
        assert!(current.len() <= 100 && older.len() <= 100);
        // Whole lines only, and the newest events in the lowest numbers.
        assert!(older
            .lines()
            .all(|l| l.starts_with("event ") && l.len() == 39));
        assert!(
            older.contains("event 09") || older.contains("event 08"),
            "{older}"
        );
        assert!(!current.contains("event 00") && !older.contains("event 00"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_new_run_appends_to_the_current_file() {
        let dir = scratch("append");
        RollingFile::open(&dir, 1000, 2)
            .expect("open")
            .write_all(b"first run\n")
            .expect("write");
        RollingFile::open(&dir, 1000, 2)
            .expect("reopen")
            .write_all(b"second run\n")
            .expect("write");
        let text = std::fs::read_to_string(dir.join(FILE_NAME)).expect("read");
        assert_eq!(text, "first run\nsecond run\n");
        assert_eq!(files(&dir), vec![dir.join(FILE_NAME)]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
