//! The one place that redacts and sanitizes. Everything that leaves the process (report formats,
//! logs, error messages, HTTP bodies quoted in findings) passes through [`redact`]; text from
//! outside (servers, claims, files, CLIs) that reaches a terminal or a CI log also passes through
//! [`sanitize`] ([`scrub`] does both).
//!
//! [`redact`] removes anything shaped like a JWT (three base64url parts, the first two starting
//! with `eyJ`), the Speech `aad#…#token` form, and every secret value registered with
//! [`register`] (client secrets, the GitHub/Pipelines request tokens, certificate passwords) or
//! [`register_token`] (every acquired access token, whose payload and signature are scrubbed on
//! their own too). A registered secret is found however a server echoes it: raw, URL-encoded
//! (`%7E` or `%7e` or `~`, `+` or `%20` for a space, encoded twice), form-encoded, JSON-escaped
//! (`\uXXXX`, `\/`), backslash-escaped or as HTML entities, in any mix.

use std::collections::HashSet;
use std::sync::{OnceLock, RwLock};

#[derive(Default)]
struct Registry {
    /// Longest first, so a secret that contains another is scrubbed whole.
    secrets: Vec<String>,
    /// Every [`TOKEN_PIECE_MIN`]-character window of the payload and signature of acquired
    /// tokens: a long enough piece of one (a server that truncates or splices what it echoes) is
    /// still a piece of a token.
    token_windows: HashSet<String>,
}

fn registry() -> &'static RwLock<Registry> {
    static SECRETS: OnceLock<RwLock<Registry>> = OnceLock::new();
    SECRETS.get_or_init(|| RwLock::new(Registry::default()))
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
    let mut reg = registry().write().unwrap_or_else(|e| e.into_inner());
    if reg.secrets.iter().any(|s| s == secret) {
        return;
    }
    reg.secrets.push(secret.to_string());
    // A server may echo what it got base64-encoded (a header, a form body): the encodings of
    // the secret, at each of the three byte alignments it may sit at, are secrets too.
    let form_encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut encodings = base64_cores(secret.as_bytes());
    if form_encoded != secret {
        // A form body (`client_secret=…`) is URL-encoded before anyone base64s it.
        encodings.extend(base64_cores(form_encoded.as_bytes()));
    }
    for encoded in encodings {
        if !reg.secrets.contains(&encoded) {
            reg.secrets.push(encoded);
        }
    }
    reg.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Base64 cores shorter than this are not registered: they would match innocent text.
const BASE64_CORE_MIN: usize = 16;

/// The characters of the base64 (standard and URL-safe) encodings of `secret` that depend on
/// its bytes alone, for each alignment of its first byte within a 3-byte group: wherever the
/// secret sits inside an encoded text, one of these appears in the encoding.
fn base64_cores(secret: &[u8]) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut cores = Vec::new();
    for (align, skip) in [(0usize, 0usize), (1, 2), (2, 3)] {
        let mut bytes = vec![0u8; align];
        bytes.extend_from_slice(secret);
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&bytes);
            // The last character also carries bits of whatever follows the secret.
            let end = encoded.len() - usize::from(bytes.len() % 3 != 0);
            if let Some(core) = encoded
                .get(skip..end)
                .filter(|c| c.len() >= BASE64_CORE_MIN)
            {
                let core = core.to_string();
                if !cores.contains(&core) {
                    cores.push(core);
                }
            }
        }
    }
    cores
}

/// Remember an acquired access token: the whole token, and its payload and signature segments
/// each on their own, so a server that echoes `payload.signature`, the signature alone or a long
/// piece of either does not print it. Returns `token`, so the call sits where the token is made.
pub fn register_token(token: &str) -> &str {
    register(token);
    let parts: Vec<&str> = token.trim().split('.').collect();
    // The header names only the algorithm and key: public. Everything after it is the secret.
    for segment in parts.iter().skip(1).copied() {
        if segment.len() < WHOLE_WORD_BELOW {
            continue;
        }
        register(segment);
        if segment.len() >= TOKEN_PIECE_MIN && segment.is_ascii() {
            let mut reg = registry().write().unwrap_or_else(|e| e.into_inner());
            for at in 0..=segment.len() - TOKEN_PIECE_MIN {
                reg.token_windows
                    .insert(segment[at..at + TOKEN_PIECE_MIN].to_string());
            }
        }
    }
    token
}

