//! What a running program holds in memory: its own resident set, and the proportional set
//! (shared pages split between their users) of it and its children together (the webview's
//! WebKit processes are children of the app). Read from /proc.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// The program's own resident set.
    pub rss_kib: u64,
    /// The program and its descendants, shared pages counted once between them.
    pub pss_kib: u64,
    pub processes: usize,
}

/// The first running process whose executable is `exe`, with its descendants.
pub fn of(exe: &Path) -> Option<Memory> {
    let exe = std::fs::canonicalize(exe).ok()?;
    let pids = all_pids();
    let root = pids
        .iter()
        .copied()
        .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe))?;
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(pids.iter().copied().filter(|&p| ppid(p) == Some(parent)));
        i += 1;
    }
    Some(Memory {
        rss_kib: field(&format!("/proc/{root}/status"), "VmRSS:")?,
        pss_kib: tree
            .iter()
            .filter_map(|p| field(&format!("/proc/{p}/smaps_rollup"), "Pss:"))
            .sum(),
        processes: tree.len(),
    })
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn field(path: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "app {:.1} MiB resident; with its webview ({} processes) {:.1} MiB proportional",
            self.rss_kib as f64 / 1024.0,
            self.processes,
            self.pss_kib as f64 / 1024.0
        )
    }
}
