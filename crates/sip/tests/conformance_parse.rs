//! RFC 4475 / RFC 5118 torture messages (copied from shared/conformance, MIT, see
//! tests/conformance/LICENSE-ersip) fed to the SIP message parser.
//!
//! Today this holds the line every message must hold: no panic, whatever the verdict. The
//! verdict table (how many parse as the manifest says) is printed; making every verdict match,
//! and the answers over a socket, is the SIP endpoint work (issue 3).

use std::path::{Path, PathBuf};

struct Case {
    file: String,
    parse: String,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest.tsv");
    manifest
        .lines()
        // The header row names the columns.
        .filter(|l| !l.trim().is_empty() && !l.starts_with("file\t"))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert!(fields.len() >= 4, "bad manifest line {line:?}");
            let path: &Path = Path::new(fields[0]);
            Case {
                file: fields[0].to_owned(),
                parse: fields[2].to_owned(),
                bytes: std::fs::read(dir.join(path)).expect("message file"),
            }
        })
        .collect()
}

#[test]
fn every_torture_message_is_parsed_or_refused_without_a_panic() {
    let cases = cases();
    assert_eq!(cases.len(), 61, "the manifest lists 61 messages");
    let mut as_manifest = 0;
    for case in &cases {
        let outcome = std::panic::catch_unwind(|| {
            rsipstack::sip::SipMessage::try_from(case.bytes.as_slice()).is_ok()
        });
        let accepted = outcome.unwrap_or_else(|_| panic!("parser panicked on {}", case.file));
        let agrees = match case.parse.as_str() {
            "ok" => accepted,
            "reject" => !accepted,
            _ => true,
        };
        as_manifest += usize::from(agrees);
        if !agrees {
            eprintln!(
                "{}: manifest says {}, parser {}",
                case.file,
                case.parse,
                if accepted { "accepts" } else { "refuses" }
            );
        }
    }
    eprintln!(
        "conformance (parser alone): {as_manifest} of {} as the manifest says",
        cases.len()
    );
}