/// Secrets shorter than this are matched as whole words only.
pub const WHOLE_WORD_BELOW: usize = 6;

/// A run of this many base64url characters found inside a registered token segment is a piece of
/// that token (192 bits: no innocent text matches by chance).
pub const TOKEN_PIECE_MIN: usize = 32;

pub const REDACTED: &str = "[REDACTED]";

/// Return `text` with every token-shaped string and registered secret replaced.
pub fn redact(text: &str) -> String {
    let mut out = redact_jwts(text);
    let reg = registry().read().unwrap_or_else(|e| e.into_inner());
    for secret in &reg.secrets {
        out = replace_encoded(&out, secret, secret.chars().count() < WHOLE_WORD_BELOW);
    }
    if !reg.token_windows.is_empty() {
        out = redact_token_pieces(&out, &reg.token_windows);
    }
    out
}

/// [`redact`], then [`sanitize`], then [`redact`] again: removing a control character may join
/// the halves of a secret.
pub fn scrub(text: &str) -> String {
    redact(&sanitize(&redact(text)))
}

// ---------------------------------------------------------------------------------------------
// Finding a secret in any of its encodings.

/// Replace every occurrence of `secret`, in any encoding [`encoded_char_ends`] knows, with
/// [`REDACTED`]. `whole_word`: only where neither neighbour is a letter or digit.
fn replace_encoded(text: &str, secret: &str, whole_word: bool) -> String {
    let bytes = text.as_bytes();
    let bounded = |c: Option<char>| !c.is_some_and(char::is_alphanumeric);
    let mut out = String::new();
    let mut copied = 0;
    let mut at = 0;
    let mut scratch = (Vec::new(), Vec::new());
    // Every form of a character starts with its own first byte or one of these.
    let first = secret.as_bytes().first().copied().unwrap_or(0);
    let may_start = |b: u8| b == first || matches!(b, b'%' | b'\\' | b'&' | b'+');
    while at < bytes.len() {
        if !may_start(bytes[at]) || !text.is_char_boundary(at) {
            at += 1;
            continue;
        }
        let end = match encoded_match_end(bytes, at, secret, &mut scratch) {
            Some(end) if text.is_char_boundary(end) => end,
            _ => {
                at += 1;
                continue;
            }
        };
        if whole_word
            && !(bounded(text[..at].chars().next_back()) && bounded(text[end..].chars().next()))
        {
            at += 1;
            continue;
        }
        out.push_str(&text[copied..at]);
        out.push_str(REDACTED);
        copied = end;
        at = end;
    }
    if copied == 0 {
        return text.to_string();
    }
    out.push_str(&text[copied..]);
    out
}

/// Where an encoding of `secret` that starts at byte `start` ends (the longest such), or `None`.
/// Each character of the secret may be written in any of its forms, independently of the others,
/// so mixes (`%7e` next to `%2B`, `\/` next to a raw `/`) are found too. `scratch` holds the
/// candidate positions, to reuse their allocations.
fn encoded_match_end(
    t: &[u8],
    start: usize,
    secret: &str,
    scratch: &mut (Vec<usize>, Vec<usize>),
) -> Option<usize> {
    let (positions, next) = scratch;
    positions.clear();
    positions.push(start);
    for c in secret.chars() {
        next.clear();
        for &p in positions.iter() {
            encoded_char_ends(t, p, c, next);
        }
        if next.is_empty() {
            return None;
        }
        next.sort_unstable();
        next.dedup();
        std::mem::swap(positions, next);
    }
    positions.iter().copied().max()
}

