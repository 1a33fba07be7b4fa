//! JWT claims: decode the payload (never verify, never print the token), say who the token is
//! for, and judge it against the target it is meant for. Everything here is pure.

use crate::diagnosis::{Code, Finding};
use crate::probe::{Principal, PrincipalType};
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// How far apart this machine's clock and Entra's may be before a time claim is blamed on the
/// clock rather than on the token. Entra and the services allow about five minutes.
pub const CLOCK_SKEW_SECONDS: i64 = 300;

/// The Cognitive Services resource app. v2.0 tokens carry it as `aud` instead of the URL.
pub const COGNITIVE_SERVICES_APP_ID: &str = "7d312290-28c8-473c-a0ed-8e53749b6d6d";

/// The claims entraprobe reads, plus every other claim kept as it came (for `token`/`decode`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(
        default,
        deserialize_with = "string_or_first",
        skip_serializing_if = "Option::is_none"
    )]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appidacr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xms_mirid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xms_az_rid: Option<String>,
    #[serde(
        default,
        deserialize_with = "seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub exp: Option<i64>,
    #[serde(
        default,
        deserialize_with = "seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    #[serde(
        default,
        deserialize_with = "seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// Every other claim, unchanged.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `aud` may be a string or (per RFC 7519) an array; Entra sends a string.
fn string_or_first<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Array(items) => items
            .into_iter()
            .find_map(|v| v.as_str().map(str::to_string)),
        _ => None,
    })
}

/// NumericDate: integer seconds, tolerated as a float or a numeric string.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Decode a JWT's payload. Accepts a leading `Bearer ` and surrounding whitespace. Errors name
/// what is wrong and never repeat the input.
pub fn decode(token: &str) -> Result<Claims, crate::UsageError> {
    let token = token.trim();
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token)
        .trim();
    if token.is_empty() {
        return Err(crate::UsageError::new("not a JWT: the input is empty"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(crate::UsageError::new(format!(
            "not a JWT: expected 3 dot-separated parts (header.payload.signature), found {}",
            parts.len()
        )));
    }
    let header = b64url(parts[0]).map_err(|_| {
        crate::UsageError::new("not a JWT: the header (part 1) is not valid base64url")
    })?;
    if serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header).is_err() {
        return Err(crate::UsageError::new(
            "not a JWT: the header (part 1) is not a JSON object",
        ));
    }
    let payload = b64url(parts[1]).map_err(|_| {
        crate::UsageError::new("not a JWT: the payload (part 2) is not valid base64url")
    })?;
    // serde_json's messages give line and column, never the content, so they are safe to show.
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&payload)
        .map_err(|e| {
            crate::UsageError::new(format!(
                "not a JWT: the payload (part 2) is not a JSON object ({e})"
            ))
        })?;
    serde_json::from_value(serde_json::Value::Object(object.clone()))
        .map_err(|_| wrong_type(&object))
}

/// Which claim has a type entraprobe cannot read. serde's own message quotes the value (which may
/// be a secret a claims provider put there), so it is not shown: the claim is named instead.
fn wrong_type(object: &serde_json::Map<String, serde_json::Value>) -> crate::UsageError {
    let culprit = object.iter().find(|(name, value)| {
        let single = serde_json::Map::from_iter([((*name).clone(), (*value).clone())]);
        serde_json::from_value::<Claims>(serde_json::Value::Object(single)).is_err()
    });
    crate::UsageError::new(match culprit {
        Some((name, _)) => format!(
            "the JWT payload's claim `{}` has an unexpected type",
            name.chars().take(64).collect::<String>()
        ),
        None => "the JWT payload has a claim of an unexpected type".to_string(),
    })
}

fn b64url(part: &str) -> Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('='))
}

/// Whether a claim of this name holds a secret (a token should never carry one, but a custom
/// claims provider or a test token may): `client_secret`, `password`, `refresh_token`,
/// `client_assertion`, and any name ending in `_secret`, `_key`, `_password` or `_token` (or
/// with `-` for `_`), in any letter case. `decode` and `token` print such values masked.
pub fn is_secret_claim(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('-', "_");
    ["secret", "password", "client_assertion", "key"].contains(&name.as_str())
        || ["_secret", "_key", "_password", "_token"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// `claims` with the value of every secret-looking claim ([`is_secret_claim`], at any depth of a
/// nested object) replaced by `[REDACTED]`, and the string values that were masked, so the caller
/// can register them with the redactor (a secret repeated in another claim is then masked too).
pub fn masked(claims: &Claims) -> (Claims, Vec<String>) {
    let mut out = claims.clone();
    let mut secrets = Vec::new();
    for (name, value) in out.other.iter_mut() {
        mask_value(name, value, &mut secrets);
    }
    (out, secrets)
}

fn mask_value(name: &str, value: &mut serde_json::Value, secrets: &mut Vec<String>) {
    use serde_json::Value;
    if is_secret_claim(name) && !value.is_null() {
        collect_strings(value, secrets);
        *value = Value::String(crate::redact::REDACTED.to_string());
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                mask_value(k, v, secrets);
            }
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                mask_value("", v, secrets);
            }
        }
        _ => {}
    }
}

fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Who the token says its caller is.
pub fn principal(claims: &Claims) -> Principal {
    let kind = if claims.xms_mirid.is_some() || claims.xms_az_rid.is_some() {
        PrincipalType::ManagedIdentity
    } else if claims.idtyp.as_deref() == Some("app") {
        PrincipalType::ServicePrincipal
    } else if claims.idtyp.as_deref() == Some("user")
        || claims.scp.is_some()
        || claims.upn.is_some()
        || claims.unique_name.is_some()
        || claims.preferred_username.is_some()
    {
        PrincipalType::User
    } else if claims.appid.is_some() || claims.azp.is_some() {
        // App-only tokens without `idtyp` (an optional claim) still carry no delegated scope.
        PrincipalType::ServicePrincipal
    } else {
        PrincipalType::User
    };
    let app_id = claims.appid.clone().or_else(|| claims.azp.clone());
    let display = match kind {
        PrincipalType::User => claims
            .upn
            .clone()
            .or_else(|| claims.unique_name.clone())
            .or_else(|| claims.preferred_username.clone())
            .or_else(|| claims.name.clone()),
        PrincipalType::ManagedIdentity => claims
            .xms_mirid
            .clone()
            .or_else(|| claims.xms_az_rid.clone()),
        PrincipalType::ServicePrincipal => app_id.clone(),
    }
    .or_else(|| app_id.clone())
    .or_else(|| claims.oid.clone())
    .unwrap_or_else(|| "(unknown)".to_string());
    Principal {
        object_id: claims
            .oid
            .clone()
            .or_else(|| claims.sub.clone())
            .unwrap_or_default(),
        tenant_id: claims.tid.clone().unwrap_or_default(),
        kind,
        display,
        app_id,
    }
}

fn same_audience(actual: &str, expected: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
    let (actual, expected) = (norm(actual), norm(expected));
    actual == expected
        || (actual == COGNITIVE_SERVICES_APP_ID
            && expected.starts_with("https://cognitiveservices.azure."))
}

fn when(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{seconds} (epoch seconds)"))
}

