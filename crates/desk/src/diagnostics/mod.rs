//! The diagnostics bundle an agent sends IT when something is wrong: one zip with the logs, the
//! settings in effect (secrets only by where they come from), versions, the sound devices and
//! the last calls' quality. Every file has the desk's secrets cut out before it is written, and
//! the written zip is read back and scanned again before it is handed over: a bundle that still
//! held a secret is deleted, never shipped.

mod redact;
pub mod secrets;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use zip::write::SimpleFileOptions;

pub use redact::Redactor;

use crate::policy::Effective;
use crate::settings::SystemSecrets;
use crate::settings_view::SettingsView;
use crate::store::{HistoryEntry, Store};

/// How many of the last calls a bundle describes.
pub const LAST_CALLS: usize = 50;

/// What goes into a bundle.
pub struct Sources {
    /// The log directory; its `switchboard*.log` files go in.
    pub log_dir: Option<PathBuf>,
    pub settings: SettingsView,
    /// (component, version): the app, the OS, the webview.
    pub versions: Vec<(String, String)>,
    pub devices: crate::DeviceList,
    /// The last calls, newest first.
    pub calls: Vec<HistoryEntry>,
}

/// A call as a bundle describes it: its quality and how it went, not whom it was with nor
/// what was noted (customers' details stay on the desk).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CallQuality<'a> {
    id: &'a str,
    direction: &'a str,
    started_ms: u64,
    answered_ms: Option<u64>,
    ended_ms: Option<u64>,
    end_reason: Option<&'a str>,
    mos: Option<f64>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BundleReport {
    pub path: String,
    /// The files inside, by name.
    pub files: Vec<String>,
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub bytes: u64,
    /// How many secrets were cut out on the way (0 when the logs were clean).
    pub redacted: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the diagnostics bundle {path} could not be written: {reason}")]
    Write { path: String, reason: String },
    #[error(
        "the diagnostics bundle still held a secret after redaction, in {file}; it was deleted"
    )]
    SecretInside { file: String },
}

/// The default place for a bundle: beside the logs, named by the time it was made.
pub fn default_path(log_dir: &Path, now_secs: u64) -> PathBuf {
    let dir = log_dir.parent().unwrap_or(log_dir).join("diagnostics");
    dir.join(format!(
        "switchboard-diagnostics-{}.zip",
        utc_stamp(now_secs)
    ))
}

/// A bundle of this desk: its logs, the settings in effect, its sound devices and the calls in
/// its history, with every secret its settings lead to cut out. `versions` are the caller's
/// (the app adds its webview's); the OS's are added here. Written at `out`, or beside the logs.
pub fn of_this_desk(
    effective: &Effective,
    mut versions: Vec<(String, String)>,
    out: Option<PathBuf>,
) -> Result<BundleReport, BundleError> {
    let log_dir = crate::log_file::log_dir();
    versions.extend(system_versions());
    let calls = Store::default_path()
        .filter(|p| p.exists())
        .and_then(|p| Store::open(&p).ok())
        .and_then(|store| store.history("").ok())
        .unwrap_or_default();
    let sources = Sources {
        log_dir: log_dir.clone(),
        settings: SettingsView::of(effective),
        versions,
        devices: crate::audio_devices(),
        calls,
    };
    let redactor = Redactor::new(secrets::known(&effective.settings, &SystemSecrets));
    let now = crate::engine::now_ms() / 1000;
    let out = out
        .or_else(|| log_dir.map(|dir| default_path(&dir, now)))
        .unwrap_or_else(|| {
            PathBuf::from(format!("switchboard-diagnostics-{}.zip", utc_stamp(now)))
        });
    create(&sources, &redactor, &out)
}

/// The operating system, as the machine names itself.
fn system_versions() -> Vec<(String, String)> {
    let mut out = vec![(
        "platform".to_owned(),
        format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    )];
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    if let Some(name) = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
    {
        out.push(("os".into(), name.trim_matches('"').to_owned()));
    }
    if let Ok(kernel) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        out.push(("kernel".into(), kernel.trim().to_owned()));
    }
    out
}

/// Writes the bundle at `out`.
pub fn create(
    sources: &Sources,
    redactor: &Redactor,
    out: &Path,
) -> Result<BundleReport, BundleError> {
    let fail = |reason: String| BundleError::Write {
        path: out.display().to_string(),
        reason,
    };
    let mut redacted = 0;
    let mut files = Vec::new();
    for (name, text) in entries(sources).map_err(|e| fail(e.to_string()))? {
        let (clean, cut) = redactor.redact(&text);
        redacted += cut;
        files.push((name, clean));
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    // Written aside and moved into place once checked, so a half-written or failed bundle is
    // never mistaken for one.
    let partial = out.with_extension("zip.partial");
    let written = write_zip(&partial, &files)
        .map_err(|e| fail(e.to_string()))
        .and_then(|()| check(&partial, redactor));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, out).map_err(|e| fail(e.to_string()))?;
    let bytes = std::fs::metadata(out)
        .map_err(|e| fail(e.to_string()))?
        .len();
    Ok(BundleReport {
        path: out.display().to_string(),
        files: files.into_iter().map(|(name, _)| name).collect(),
        bytes,
        redacted,
    })
}