/// Push every position where a form of `c` starting at `p` ends: the character itself; `+` for a
/// space; `%HH` (either case, or `%25HH` when encoded twice) for each of its UTF-8 bytes;
/// `\uXXXX` (JSON); a backslash before ASCII punctuation (JSON's `\/` and `\"`, Markdown's `\~`);
/// an HTML character reference.
fn encoded_char_ends(t: &[u8], p: usize, c: char, ends: &mut Vec<usize>) {
    let mut buf = [0u8; 4];
    let raw = c.encode_utf8(&mut buf).as_bytes();
    let Some(&first) = t.get(p) else {
        return;
    };
    if t[p..].starts_with(raw) {
        ends.push(p + raw.len());
    }
    if matches!(first, b'%' | b'\\' | b'&')
        && let Some(end) = percent_encoded_end(t, p, raw)
    {
        ends.push(end);
    }
    match first {
        b'+' if c == ' ' => ends.push(p + 1),
        b'\\' => {
            if c.is_ascii_punctuation() && t.get(p + 1) == Some(&(c as u8)) {
                ends.push(p + 2);
            }
            if let Some(end) = json_escape_end(t, p, c) {
                ends.push(end);
            }
        }
        b'&' => {
            if let Some(end) = html_reference_end(t, p, c) {
                ends.push(end);
            }
        }
        _ => {}
    }
}

fn hex_value(t: &[u8], at: usize, digits: usize) -> Option<u32> {
    let s = t.get(at..at + digits)?;
    if !s.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
}

/// `%HH` or `%25HH` for each byte of `raw`, in a row; the `%` itself may be JSON-escaped
/// (`\u0025HH`: a form body quoted in a JSON error) or an HTML reference.
fn percent_encoded_end(t: &[u8], mut p: usize, raw: &[u8]) -> Option<usize> {
    for &b in raw {
        p = percent_sign_end(t, p)?;
        p = if hex_value(t, p, 2) == Some(0x25) && hex_value(t, p + 2, 2) == Some(b as u32) {
            p + 4
        } else if hex_value(t, p, 2) == Some(b as u32) {
            p + 2
        } else {
            return None;
        };
    }
    Some(p)
}

/// Where a `%` starting at `p` ends: raw, JSON-escaped or an HTML reference.
fn percent_sign_end(t: &[u8], p: usize) -> Option<usize> {
    match t.get(p)? {
        b'%' => Some(p + 1),
        b'\\' => json_escape_end(t, p, '%'),
        b'&' => html_reference_end(t, p, '%'),
        _ => None,
    }
}

/// `\uXXXX`, or a surrogate pair `\uD83D\uDE00` for a character outside the BMP.
fn json_escape_end(t: &[u8], p: usize, c: char) -> Option<usize> {
    // `\u007e`, or escaped again on its way through another JSON layer (`\\u007e`): an
    // error message that quotes a JSON body inside JSON doubles the backslash.
    let unit = |at: usize| {
        let mut b = at;
        while t.get(b) == Some(&b'\\') && b - at < 8 {
            b += 1;
        }
        if b == at || !matches!(t.get(b), Some(b'u' | b'U')) {
            return None;
        }
        hex_value(t, b + 1, 4).map(|v| (v, b + 5))
    };
    let mut units = [0u16; 2];
    let units = c.encode_utf16(&mut units);
    let mut at = p;
    for &u in units.iter() {
        let (value, next) = unit(at)?;
        if value != u as u32 {
            return None;
        }
        at = next;
    }
    Some(at)
}

/// `&#126;`, `&#x7e;` or a named reference for the five XML characters.
fn html_reference_end(t: &[u8], p: usize, c: char) -> Option<usize> {
    let rest = &t[p..];
    let named: &[&[u8]] = match c {
        '&' => &[b"&amp;"],
        '<' => &[b"&lt;"],
        '>' => &[b"&gt;"],
        '"' => &[b"&quot;"],
        '\'' => &[b"&apos;"],
        _ => &[],
    };
    if let Some(n) = named.iter().find(|n| rest.starts_with(n)) {
        return Some(p + n.len());
    }
    if !rest.starts_with(b"&#") {
        return None;
    }
    let (digits_at, radix) = match rest.get(2) {
        Some(b'x' | b'X') => (p + 3, 16),
        _ => (p + 2, 10),
    };
    let len = t[digits_at..]
        .iter()
        .take(8)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    if len == 0 || t.get(digits_at + len) != Some(&b';') {
        return None;
    }
    let digits = std::str::from_utf8(&t[digits_at..digits_at + len]).ok()?;
    (u32::from_str_radix(digits, radix).ok()? == c as u32).then_some(digits_at + len + 1)
}

