//! The RFC 4475 / RFC 5118 torture messages kept in `crates/sip/tests/conformance` (copied from
//! the shared test data, MIT, see LICENSE-ersip there) and what their manifest expects.

use std::path::PathBuf;

pub struct Case {
    pub file: String,
    /// `ok`, `reject` or `either`.
    pub parse: String,
    /// The answer a user agent gives: `-`, a status, or alternatives joined by " or ".
    pub answer: String,
    pub bytes: Vec<u8>,
}

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sip/tests/conformance")
}

pub fn cases() -> Vec<Case> {
    let dir = dir();
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest.tsv");
    manifest
        .lines()
        // The header row names the columns.
        .filter(|l| !l.trim().is_empty() && !l.starts_with("file\t"))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert!(fields.len() >= 4, "bad manifest line {line:?}");
            Case {
                file: fields[0].to_owned(),
                parse: fields[2].to_owned(),
                answer: fields[3].to_owned(),
                bytes: std::fs::read(dir.join(fields[0])).expect("message file"),
            }
        })
        .collect()
}

/// Whether a parser's verdict is what the manifest says (`either` takes both).
pub fn parse_agrees(expected: &str, accepted: bool) -> bool {
    match expected {
        "ok" => accepted,
        "reject" => !accepted,
        _ => true,
    }
}

/// Whether `status` (`None`: no answer) is what the manifest's answer column allows. `-` names
/// no answer: anything goes. "400 or accept" and the like also allow taking the message as
/// valid: passing it on, or refusing it for something other than its syntax (a 404 for a
/// Request-URI that is not ours).
pub fn answer_agrees(expected: &str, status: Option<u16>) -> bool {
    if expected == "-" {
        return true;
    }
    let allowed: Vec<&str> = expected.split(" or ").collect();
    let tolerant = allowed
        .iter()
        .any(|a| a.starts_with("accept") || a.starts_with("ignore"));
    match status {
        Some(s) if allowed.iter().any(|a| a.parse::<u16>() == Ok(s)) => true,
        Some(s) => tolerant && s != 400 && s != 505,
        None => tolerant,
    }
}

/// Whether the manifest expects silence: a response, which a user agent never answers.
pub fn is_response(case: &Case) -> bool {
    case.bytes.starts_with(b"SIP/")
}

/// The Call-ID of a raw message (long or compact form), to pair an answer with its request.
pub fn call_id(bytes: &[u8]) -> Option<String> {
    header(bytes, &["call-id", "i"])
}

/// The CSeq of a message (number and method, as written).
pub fn cseq(bytes: &[u8]) -> Option<String> {
    header(bytes, &["cseq"])
}

/// The first header named one of `names` (any case), trimmed.
fn header(bytes: &[u8], names: &[&str]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let head = text.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        names
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
            .then(|| value.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_reads_and_its_answers_are_understood() {
        let cases = cases();
        assert_eq!(cases.len(), 61);
        assert!(answer_agrees("405 or 501", Some(501)));
        assert!(!answer_agrees("405 or 501", Some(404)));
        assert!(!answer_agrees("400", None));
        assert!(answer_agrees("400 or accept", Some(404)));
        assert!(!answer_agrees("416 or accept", Some(400)));
        assert_eq!(
            call_id(b"OPTIONS x SIP/2.0\r\ni: abc\r\n\r\n").as_deref(),
            Some("abc")
        );
    }
}
