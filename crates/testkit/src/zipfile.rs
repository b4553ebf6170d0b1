//! A zip file read by Python's zipfile, an implementation other than the one that wrote it:
//! each file's CRC checked, every file returned as text by name.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

pub fn read(path: &Path) -> BTreeMap<String, String> {
    let script = "import json, sys, zipfile\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  bad = z.testzip()\n\
                  assert bad is None, bad\n\
                  print(json.dumps({n: z.read(n).decode() for n in z.namelist()}))\n";
    let out = Command::new("python3")
        .args(["-c", script, &path.display().to_string()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "zipfile could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("zipfile's listing")
}
