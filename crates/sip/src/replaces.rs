//! The Replaces header (RFC 3891) as attended transfer uses it: carried inside the Refer-To
//! URI of our REFER (RFC 5589 §7), so the customer's new INVITE replaces our consult call
//! with the expert.

/// The dialog to replace, as the UA receiving the INVITE knows it: `to_tag` is its own tag,
/// `from_tag` the tag of the other end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
}

impl Replaces {
    /// The header value: `call-id;to-tag=X;from-tag=Y`.
    pub fn value(&self) -> String {
        format!(
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )
    }

    /// Reads a header value; `None` when a part is missing.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split(';').map(str::trim);
        let call_id = parts.next().filter(|c| !c.is_empty())?.to_owned();
        let (mut to_tag, mut from_tag) = (None, None);
        for part in parts {
            match part.split_once('=') {
                Some((name, tag)) if name.trim().eq_ignore_ascii_case("to-tag") => {
                    to_tag = Some(tag.trim().to_owned())
                }
                Some((name, tag)) if name.trim().eq_ignore_ascii_case("from-tag") => {
                    from_tag = Some(tag.trim().to_owned())
                }
                _ => {}
            }
        }
        Some(Self {
            call_id,
            to_tag: to_tag?,
            from_tag: from_tag?,
        })
    }

    /// A Refer-To value sending the transferee to `target` with this Replaces as a URI header,
    /// escaped as RFC 3261 §19.1.1 requires (`;` `=` `@` and the like are not allowed there).
    pub fn refer_to(&self, target: &str) -> String {
        format!("<{target}?Replaces={}>", escape(&self.value()))
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$".contains(&byte);
        if unreserved {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refer_to_carries_an_escaped_replaces_that_reads_back() {
        let r = Replaces {
            call_id: "a84b4c76e66710@pc33".into(),
            to_tag: "8609sf".into(),
            from_tag: "1928301774".into(),
        };
        assert_eq!(
            r.refer_to("sip:expert@127.0.0.1:5060"),
            "<sip:expert@127.0.0.1:5060?Replaces=a84b4c76e66710%40pc33%3Bto-tag%3D8609sf%3Bfrom-tag%3D1928301774>"
        );
        assert_eq!(Replaces::parse(&r.value()), Some(r));
    }

    #[test]
    fn incomplete_values_are_refused() {
        assert_eq!(Replaces::parse("abc;to-tag=1"), None);
        assert_eq!(Replaces::parse(";to-tag=1;from-tag=2"), None);
        assert_eq!(Replaces::parse(""), None);
        let r = Replaces::parse("abc ; FROM-TAG=2 ; to-tag=1 ; early-only").expect("parses");
        assert_eq!((r.to_tag.as_str(), r.from_tag.as_str()), ("1", "2"));
    }
}
