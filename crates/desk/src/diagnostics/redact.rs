//! Cuts the desk's secrets out of text before it leaves the machine in a bundle: every known
//! secret value, in the forms it could be written in (as is, and escaped inside JSON), and,
//! known or not, any bearer token, SDES key (`inline:` in SDP) and SIP digest answer
//! (`Authorization:` and `Proxy-Authorization:` headers).

const CUT: &str = "[redacted]";

/// Secrets shorter than this are not searched for: cutting every "1234" out of a log would make
/// it unreadable, and a secret that short is not one a bundle could leak.
const SHORTEST: usize = 6;

/// A bearer token or SDES key is at least this long: shorter, it is a word of prose
/// ("bearer of") or what was already cut.
const SHORTEST_TOKEN: usize = 12;

pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut needles = Vec::new();
        for secret in secrets {
            if secret.chars().count() < SHORTEST {
                continue;
            }
            let escaped = serde_json::to_string(&secret).unwrap_or_default();
            let escaped = escaped.trim_matches('"').to_owned();
            if escaped != secret {
                needles.push(escaped);
            }
            needles.push(secret);
        }
        // The longest first: a secret that contains another is cut whole.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self { needles }
    }

    /// `text` without the secrets, and how many were cut.
    pub fn redact(&self, text: &str) -> (String, usize) {
        let mut out = text.to_owned();
        let mut cut = 0;
        for needle in &self.needles {
            let found = out.matches(needle.as_str()).count();
            if found > 0 {
                cut += found;
                out = out.replace(needle.as_str(), CUT);
            }
        }
        // Whole header values first: a bearer token there goes with its header.
        let (out, digests) = cut_authorization(&out);
        let (out, bearers) = cut_after(&out, "bearer ", SHORTEST_TOKEN);
        let (out, keys) = cut_after(&out, "inline:", SHORTEST_TOKEN);
        (out, cut + digests + bearers + keys)
    }

    /// Whether `text` still holds a secret (the check on the written bundle).
    pub fn finds_in(&self, text: &str) -> bool {
        self.redact(text).1 > 0
    }
}

/// The value of each `Authorization:` / `Proxy-Authorization:` header line not already cut: a
/// digest answer (response, nonce, user) or a bearer token.
fn cut_authorization(text: &str) -> (String, usize) {
    let mut cut = 0;
    let lines: Vec<String> = text
        .split_inclusive('\n')
        .map(|line| {
            let lower = line.to_ascii_lowercase();
            let Some(at) = ["proxy-authorization:", "authorization:"]
                .iter()
                .find_map(|h| lower.find(h).map(|i| i + h.len()))
            else {
                return line.to_owned();
            };
            let value = line[at..].trim_end_matches(['\r', '\n']);
            let value = value.trim_start();
            if value.is_empty() || value == CUT {
                return line.to_owned();
            }
            cut += 1;
            let ending = &line[line.trim_end_matches(['\r', '\n']).len()..];
            format!("{} {CUT}{ending}", &line[..at])
        })
        .collect();
    (lines.concat(), cut)
}

/// `WORD<token>` (`Bearer <token>`, `inline:<key>`) with tokens of at least `shortest`
/// characters cut, the word in any case.
fn cut_after(text: &str, word: &str, shortest: usize) -> (String, usize) {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut cut = 0;
    let mut rest = 0;
    let mut from = 0;
    while let Some(at) = lower[from..].find(word).map(|i| from + i) {
        let start = at + word.len();
        let len = text[start..]
            .find(|c: char| !is_token_char(c))
            .unwrap_or(text.len() - start);
        from = start + len;
        // "[redacted]" itself is not a token; nor is a word of prose ("bearer of").
        if len >= shortest {
            out.push_str(&text[rest..start]);
            out.push_str(CUT);
            rest = start + len;
            cut += 1;
        }
    }
    out.push_str(&text[rest..]);
    (out, cut)
}

/// The characters of an OAuth bearer token (RFC 6750's b64token) and of a JWT.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/=".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_secrets_are_cut_as_written_and_as_escaped_in_json() {
        let redactor = Redactor::new(["pa\"ss-word-1".to_owned(), "tok3n-abcdef".to_owned()]);
        let text = "login pa\"ss-word-1 ok; {\"p\":\"pa\\\"ss-word-1\"} tok3n-abcdef tok3n-abcdef";
        let (out, cut) = redactor.redact(text);
        assert_eq!(cut, 4, "{out}");
        assert!(
            !out.contains("ss-word-1") && !out.contains("tok3n"),
            "{out}"
        );
        assert!(!redactor.finds_in(&out) && redactor.finds_in(text));
        assert!(out.starts_with("login [redacted] ok"), "{out}");
    }

    #[test]
    fn bearer_tokens_are_cut_whoever_they_belong_to_and_prose_is_kept() {
        let redactor = Redactor::new(Vec::new());
        let text = "{\"auth\": \"Bearer eyJhbGciOi.J9eyJzdWIi.OiIxMjM0\"} then BEARER abcdefghijklmnop, the bearer of news";
        let (out, cut) = redactor.redact(text);
        assert_eq!(cut, 2, "{out}");
        assert_eq!(
            out,
            "{\"auth\": \"Bearer [redacted]\"} then BEARER [redacted], the bearer of news"
        );
        assert!(!redactor.finds_in(&out));
    }

    #[test]
    fn sdes_keys_and_digest_answers_are_cut_whoever_wrote_them() {
        let redactor = Redactor::new(Vec::new());
        let text = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20\r\n\
                    Authorization: Digest username=\"agent7\", response=\"6629fae49393a05397450978507c4ef1\"\r\n\
                    Proxy-Authorization: Digest username=\"agent7\"\n\
                    authorization: Bearer short\n\
                    Via: SIP/2.0/UDP 127.0.0.1\n";
        let (out, cut) = redactor.redact(text);
        assert_eq!(cut, 4, "{out}");
        assert!(
            !out.contains("short"),
            "a bearer header goes whole, however short: {out}"
        );
        assert!(
            !out.contains("WVNfX19") && !out.contains("6629fae") && !out.contains("username"),
            "{out}"
        );
        assert!(
            out.contains("inline:[redacted]|2^20\r\nAuthorization: [redacted]\r\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "Proxy-Authorization: [redacted]\nauthorization: [redacted]\nVia: SIP/2.0/UDP 127.0.0.1\n"
            ),
            "{out}"
        );
        assert!(!redactor.finds_in(&out) && redactor.finds_in(text));
    }

    #[test]
    fn short_secrets_are_not_searched_for() {
        let redactor = Redactor::new(["1234".to_owned(), String::new()]);
        assert_eq!(redactor.redact("room 1234").0, "room 1234");
    }
}
