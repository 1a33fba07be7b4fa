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

/// Remember a secret value so it is scrubbed from every later output. Short values are ignored:
/// scrubbing a 3-character "secret" out of every message would garble the report.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() >= 6 {
        let mut list = registry().write().expect("redaction registry");
        if !list.iter().any(|s| s == secret) {
            list.push(secret.to_string());
        }
    }
}

pub const REDACTED: &str = "[REDACTED]";

/// Return `text` with every token-shaped string and registered secret replaced.
pub fn redact(text: &str) -> String {
    let mut out = redact_jwts(text);
    for secret in registry().read().expect("redaction registry").iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
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
}