/// Replace runs of base64url characters that hold [`TOKEN_PIECE_MIN`] characters in a row of a
/// registered token's payload or signature (a truncated or spliced echo of a signature, say).
fn redact_token_pieces(text: &str, windows: &HashSet<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_b64url) {
        let len = rest[start..]
            .find(|c: char| !is_b64url(c))
            .unwrap_or(rest.len() - start);
        let run = &rest[start..start + len];
        out.push_str(&rest[..start]);
        let holds_piece = len >= TOKEN_PIECE_MIN
            && (0..=len - TOKEN_PIECE_MIN)
                .any(|at| windows.contains(&run[at..at + TOKEN_PIECE_MIN]));
        if holds_piece {
            out.push_str(REDACTED);
        } else {
            out.push_str(run);
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
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
    // However short the payload: a cut token is still not ours to print.
    let end2 = part(end1 + 1);
    if s[end2..].starts_with('.') {
        part(end2 + 1)
    } else {
        end2
    }
}

// ---------------------------------------------------------------------------------------------
// Sanitizing text from outside for terminals and CI logs.

/// Make text from outside safe to print to a terminal or a CI log, keeping newlines and tabs:
///
/// - ESC sequences (CSI `ESC [ … final`, OSC/DCS/APC strings up to BEL, `ESC \` or the end of
///   the line, two- and three-byte escapes) and their 8-bit C1 forms are removed whole;
/// - `\r\n` becomes `\n`, a bare `\r` (which lets text overwrite the line it is on) a newline;
///   U+2028/U+2029 a newline;
/// - every other C0 and C1 control, DEL, Unicode bidi overrides and isolates (U+202A–U+202E,
///   U+2066–U+2069, marks) and invisible joiners that could hide a command's prefix are dropped;
/// - CI commands are neutralised: `##vso[` and `##[` anywhere in a line (the Azure Pipelines agent
///   acts on `##vso[` mid-line) become `## vso[` and `## [`, in any letter case; a line whose
///   first non-blank characters are `::` (a GitHub workflow command, `::stop-commands::` too)
///   starts `: :` instead.
///
/// Idempotent: sanitized text sanitizes to itself.
pub fn sanitize(text: &str) -> String {
    neutralise_commands(&strip_controls(text))
}

/// The second half of [`sanitize`]: CI commands neutralised line by line, control characters
/// left alone (for output that holds its own colour codes).
pub fn neutralise_commands(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        neutralise_line(line, &mut out);
    }
    out
}

/// Whether `text` holds a character [`sanitize`] would remove: any control other than newline and
/// tab, a bidi control or an invisible joiner.
pub fn has_unsafe_char(text: &str) -> bool {
    text.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || is_invisible_format(c))
}

/// Bidi embeddings, overrides, isolates and marks, and zero-width characters that could split a
/// CI command's prefix without showing.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The first half of [`sanitize`]: escape sequences and control characters removed, line breaks
/// normalised to `\n`, CI commands left alone.
pub fn strip_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\u{1B}' => skip_escape(&mut chars),
            '\u{9B}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9D}' | '\u{9E}' | '\u{9F}' => skip_string(&mut chars),
            c if c.is_control() || is_invisible_format(c) => {}
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After an ESC: the rest of its sequence.
fn skip_escape(chars: &mut Chars) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
        }
        Some(c) if ('\u{20}'..='\u{2F}').contains(&c) => {
            // Intermediate bytes, then one final byte: `ESC ( B`.
            while chars
                .next_if(|c| ('\u{20}'..='\u{2F}').contains(c))
                .is_some()
            {}
            chars.next_if(|c| ('\u{30}'..='\u{7E}').contains(c));
        }
        Some(c) if ('\u{30}'..='\u{7E}').contains(&c) => {
            chars.next();
        }
        _ => {}
    }
}

