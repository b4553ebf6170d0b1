//! Cuts the desk's secrets out of text before it leaves the machine in a bundle: every known
//! secret value, in the forms it could be written in (as is, and escaped inside JSON), and any
//! bearer token, known or not.

const CUT: &str = "[redacted]";

/// Secrets shorter than this are not searched for: cutting every "1234" out of a log would make
/// it unreadable, and a secret that short is not one a bundle could leak.
const SHORTEST: usize = 6;

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
        let (out, bearers) = cut_bearer_tokens(&out);
        (out, cut + bearers)
    }

    /// Whether `text` still holds a secret (the check on the written bundle).
    pub fn finds_in(&self, text: &str) -> bool {
        self.needles.iter().any(|n| text.contains(n.as_str())) || cut_bearer_tokens(text).1 > 0
    }
}

/// `Bearer <token>` with the token cut, in any case.
fn cut_bearer_tokens(text: &str) -> (String, usize) {
    const WORD: &str = "bearer ";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut cut = 0;
    let mut rest = 0;
    let mut from = 0;
    while let Some(at) = lower[from..].find(WORD).map(|i| from + i) {
        let start = at + WORD.len();
        let len = text[start..]
            .find(|c: char| !is_token_char(c))
            .unwrap_or(text.len() - start);
        from = start + len;
        // "[redacted]" itself is not a token; nor is a word of prose ("bearer of").
        if len >= 12 {
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
        let text = "Authorization: Bearer eyJhbGciOi.J9eyJzdWIi.OiIxMjM0 then BEARER abcdefghijklmnop, the bearer of news";
        let (out, cut) = redactor.redact(text);
        assert_eq!(cut, 2, "{out}");
        assert_eq!(
            out,
            "Authorization: Bearer [redacted] then BEARER [redacted], the bearer of news"
        );
        assert!(!redactor.finds_in(&out));
    }

    #[test]
    fn short_secrets_are_not_searched_for() {
        let redactor = Redactor::new(["1234".to_owned(), String::new()]);
        assert_eq!(redactor.redact("room 1234").0, "room 1234");
    }
}
