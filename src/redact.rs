//! The one place that redacts. Everything that leaves the process (report formats, logs, error
//! messages, HTTP bodies quoted in findings) passes through [`redact`].
//!
//! It removes anything shaped like a JWT (three base64url parts, the first two starting with
//! `eyJ`), the Speech `aad#…#token` form, and every secret value registered with [`register`]
//! (client secrets, the GitHub/Pipelines request tokens, certificate passwords).

use std::sync::{OnceLock, RwLock};

fn registry() -> &'static RwLock<Vec<String>> {
    static SECRETS: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| RwLock::new(Vec::new()))
}

/// Remember a secret value so it is scrubbed from every later output. A short secret is still
/// a secret: below [`WHOLE_WORD_BELOW`] characters it is scrubbed where it stands as a whole
/// word, so a 3-character value does not garble every message that happens to contain those
/// letters. One or two characters protect nothing and would blank out every "a" and "1".
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < 3 {
        return;
    }
    let mut list = registry().write().unwrap_or_else(|e| e.into_inner());
    if !list.iter().any(|s| s == secret) {
        list.push(secret.to_string());
        // Longest first, so a secret that contains another is scrubbed whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Secrets shorter than this are matched as whole words only.
pub const WHOLE_WORD_BELOW: usize = 6;

pub const REDACTED: &str = "[REDACTED]";

/// Return `text` with every token-shaped string and registered secret replaced.
pub fn redact(text: &str) -> String {
    let mut out = redact_jwts(text);
    for secret in registry().read().unwrap_or_else(|e| e.into_inner()).iter() {
        if !out.contains(secret.as_str()) {
            continue;
        }
        out = if secret.chars().count() >= WHOLE_WORD_BELOW {
            out.replace(secret.as_str(), REDACTED)
        } else {
            replace_whole_words(&out, secret)
        };
    }
    out
}

/// Replace `word` where neither neighbour is a letter or digit.
fn replace_whole_words(text: &str, word: &str) -> String {
    let bounded = |c: Option<char>| !c.is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices(word) {
        let end = at + word.len();
        if at < copied {
            continue;
        }
        if bounded(text[..at].chars().next_back()) && bounded(text[end..].chars().next()) {
            out.push_str(&text[copied..at]);
            out.push_str(REDACTED);
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn is_b64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Replace `eyJ….eyJ….sig` (signature optional: an unsigned token still carries claims someone
/// may replay) with a marker.
fn redact_jwts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("eyJ") {
        let (before, candidate) = rest.split_at(pos);
        out.push_str(before);
        let len = jwt_len(candidate);
        if len > 0 {
            out.push_str(REDACTED);
            rest = &candidate[len..];
        } else {
            out.push_str("eyJ");
            rest = &candidate[3..];
        }
    }
    out.push_str(rest);
    out
}

/// Length of a JWT at the start of `s`, or 0.
fn jwt_len(s: &str) -> usize {
    let part = |from: usize| {
        s[from..]
            .find(|c: char| !is_b64url(c))
            .map_or(s.len(), |e| from + e)
    };
    let end1 = part(0);
    if end1 < 10 || !s[end1..].starts_with('.') || !s[end1 + 1..].starts_with("eyJ") {
        return 0;
    }
    let end2 = part(end1 + 1);
    if end2 - end1 < 10 {
        return 0;
    }
    if s[end2..].starts_with('.') {
        part(end2 + 1)
    } else {
        end2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts_and_registered_secrets_are_removed() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3gifQ.c2lnbmF0dXJlLWJ5dGVz";
        let text = format!("Bearer {jwt}, aad#/subscriptions/x#{jwt} done");
        let r = redact(&text);
        assert!(!r.contains("eyJhdWQ"), "{r}");
        assert_eq!(r, "Bearer [REDACTED], aad#/subscriptions/x#[REDACTED] done");
        register("s3cret-value-1");
        assert_eq!(redact("secret=s3cret-value-1&x=1"), "secret=[REDACTED]&x=1");
        assert_eq!(redact("eyJ alone is fine"), "eyJ alone is fine");
    }

    #[test]
    fn a_short_secret_is_scrubbed_where_it_stands_alone() {
        register("Xq7");
        assert_eq!(
            redact("secret Xq7, again:Xq7"),
            format!("secret {REDACTED}, again:{REDACTED}")
        );
        assert_eq!(
            redact("aXq7b Xq7Xq7"),
            "aXq7b Xq7Xq7",
            "inside words it stays"
        );
        // From six characters on, anywhere: next to an escape's letter too.
        register("hunt3r");
        assert_eq!(redact("x\\nhunt3r2"), format!("x\\n{REDACTED}2"));
    }
}
