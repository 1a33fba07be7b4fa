//! No token, secret, assertion or signature in any output: every format, stdout, stderr and
//! files, over scenarios with secrets, certificates and federated tokens.

mod common;
use common::Harness;

const SCENARIO: &str = r#"
[[identity]]
name = "env-sp"
type = "service_principal"
secret = "redaction-secret-value-1"
certificate = true

[[identity]]
name = "ado"
type = "service_principal"
federated = [{ issuer = "https://vstoken.dev.azure.com/6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f", subject = "sc://contoso/ai/wif" }]

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[[identity]]
name = "web-mi"
type = "managed_identity"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "red-oai"

[[account]]
name = "speech"
kind = "SpeechServices"
custom_subdomain = "red-speech"

[[account]]
name = "lang"
kind = "TextAnalytics"

[[search_service]]
name = "srch"
auth = "apiKeyOnly"

[[role_assignment]]
principal = "alice"
role = "Cognitive Services User"
scope = "subscription"

[[role_assignment]]
principal = "web-mi"
role = "Contributor"
scope = "subscription"

[machine]
environment = "env-sp"
environment_auth = "certificate"
app_service_identity = "web-mi"
azure_cli_user = "alice"
azure_pipelines_identity = "ado"
"#;

/// Does `text` hold anything secret? Returns what it found.
fn leaks(text: &str, secrets: &[String]) -> Option<String> {
    for s in secrets {
        if !s.is_empty() && text.contains(s.as_str()) {
            return Some(format!("secret value `{}…`", &s[..s.len().min(6)]));
        }
    }
    if text.contains("PRIVATE KEY") {
        return Some("a private key".into());
    }
    // Any JWT-shaped string: header.payload(.signature).
    let bytes: Vec<char> = text.chars().collect();
    let text_s: String = bytes.iter().collect();
    for (i, _) in text_s.match_indices("eyJ") {
        let rest = &text_s[i..];
        let part_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        if part_len >= 10 && rest[part_len..].starts_with(".eyJ") {
            return Some(format!("a JWT at byte {i}"));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn no_output_format_carries_a_secret() {
    let h = Harness::start(SCENARIO).await;
    let env = h.emulator.env();
    let mut secrets: Vec<String> = vec!["redaction-secret-value-1".into()];
    for (k, v) in &env {
        if [
            "IDENTITY_HEADER",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "SYSTEM_ACCESSTOKEN",
            "AZURE_CLIENT_SECRET",
        ]
        .contains(&k.as_str())
        {
            secrets.push(v.clone());
        }
        if k == "AZURE_FEDERATED_TOKEN_FILE" {
            secrets.push(
                std::fs::read_to_string(v)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for format in ["table", "json", "junit", "markdown", "github", "azdo"] {
        let file = dir.path().join(format!("out.{format}"));
        for to_file in [false, true] {
            let mut args = vec![
                "run".to_string(),
                "--timeout".into(),
                "10s".into(),
                "--output".into(),
            ];
            args.push(if to_file {
                format!("{format}={}", file.display())
            } else {
                format.to_string()
            });
            args.extend(h.service_flags());
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = h.run(&refs).await;
            assert!(
                out.code == 1 || out.code == 3,
                "{format}: exit {} {}",
                out.code,
                out.stderr
            );
            for (what, text) in [
                ("stdout", out.stdout.clone()),
                ("stderr", out.stderr.clone()),
            ] {
                assert!(
                    leaks(&text, &secrets).is_none(),
                    "{format} {what}: {:?}",
                    leaks(&text, &secrets)
                );
            }
            if to_file {
                let text = std::fs::read_to_string(&file).unwrap();
                assert!(!text.is_empty());
                assert!(
                    leaks(&text, &secrets).is_none(),
                    "{format} file: {:?}",
                    leaks(&text, &secrets)
                );
            }
            checked += 1;
        }
    }
    for source in [
        "environment",
        "azure-cli",
        "managed-identity",
        "azure-pipelines",
    ] {
        for json in [false, true] {
            let mut args = vec!["token", "--credential", source];
            if json {
                args.push("--json");
            }
            let out = h.run(&args).await;
            assert_eq!(out.code, 0, "token {source}: {}", out.stderr);
            assert!(
                out.stdout.contains("oid") || out.stdout.contains("object id"),
                "{}",
                out.stdout
            );
            for text in [&out.stdout, &out.stderr] {
                assert!(
                    leaks(text, &secrets).is_none(),
                    "token {source}: {:?}",
                    leaks(text, &secrets)
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_token_raw_prints_a_token_and_it_warns() {
    let h = Harness::start(SCENARIO).await;
    let out = h
        .run(&["token", "--credential", "azure-cli", "--raw"])
        .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.trim().starts_with("eyJ"),
        "--raw prints the token"
    );
    assert!(
        out.stderr.contains("secret"),
        "and says it is a secret: {}",
        out.stderr
    );
    let decoded = common::entraprobe(&["decode", out.stdout.trim()]).await;
    assert_eq!(decoded.code, 0, "{}", decoded.stderr);
    assert!(decoded.stdout.contains("alice@contoso.com"));
    assert!(
        leaks(&decoded.stdout, &[]).is_none(),
        "decode never prints the token back"
    );
}

/// base64url without padding, for hand-built tokens.
fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// A token from a source (here a stand-in `az` on the snapshot's PATH, the way the Azure CLI
/// source runs it) is registered on acquisition: its payload and signature are redacted on their
/// own, as a server that echoes `payload.signature`, the signature alone or a cut piece of it
/// would print them.
#[cfg(unix)]
#[tokio::test]
async fn every_acquired_token_is_registered_piece_by_piece() {
    use entraprobe::credential::{Acquisition, CredentialContext, SourceId, acquire};
    use std::os::unix::fs::PermissionsExt;
    let payload = b64(
        r#"{"aud":"https://cognitiveservices.azure.com","oid":"acquired-token-test","upn":"alice@contoso.com"}"#,
    );
    let signature = b64("signature bytes of a token acquired from az, never to be printed alone");
    let jwt = format!(
        "{}.{payload}.{signature}",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#)
    );
    let dir = tempfile::tempdir().unwrap();
    let az = dir.path().join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\necho '{{\"accessToken\":\"{jwt}\",\"expiresOn\":\"2030-01-01 00:00:00.000000\",\"expires_on\":1893456000,\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Before: nothing registered, and neither piece is token-shaped on its own.
    assert!(entraprobe::redact::redact(&signature).contains(&signature[..40]));
    let ctx = CredentialContext {
        http: entraprobe::http::build_client(&Default::default()).unwrap(),
        cloud: entraprobe::cloud::Cloud::Public.profile(),
        timeout: std::time::Duration::from_secs(20),
        env: [(
            "PATH".to_string(),
            format!("{}:/usr/bin:/bin", dir.path().display()),
        )]
        .into(),
        user_assigned: None,
        imds_probe: Default::default(),
    };
    match acquire(
        SourceId::AzureCli,
        "https://cognitiveservices.azure.com/.default",
        &ctx,
    )
    .await
    {
        Acquisition::Acquired { token, .. } => assert_eq!(token.secret(), jwt),
        other => panic!("{other:?}"),
    }
    for echoed in [
        format!("{payload}.{signature}"),
        format!("signature={signature}"),
        format!("payload: \"{payload}\""),
        format!("cut: {}…", &signature[..40]),
    ] {
        let shown = entraprobe::redact::redact(&echoed);
        assert!(
            !shown.contains(&signature[8..40]) && !shown.contains(&payload[8..40]),
            "{echoed} → {shown}"
        );
    }
}

/// `decode` and `token` print claims: a secret-looking claim's value is masked in both formats,
/// and claim text cannot carry terminal escapes or CI commands out.
#[tokio::test]
async fn decode_masks_secret_claims_and_neutralises_hostile_ones() {
    let claims = serde_json::json!({
        "aud": "https://cognitiveservices.azure.com",
        "oid": "00000000-0000-0000-0000-000000000001",
        "tid": "t",
        "exp": 4_000_000_000u64,
        "upn": "mallory\u{1b}]0;pwned\u{7}@contoso.com\r::error::forged ##vso[task.complete result=Succeeded;]",
        "client_secret": "Zq48Q~Hk9-claimed-secret",
        "Password": "claimed-password-1",
        "refresh_token": "claimed-refresh-token",
        "cnf": {"signing_key": "claimed-signing-key"},
        "name": "echo of Zq48Q~Hk9-claimed-secret \u{202e}txt.exe",
    });
    let jwt = format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"none"}"#),
        b64(&claims.to_string())
    );
    for json in [false, true] {
        let mut args = vec!["decode", jwt.as_str()];
        if json {
            args.push("--json");
        }
        let out = common::entraprobe(&args).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = format!("{}{}", out.stdout, out.stderr);
        for secret in [
            "Zq48Q~Hk9-claimed-secret",
            "claimed-password-1",
            "claimed-refresh-token",
            "claimed-signing-key",
        ] {
            assert!(!text.contains(secret), "json={json}: {secret} in\n{text}");
        }
        assert!(text.contains("[REDACTED]"), "{text}");
        assert!(
            !text
                .chars()
                .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{202e}'),
            "json={json}: a control character in\n{text:?}"
        );
        assert!(!text.contains("##vso["), "{text}");
        assert!(
            text.lines().all(|l| !l.trim_start().starts_with("::")),
            "{text}"
        );
        assert!(
            text.contains("mallory") && text.contains("forged"),
            "{text}"
        );
    }
}
