//! `azure-powershell`: the token Azure PowerShell (`Connect-AzAccount`) holds, got the way the
//! Azure SDKs' AzurePowerShellCredential gets it. azure_identity 1.0 has no such credential, so
//! the tool runs it itself, through the same bounded runner as `az`/`azd` (process group, output
//! caps, the tool's deadline).
//!
//! What it runs is azure-identity (Python)'s: `pwsh -NoProfile -NonInteractive -EncodedCommand
//! <base64 of the UTF-16LE script>`, a script that imports Az.Accounts >= 2.2.0 quietly (writing
//! a marker when it is missing), calls `Get-AzAccessToken -ResourceUrl <scope without /.default>`
//! and writes one line `azsdk%<token>%<expiry, epoch seconds>`. An encoded command needs no
//! quoting, so the scope cannot break out of the script; it is checked anyway, as the SDK does.
//! The .NET SDK sends the same script with `ConvertTo-Xml` output; the Python form is one line to
//! parse. (`pwsh` only: the Windows PowerShell fallback of the SDKs applies to Windows.)

use super::errors::{FailureContext, condensed};
use super::process::{OUTPUT_LIMIT, SnapshotExecutor, find_on_path};
use super::{AccessToken, Acquisition, CredentialContext, SourceId};
use crate::diagnosis::{Code, Finding};
use azure_identity::Executor;
use base64::Engine;
use std::ffi::OsStr;

const SOURCE: SourceId = SourceId::AzurePowerShell;
/// The script's marker for "Az.Accounts is not installed" (azure-identity Python's).
const NO_MODULE: &str = "NO_AZ_ACCOUNT_MODULE";
/// What Az.Accounts says when nobody ran Connect-AzAccount (and the texts the .NET SDK also
/// takes to mean it).
const NOT_LOGGED_IN: [&str; 3] = [
    "Run Connect-AzAccount to login",
    "No accounts were found in the cache",
    "cannot retrieve access token",
];
/// PowerShell's refusal to run scripts under a restrictive execution policy.
const EXECUTION_POLICY: &str = "AuthorizationManager check failed";
const INSTALL_HINT: &str = "install PowerShell 7 (https://aka.ms/powershell) and the Az.Accounts module (`Install-Module Az.Accounts -Scope CurrentUser`), then run `Connect-AzAccount`, or leave this source out with --credential";

pub(super) async fn acquire(scope: &str, ctx: &CredentialContext) -> Acquisition {
    let Some(pwsh) = find_on_path(&ctx.env, "pwsh") else {
        return not_installed("pwsh (PowerShell 7) was not found on PATH");
    };
    let resource = scope.strip_suffix("/.default").unwrap_or(scope);
    if !is_valid_resource(resource) {
        return Acquisition::failed(Finding::new(
            Code::TokenRequestFailed,
            format!("{SOURCE}: the scope `{scope}` has characters a resource URL cannot have"),
            format!("give a scope such as {}", ctx.cloud.cognitive_scope()),
        ));
    }
    let encoded = encoded_command(&script(resource));
    let args = [
        "-NoProfile",
        "-NonInteractive",
        "-EncodedCommand",
        encoded.as_str(),
    ];
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let executor = SnapshotExecutor {
        env: ctx.env.clone(),
    };
    let output =
        match tokio::time::timeout(ctx.timeout, executor.run(pwsh.as_os_str(), &args)).await {
            Err(_) => return Acquisition::failed(super::errors::timeout(SOURCE, ctx.timeout)),
            Ok(Err(e)) => {
                return Acquisition::failed(Finding::new(
                    Code::TokenRequestFailed,
                    format!("{SOURCE}: cannot run {}: {e}", pwsh.display()),
                    INSTALL_HINT,
                ));
            }
            Ok(Ok(output)) => output,
        };
    interpret(
        output.status.code(),
        &output.stdout,
        &output.stderr,
        &FailureContext::new(SOURCE, ctx.cloud),
    )
}

/// The script azure-identity (Python) runs, for `resource` (already checked by
/// [`is_valid_resource`]: no quote can end the string it sits in). No tenant is passed: like
/// the other CLI sources, the signed-in account's own tenant answers.
fn script(resource: &str) -> String {
    format!(
        "$ErrorActionPreference = 'Stop'
[version]$minimumVersion = '2.2.0'

$m = Import-Module Az.Accounts -MinimumVersion $minimumVersion -PassThru -ErrorAction SilentlyContinue

if (! $m) {{
    Write-Output {NO_MODULE}
    exit
}}

$params = @{{ 'ResourceUrl' = '{resource}'; 'WarningAction' = 'Ignore' }}

$tenantId = ''
if ($tenantId.Length -gt 0) {{
    $params['TenantId'] = $tenantId
}}

if ($m.Version -ge [version]'2.17.0' -and $m.Version -lt [version]'5.0.0') {{
    $params['AsSecureString'] = $true
}}

$token = Get-AzAccessToken @params
$tokenValue = $token.Token
if ($tokenValue -is [System.Security.SecureString]) {{
    if ($PSVersionTable.PSVersion.Major -lt 7) {{
        $ssPtr = [System.Runtime.InteropServices.Marshal]::SecureStringToBSTR($tokenValue)
        try {{
            $tokenValue = [System.Runtime.InteropServices.Marshal]::PtrToStringBSTR($ssPtr)
        }}
        finally {{
            [System.Runtime.InteropServices.Marshal]::ZeroFreeBSTR($ssPtr)
        }}
    }}
    else {{
        $tokenValue = $tokenValue | ConvertFrom-SecureString -AsPlainText
    }}
}}
Write-Output \"`nazsdk%$($tokenValue)%$($token.ExpiresOn.ToUnixTimeSeconds())`n\"
"
    )
}