/// The bundle's files, by name, before redaction.
fn entries(sources: &Sources) -> std::io::Result<Vec<(String, String)>> {
    let versions: serde_json::Map<String, serde_json::Value> = sources
        .versions
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    let calls: Vec<CallQuality> = sources.calls.iter().take(LAST_CALLS).map(quality).collect();
    let mut out = vec![
        ("versions.json".to_owned(), pretty(&versions)),
        ("settings.json".to_owned(), pretty(&sources.settings)),
        ("audio-devices.json".to_owned(), pretty(&sources.devices)),
        ("calls.json".to_owned(), pretty(&calls)),
    ];
    if let Some(dir) = &sources.log_dir {
        for path in crate::log_file::files(dir) {
            let mut bytes = Vec::new();
            std::fs::File::open(&path)?.read_to_end(&mut bytes)?;
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            out.push((
                format!("logs/{name}"),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    Ok(out)
}

fn quality(call: &HistoryEntry) -> CallQuality<'_> {
    CallQuality {
        id: &call.id,
        direction: &call.direction,
        started_ms: call.started_ms,
        answered_ms: call.answered_ms,
        ended_ms: call.ended_ms,
        end_reason: call.end_reason.as_deref(),
        mos: call.mos,
    }
}

fn pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("\"{e}\""))
}

fn write_zip(path: &Path, files: &[(String, String)]) -> zip::result::ZipResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // Readable by the user alone until they choose to send it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut zip = zip::ZipWriter::new(options.open(path)?);
    let entry = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        zip.start_file(name.as_str(), entry)?;
        zip.write_all(text.as_bytes())?;
    }
    zip.finish()?.sync_all()?;
    Ok(())
}

/// Reads the written zip back, every file whole, and looks for the secrets once more.
fn check(path: &Path, redactor: &Redactor) -> Result<(), BundleError> {
    let fail = |reason: String| BundleError::Write {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| fail(e.to_string()))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| fail(e.to_string()))?;
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| fail(e.to_string()))?;
        if redactor.finds_in(&String::from_utf8_lossy(&bytes)) {
            return Err(BundleError::SecretInside {
                file: entry
                    .name()
                    .map_or_else(|_| format!("file {i}"), |n| n.into_owned()),
            });
        }
    }
    Ok(())
}

/// `20261204-181500` (UTC) for a file name.
fn utc_stamp(secs: u64) -> String {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(log_dir: Option<PathBuf>) -> Sources {
        Sources {
            log_dir,
            settings: SettingsView::default(),
            versions: vec![("switchboard".into(), "0.1.0".into())],
            devices: crate::DeviceList::default(),
            calls: vec![HistoryEntry {
                id: "c1".into(),
                direction: "inbound".into(),
                remote: "sip:+15550100@trunk".into(),
                display_name: Some("Ada Customer".into()),
                phone: Some("+15550100".into()),
                started_ms: 1_000,
                answered_ms: Some(2_000),
                ended_ms: Some(9_000),
                end_reason: Some("remoteHangup".into()),
                disposition: None,
                notes: "private notes".into(),
                mos: Some(4.3),
            }],
        }
    }

    fn read_all(path: &Path) -> Vec<(String, String)> {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).expect("open")).expect("zip");
        (0..zip.len())
            .map(|i| {
                let mut entry = zip.by_index(i).expect("entry");
                let mut text = String::new();
                entry.read_to_string(&mut text).expect("text");
                (entry.name().expect("name").into_owned(), text)
            })
            .collect()
    }

    #[test]
    fn a_bundle_holds_the_parts_with_secrets_cut_and_no_customer_details() {
        let dir = std::env::temp_dir().join(format!("sb-diag-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).expect("dir");
        std::fs::write(
            logs.join("switchboard.log"),
            "INFO registered; password hunter2-secret\n",
        )
        .expect("log");
        std::fs::write(logs.join("switchboard.1.log"), "INFO older\n").expect("log");
        let out = dir.join("bundle.zip");
        let redactor = Redactor::new(["hunter2-secret".to_owned()]);
        let report = create(&sources(Some(logs)), &redactor, &out).expect("bundle");
        assert_eq!(report.redacted, 1);
        assert_eq!(
            report.files,
            [
                "versions.json",
                "settings.json",
                "audio-devices.json",
                "calls.json",
                "logs/switchboard.log",
                "logs/switchboard.1.log"
            ]
        );
        let inside = read_all(&out);
        assert_eq!(inside.len(), 6);
        assert!(inside.iter().all(|(_, t)| !t.contains("hunter2")));
        let calls = &inside
            .iter()
            .find(|(n, _)| n == "calls.json")
            .expect("calls")
            .1;
        assert!(
            calls.contains("4.3") && calls.contains("remoteHangup"),
            "{calls}"
        );
        assert!(!calls.contains("Ada") && !calls.contains("5550100") && !calls.contains("private"));
        assert!(!dir.join("bundle.zip.partial").exists());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_bundle_that_would_still_hold_a_secret_is_not_left_behind() {
        let dir = std::env::temp_dir().join(format!("sb-diag-leak-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = dir.join("bundle.zip");
        // A secret redaction cannot see (it is inside what redaction writes) is caught by the
        // check on the written zip.
        let redactor = Redactor::new(["redacted]".to_owned()]);
        let mut with_log = sources(None);
        with_log
            .versions
            .push(("note".into(), "x redacted] y".into()));
        let err = create(&with_log, &redactor, &out).expect_err("refused");
        assert!(matches!(err, BundleError::SecretInside { .. }), "{err}");
        assert!(!out.exists() && !dir.join("bundle.zip.partial").exists());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bundle_names_carry_the_utc_time() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(1_796_400_000), "20261204-160000");
        assert_eq!(utc_stamp(951_825_600), "20000229-120000");
        let path = default_path(Path::new("/s/switchboard/logs"), 0);
        assert_eq!(
            path,
            Path::new("/s/switchboard/diagnostics/switchboard-diagnostics-19700101-000000.zip")
        );
    }
}