/// Parameter and intermediate bytes, then the final byte. Stops (keeping it) at anything else.
fn skip_csi(chars: &mut Chars) {
    while chars
        .next_if(|c| ('\u{20}'..='\u{3F}').contains(c))
        .is_some()
    {}
    chars.next_if(|c| ('\u{40}'..='\u{7E}').contains(c));
}

/// An OSC/DCS/APC/PM/SOS string: up to BEL or ST (`ESC \` or U+009C), and never past the end of
/// the line, so an unterminated one cannot swallow the rest of a report.
fn skip_string(chars: &mut Chars) {
    while let Some(&c) = chars.peek() {
        match c {
            '\n' | '\r' => return,
            '\u{07}' | '\u{9C}' => {
                chars.next();
                return;
            }
            '\u{1B}' => {
                chars.next();
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {
                chars.next();
            }
        }
    }
}

fn neutralise_line(line: &str, out: &mut String) {
    let body_at = line.len() - line.trim_start().len();
    let (indent, body) = line.split_at(body_at);
    out.push_str(indent);
    let body = match body.strip_prefix("::") {
        Some(rest) => {
            out.push_str(": :");
            rest
        }
        None => body,
    };
    let mut rest = body;
    while let Some(at) = rest.find("##") {
        let after = &rest[at + 2..];
        let command = after.starts_with('[')
            || after
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("vso["));
        if command {
            out.push_str(&rest[..at + 2]);
            out.push(' ');
            rest = after;
        } else {
            // `###vso[`: the next `#` may start the prefix.
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_echoed_base64_encoded_at_any_alignment_is_removed() {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let secret = "Wv71Q~base64-echo.Secret_9xYzAb";
        register(secret);
        for prefix in ["", "a", "ab", "client_secret="] {
            for encoded in [
                STANDARD.encode(format!("{prefix}{secret}&x=1")),
                URL_SAFE_NO_PAD.encode(format!("{prefix}{secret}")),
            ] {
                let r = redact(&format!("echo: {encoded}"));
                assert!(r.contains(REDACTED), "{prefix:?}: {r}");
            }
        }
        // A form body is URL-encoded before it is base64-encoded.
        let form = STANDARD.encode("grant_type=x&client_secret=Wv71Q%7Ebase64-echo.Secret_9xYzAb");
        assert!(redact(&form).contains(REDACTED), "{form}");
    }

    #[test]
    fn a_percent_sign_escaped_inside_json_still_decodes() {
        register("Pq19Z~json-in-form-Secret");
        let echoed = r"secret\\u003dPq19Z\\u00257Ejson\\u002din\\u002dform\\u002dSecret";
        assert_eq!(redact(echoed), format!(r"secret\\u003d{REDACTED}"));
    }

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

    #[test]
    fn a_secret_is_found_in_every_encoding_a_server_may_echo() {
        // Azure-generated secrets carry `~`, `.` and `_`; this one also a space, a slash, a
        // quote, a plus, a percent and a non-ASCII letter.
        let secret = "Zq48Q~Hk.b_ c/d\"e+f%gé";
        register(secret);
        for echoed in [
            secret.to_string(),
            // Percent-encoding of everything but unreserved, upper and lower hex, `~` kept.
            "Zq48Q~Hk.b_%20c%2Fd%22e%2Bf%25g%C3%A9".into(),
            "Zq48Q~Hk.b_%20c%2fd%22e%2bf%25g%c3%a9".into(),
            // Form encoding: `~` encoded, space as `+`.
            "Zq48Q%7EHk.b_+c%2Fd%22e%2Bf%25g%C3%A9".into(),
            "Zq48Q%7eHk.b_+c%2fd%22e%2bf%25g%c3%a9".into(),
            // Encoded twice.
            "Zq48Q%257EHk.b_%2520c%252Fd%2522e%252Bf%2525g%25C3%25A9".into(),
            // JSON: escaped quote and slash, `\u` escapes for anything.
            "Zq48Q~Hk.b_ c\\/d\\\"e+f%g\\u00e9".into(),
            "Zq48Q\\u007EHk.b_\\u0020c/d\\u0022e+f%g\\u00E9".into(),
            // XML/HTML.
            "Zq48Q&#126;Hk.b_ c/d&quot;e+f%g&#xE9;".into(),
        ] {
            let text = format!("body: client_secret={echoed}&grant_type=client_credentials");
            assert_eq!(
                redact(&text),
                format!("body: client_secret={REDACTED}&grant_type=client_credentials"),
                "{echoed}"
            );
        }
    }

    #[test]
    fn a_tokens_payload_and_signature_are_secret_on_their_own() {
        let payload = "eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzLmF6dXJlLmNvbSIsIm9pZCI6IngifQ";
        let signature = "QmFkU2lnbmF0dXJlQnl0ZXNUaGF0QXJlTG9uZ0Vub3VnaFRvQmVBU2lnbmF0dXJlMTIz";
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.{signature}");
        assert_eq!(register_token(&token), token);
        for echoed in [
            format!("{payload}.{signature}"),
            signature.to_string(),
            format!("sig={}…", &signature[..40]),
            format!("tail {}", &signature[20..]),
            // Spliced: the end of the payload glued to the middle of the signature.
            format!("{}{}", &payload[40..], &signature[10..]),
        ] {
            let r = redact(&echoed);
            assert!(!r.contains(&signature[20..52]), "{echoed} → {r}");
            assert!(r.contains(REDACTED), "{r}");
        }
        assert!(!redact(&format!("p={payload}")).contains(&payload[..40]));
        // A short run of the same alphabet is not a token piece.
        assert_eq!(redact("id QmFkU2lnbmF0"), "id QmFkU2lnbmF0");
    }

    #[test]
    fn sanitize_strips_escapes_and_controls_and_keeps_newlines_and_tabs() {
        assert_eq!(sanitize("a\x1b[31mred\x1b[0m b"), "ared b");
        assert_eq!(sanitize("t\x1b]0;title\x07x"), "tx");
        assert_eq!(sanitize("link \x1b]8;;http://e\x1b\\here"), "link here");
        assert_eq!(sanitize("open \x1b]0;never ends\nnext"), "open \nnext");
        assert_eq!(sanitize("c\u{9b}2Jd"), "cd");
        assert_eq!(sanitize("a\r\nb\rc"), "a\nb\nc");
        assert_eq!(sanitize("x\0y\x07z\x7f\u{85}w\tv"), "xyzw\tv");
        assert_eq!(sanitize("ab\u{202E}cd\u{2066}e\u{200B}f"), "abcdef");
        assert!(!has_unsafe_char(&sanitize("\x1b\x1b[\u{9b}\u{202e}\r")));
    }

    #[test]
    fn sanitize_neutralises_ci_commands() {
        assert_eq!(
            sanitize("denied ##vso[task.complete result=Succeeded;]done"),
            "denied ## vso[task.complete result=Succeeded;]done"
        );
        assert_eq!(
            sanitize("x ##VSO[task.setvariable]"),
            "x ## VSO[task.setvariable]"
        );
        assert_eq!(sanitize("##[error]fake"), "## [error]fake");
        assert_eq!(
            sanitize("ok\n  ::error::forged\n::stop-commands::tok"),
            "ok\n  : :error::forged\n: :stop-commands::tok"
        );
        // A bare CR or an invisible joiner cannot rebuild a prefix.
        assert_eq!(sanitize("a\r::warning::x"), "a\n: :warning::x");
        assert_eq!(sanitize("#\u{200B}#vso[x]"), "## vso[x]");
        // `::` inside a line (IPv6, paths) stays.
        assert_eq!(sanitize("addr ::1 a::b"), "addr ::1 a::b");
        for text in ["##vso[x", "::a", "\u{1b}]x\n##[y", "###vso[z"] {
            let once = sanitize(text);
            assert_eq!(sanitize(&once), once, "idempotent on {text:?}");
        }
    }
}