/// `-EncodedCommand` takes base64 of the UTF-16LE text.
fn encoded_command(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The characters the SDKs allow in a scope (azure-identity's `validate_scope`).
fn is_valid_resource(resource: &str) -> bool {
    !resource.is_empty()
        && resource.len() <= 512
        && resource
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
}

/// Turn what pwsh did into an [`Acquisition`], the way the SDKs read it. stdout may hold a token
/// and is never quoted in a finding; stderr is (it is where PowerShell writes errors).
fn interpret(code: Option<i32>, stdout: &[u8], stderr: &[u8], fc: &FailureContext) -> Acquisition {
    let stdout = String::from_utf8_lossy(stdout);
    let stderr = String::from_utf8_lossy(stderr);
    match code {
        Some(0) => {
            if stdout.contains(NO_MODULE) {
                return not_installed("the Az.Accounts module (>= 2.2.0) is not installed");
            }
            parse_token(&stdout).unwrap_or_else(|| {
                Acquisition::failed(Finding::new(
                    Code::TokenRequestFailed,
                    format!(
                        "{SOURCE}: Get-AzAccessToken gave no token in the expected form ({} bytes of other output, not shown: it may hold a secret)",
                        stdout.len().min(OUTPUT_LIMIT)
                    ),
                    format!(
                        "run `Get-AzAccessToken -ResourceUrl {}` in pwsh to see what it prints; update Az.Accounts (`Update-Module Az.Accounts`)",
                        fc.cloud.cognitive_audience()
                    ),
                ))
            })
        }
        Some(127) => not_installed("pwsh could not be started (exit 127)"),
        _ if NOT_LOGGED_IN.iter().any(|m| stderr.contains(m)) => Acquisition::Skipped {
            reason: "Azure PowerShell is not logged in".into(),
            findings: vec![Finding::new(
                Code::CliNotLoggedIn,
                format!("{SOURCE}: {}", condensed(&stderr)),
                "run `Connect-AzAccount` in pwsh (add `-UseDeviceAuthentication` on a machine without a browser, `-Tenant <tenant id>` for the resource's tenant)",
            )],
        },
        _ if stderr.contains(EXECUTION_POLICY) => Acquisition::failed(Finding::new(
            Code::TokenRequestFailed,
            format!("{SOURCE}: PowerShell's execution policy prevented running Azure PowerShell"),
            "allow scripts for this user: `Set-ExecutionPolicy -Scope CurrentUser RemoteSigned`",
        )),
        _ if super::errors::aadsts_code(&stderr).is_some() => super::errors::classify(&stderr, fc),
        _ => Acquisition::failed(Finding::new(
            Code::TokenRequestFailed,
            format!(
                "{SOURCE}: pwsh exited with {}: {}",
                code.map_or("a signal".to_string(), |c| c.to_string()),
                condensed(&stderr)
            ),
            format!(
                "run `Get-AzAccessToken -ResourceUrl {}` in pwsh in the same environment to see the whole error",
                fc.cloud.cognitive_audience()
            ),
        )),
    }
}

/// The `azsdk%TOKEN%EXPIRES` line; the token is registered with the redactor at once.
fn parse_token(stdout: &str) -> Option<Acquisition> {
    let line = stdout
        .split_whitespace()
        .find(|w| w.starts_with("azsdk%"))?;
    let mut parts = line.splitn(3, '%').skip(1);
    let token = parts.next().filter(|t| !t.is_empty())?;
    crate::redact::register_token(token);
    let expires_on = parts
        .next()
        .and_then(|e| e.parse::<i64>().ok())
        .and_then(|e| time::OffsetDateTime::from_unix_timestamp(e).ok())?;
    Some(Acquisition::Acquired {
        token: AccessToken::new(token),
        expires_on,
    })
}

fn not_installed(what: &str) -> Acquisition {
    Acquisition::Skipped {
        reason: format!("Azure PowerShell is not installed: {what}"),
        findings: vec![Finding::new(
            Code::CliNotInstalled,
            format!("{SOURCE}: {what}"),
            INSTALL_HINT,
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fc() -> FailureContext<'static> {
        FailureContext::new(SOURCE, crate::cloud::Cloud::Public.profile())
    }

    #[test]
    fn the_script_round_trips_through_the_encoding() {
        let encoded = encoded_command(&script("https://cognitiveservices.azure.com"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let text = String::from_utf16(&units).unwrap();
        assert!(text.contains("'ResourceUrl' = 'https://cognitiveservices.azure.com'"));
        assert!(text.contains("Write-Output NO_AZ_ACCOUNT_MODULE"));
        assert!(!is_valid_resource("https://x' ; Remove-Item *"));
    }

    #[test]
    fn outputs_are_read_as_the_sdks_read_them() {
        let ok = interpret(Some(0), b"\nazsdk%eyJ0.eyJ1.sig%1900000000\n\n", b"", &fc());
        assert!(matches!(ok, Acquisition::Acquired { .. }), "{ok:?}");
        let module = interpret(Some(0), b"NO_AZ_ACCOUNT_MODULE\n", b"", &fc());
        assert_eq!(module.findings()[0].code, Code::CliNotInstalled);
        let login = interpret(
            Some(1),
            b"",
            b"Get-AzAccessToken: Run Connect-AzAccount to login.\n",
            &fc(),
        );
        assert!(matches!(login, Acquisition::Skipped { .. }));
        assert_eq!(login.findings()[0].code, Code::CliNotLoggedIn);
        // Unexpected stdout is never quoted: it may be a token in another shape.
        let odd = interpret(Some(0), b"Token : secret-looking-value\n", b"", &fc());
        assert!(!odd.findings()[0].message.contains("secret-looking-value"));
    }
}