/// Judge a token against what the target needs. `expected_audience` is the resource URL (with
/// or without a trailing slash). The token's tenant against the resource's is a preflight
/// question (`arm::preflight`), since only ARM knows the resource's tenant.
pub fn judge(claims: &Claims, expected_audience: &str, now: OffsetDateTime) -> Vec<Finding> {
    let mut findings = Vec::new();
    let expected = expected_audience.trim_end_matches('/');
    match claims.aud.as_deref() {
        Some(aud) if same_audience(aud, expected) => {}
        Some(aud) => findings.push(Finding::new(
            Code::WrongAudience,
            format!("the token's audience is '{aud}', but this service needs '{expected}'"),
            format!("request the token with scope '{expected}/.default'"),
        )),
        None => findings.push(Finding::new(
            Code::WrongAudience,
            format!("the token has no 'aud' claim; this service needs '{expected}'"),
            format!("request the token with scope '{expected}/.default'"),
        )),
    }
    let now_s = now.unix_timestamp();
    if let Some(exp) = claims.exp
        && exp <= now_s
    {
        // Claims are attacker-shaped input: saturate, never overflow.
        let ago = now_s.saturating_sub(exp);
        let clock = if ago <= CLOCK_SKEW_SECONDS {
            " (by less than the 5-minute clock skew allowance: check this machine's clock too)"
        } else {
            ""
        };
        findings.push(Finding::new(
                Code::TokenExpired,
                format!(
                    "the token expired at {} ({ago} s ago){clock}",
                    when(exp)
                ),
                "request a new token; if it is cached (az, azd, a file), refresh it (for example `az account get-access-token` after `az login`)",
            ));
    }
    if let Some(nbf) = claims.nbf
        && nbf > now_s.saturating_add(CLOCK_SKEW_SECONDS)
    {
        findings.push(Finding::new(
            Code::TokenExpired,
            format!(
                "the token is not valid before {}, {} s from now by this machine's clock",
                when(nbf),
                nbf.saturating_sub(now_s)
            ),
            "this machine's clock is behind: synchronise it (NTP) and request a new token",
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An unsigned token built at test time from a JSON payload.
    fn token(payload: &serde_json::Value) -> String {
        let e = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.c2ln",
            e(&json!({"alg": "RS256", "typ": "JWT"})),
            e(payload)
        )
    }

    const TID: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";

    fn sp_payload() -> serde_json::Value {
        json!({
            "aud": "https://cognitiveservices.azure.com", "iss": format!("https://sts.windows.net/{TID}/"),
            "iat": 1718438400, "nbf": 1718438400, "exp": 1718442300,
            "appid": "00001111-aaaa-2222-bbbb-3333cccc4444", "appidacr": "1", "idtyp": "app",
            "oid": "11112222-bbbb-3333-cccc-4444dddd5555", "sub": "11112222-bbbb-3333-cccc-4444dddd5555",
            "tid": TID, "ver": "1.0", "uti": "Dq1XbOvGQkSgK1y4p0kPAA"
        })
    }

    #[test]
    fn decodes_a_service_principal_token_and_keeps_unknown_claims() {
        let c = decode(&token(&sp_payload())).unwrap();
        assert_eq!(
            c.aud.as_deref(),
            Some("https://cognitiveservices.azure.com")
        );
        assert_eq!(c.exp, Some(1718442300));
        assert_eq!(c.other.get("uti"), Some(&json!("Dq1XbOvGQkSgK1y4p0kPAA")));
        let p = principal(&c);
        assert_eq!(p.kind, PrincipalType::ServicePrincipal);
        assert_eq!(p.object_id, "11112222-bbbb-3333-cccc-4444dddd5555");
        assert_eq!(p.tenant_id, TID);
        assert_eq!(p.display, "00001111-aaaa-2222-bbbb-3333cccc4444");
        assert_eq!(
            p.app_id.as_deref(),
            Some("00001111-aaaa-2222-bbbb-3333cccc4444")
        );
    }

    #[test]
    fn user_and_managed_identity_principals_are_recognised() {
        let user = decode(&token(&json!({
            "aud": "https://cognitiveservices.azure.com", "tid": TID, "oid": "u-oid",
            "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "appidacr": "0",
            "scp": "user_impersonation", "upn": "alice@contoso.com", "name": "Alice"
        })))
        .unwrap();
        let p = principal(&user);
        assert_eq!(p.kind, PrincipalType::User);
        assert_eq!(p.display, "alice@contoso.com");

        let mirid = "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app";
        let mi = decode(&token(&json!({
            "aud": "https://cognitiveservices.azure.com", "tid": TID, "oid": "mi-oid",
            "appid": "mi-client", "appidacr": "2", "idtyp": "app", "xms_mirid": mirid
        })))
        .unwrap();
        let p = principal(&mi);
        assert_eq!(p.kind, PrincipalType::ManagedIdentity);
        assert_eq!(p.display, mirid);
        assert_eq!(p.app_id.as_deref(), Some("mi-client"));
    }

    #[test]
    fn malformed_tokens_are_named_and_never_echoed() {
        let secretish = "abcdefghijklmnop";
        let cases = [
            ("".to_string(), "empty"),
            (secretish.to_string(), "found 1"),
            (format!("{secretish}.{secretish}"), "found 2"),
            (
                format!("eyJhbGciOiJSUzI1NiJ9.{secretish}!!.sig"),
                "payload (part 2) is not valid base64url",
            ),
            (
                "!!!.eyJhIjoxfQ.sig".to_string(),
                "header (part 1) is not valid base64url",
            ),
            (
                format!(
                    "eyJhbGciOiJSUzI1NiJ9.{}.sig",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("not json")
                ),
                "not a JSON object",
            ),
            (
                format!(
                    "eyJhbGciOiJSUzI1NiJ9.{}.sig",
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("[1,2]")
                ),
                "not a JSON object",
            ),
        ];
        for (input, expected) in cases {
            let err = decode(&input).unwrap_err().0;
            assert!(err.contains(expected), "{input:?} → {err}");
            assert!(!err.contains(secretish), "echoed input: {err}");
        }
    }

    #[test]
    fn bearer_prefix_and_array_audience_are_tolerated() {
        let t = token(&json!({"aud": ["https://search.azure.com", "x"], "exp": "1718442300"}));
        let c = decode(&format!("  Bearer {t}\n")).unwrap();
        assert_eq!(c.aud.as_deref(), Some("https://search.azure.com"));
        assert_eq!(c.exp, Some(1718442300));
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    #[test]
    fn a_fresh_token_for_the_right_audience_and_tenant_passes() {
        let c = decode(&token(&sp_payload())).unwrap();
        assert!(judge(&c, "https://cognitiveservices.azure.com/", at(1718440000)).is_empty());
        // A token requested with a trailing-slash scope carries a trailing-slash audience.
        let mut slash = c.clone();
        slash.aud = Some("https://cognitiveservices.azure.com/".into());
        assert!(
            judge(
                &slash,
                "https://cognitiveservices.azure.com",
                at(1718440000)
            )
            .is_empty()
        );
        // v2.0 tokens name the resource app instead of its URL.
        let mut v2 = c;
        v2.aud = Some(COGNITIVE_SERVICES_APP_ID.into());
        assert!(judge(&v2, "https://cognitiveservices.azure.com", at(1718440000)).is_empty());
    }

    #[test]
    fn wrong_audience_expiry_and_clock_are_each_found() {
        let mut c = decode(&token(&sp_payload())).unwrap();
        c.aud = Some("https://management.azure.com/".into());
        let f = judge(&c, "https://cognitiveservices.azure.com", at(1718440000));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, Code::WrongAudience);
        assert!(
            f[0].message.contains("https://management.azure.com/"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].remedy
                .contains("https://cognitiveservices.azure.com/.default")
        );

        let c = decode(&token(&sp_payload())).unwrap();
        let f = judge(
            &c,
            "https://cognitiveservices.azure.com",
            at(1718442300 + 3600),
        );
        assert_eq!(
            f.iter().map(|f| f.code).collect::<Vec<_>>(),
            vec![Code::TokenExpired]
        );
        assert!(
            f[0].message.contains("2024-06-15T09:05:00Z"),
            "{}",
            f[0].message
        );
        let f = judge(
            &c,
            "https://cognitiveservices.azure.com",
            at(1718442300 + 10),
        );
        assert!(f[0].message.contains("clock"), "{}", f[0].message);

        let f = judge(
            &c,
            "https://cognitiveservices.azure.com",
            at(1718438400 - 3600),
        );
        assert_eq!(f[0].code, Code::TokenExpired);
        assert!(f[0].remedy.contains("clock"));
        // Within the skew allowance a not-yet-valid token is not blamed.
        assert!(
            judge(
                &c,
                "https://cognitiveservices.azure.com",
                at(1718438400 - 60)
            )
            .is_empty()
        );
    }

    #[test]
    fn missing_audience_is_wrong_audience() {
        let c = decode(&token(&json!({"tid": TID}))).unwrap();
        let f = judge(&c, "https://search.azure.com", at(0));
        assert_eq!(f[0].code, Code::WrongAudience);
    }

    #[test]
    fn secret_looking_claims_are_masked_at_any_depth() {
        let c = decode(&token(&json!({
            "oid": "o",
            "client_secret": "Zq48Q~Hk",
            "Password": "hunter22",
            "cnf": {"Signing_Key": "k-material", "kid": "public"},
            "refresh-token": ["r1", "r2"],
            "keys_used": "not a secret",
        })))
        .unwrap();
        let (m, secrets) = masked(&c);
        let text = serde_json::to_string(&m).unwrap();
        for s in ["Zq48Q~Hk", "hunter22", "k-material", "r1", "r2"] {
            assert!(!text.contains(s), "{s} in {text}");
            assert!(secrets.iter().any(|x| x == s));
        }
        assert!(text.contains("public") && text.contains("not a secret"));
        assert_eq!(m.oid.as_deref(), Some("o"));
        assert!(is_secret_claim("API-KEY") && !is_secret_claim("keys_used"));
    }

    #[test]
    fn extreme_time_claims_do_not_overflow() {
        let now = OffsetDateTime::now_utc();
        for (exp, nbf) in [(i64::MIN, i64::MAX), (i64::MAX, i64::MIN), (0, i64::MAX)] {
            let c = decode(&token(
                &json!({"aud": "https://cognitiveservices.azure.com", "exp": exp, "nbf": nbf}),
            ))
            .expect("decodes");
            let _ = judge(&c, "https://cognitiveservices.azure.com", now);
        }
    }
}
