//! The fake `pwsh`: PowerShell 7 with the Az.Accounts module, as far as a credential needs it.
//!
//! The Azure SDKs' AzurePowerShellCredential runs `pwsh -NoProfile -NonInteractive
//! -EncodedCommand <base64 of the UTF-16LE script>`; the script imports Az.Accounts (printing a
//! marker when the module is missing), calls `Get-AzAccessToken -ResourceUrl …` and prints the
//! token in a shape its caller parses. The fake reads that script the way pwsh would run it for
//! the parts that matter here: which resource and tenant it asks for, whether it guards the
//! module import, and how it prints the answer (azure-identity Python's `azsdk%TOKEN%EXPIRES`
//! line, .NET's `ConvertTo-Xml`, or the cmdlet's own list when the script just calls it).
//!
//! The error texts are Az.Accounts' own: `Run Connect-AzAccount to login.` when nobody is signed
//! in, and PowerShell's "is not recognized" when the module is not there and nothing guards it.
//! How pwsh frames an error on stderr (the concise `Get-AzAccessToken: …` view of PowerShell 7.2+)
//! is as observed, not documented [I]; the SDKs match the message text only.

use super::{CliOutput, logged_in_user, token_tenant};
use crate::emulator::World;
use crate::emulator::entra;
use base64::Engine;

/// Azure PowerShell's public client id (the application `Connect-AzAccount` signs in to).
pub const AZURE_POWERSHELL_CLIENT_ID: &str = "1950a258-227b-4e31-a9cf-717495945fc2";
/// What Az.Accounts says when no account is signed in.
pub const NOT_LOGGED_IN: &str = "Get-AzAccessToken: Run Connect-AzAccount to login.\n";
/// What PowerShell says about a cmdlet whose module is not installed.
pub const NOT_RECOGNIZED: &str = "Get-AzAccessToken: The term 'Get-AzAccessToken' is not recognized as a name of a cmdlet, function, script file, or executable program.\nCheck the spelling of the name, or if a path was included, verify that the path is correct and try again.\n";

pub(super) fn pwsh(world: &World, argv: &[String]) -> CliOutput {
    let script = match command_text(argv) {
        Ok(script) => script,
        Err(output) => return output,
    };
    if !script.contains("Get-AzAccessToken") {
        return CliOutput::fail(
            1,
            "(entraprobe emulator: its fake pwsh runs scripts that call Get-AzAccessToken)\n",
        );
    }
    let machine = &world.scenario.machine;
    if !machine.powershell_az_accounts() {
        // `Import-Module … -ErrorAction SilentlyContinue` yields nothing; a guarded script
        // prints its marker and exits 0, an unguarded one dies on the unknown cmdlet.
        return match guarded_marker(&script) {
            Some(marker) => CliOutput::stdout(format!("{marker}\n")),
            None => CliOutput::fail(1, NOT_RECOGNIZED),
        };
    }
    let Some(user) = logged_in_user(world, machine.powershell_user()) else {
        return CliOutput::fail(1, NOT_LOGGED_IN);
    };
    // Without `-ResourceUrl`/`-ResourceTypeName`, `Get-AzAccessToken` asks for the ARM resource
    // of the environment the account signed in to.
    let resource = parameter(&script, "ResourceUrl")
        .unwrap_or_else(|| world.scenario.tenant.cloud().default_cli_resource().into());
    let tenant = match token_tenant(world, user, tenant_parameter(&script).as_deref()) {
        Ok(t) => t,
        Err(e) => return CliOutput::fail(1, format!("Get-AzAccessToken: {e}\n")),
    };
    let audience = resource.trim_end_matches('/').to_string();
    if !entra::resource_in_tenant(world, &audience) {
        return CliOutput::fail(
            1,
            format!(
                "Get-AzAccessToken: AADSTS500011: The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.\n"
            ),
        );
    }
    let issued =
        entra::issue_user_token(world, user, &tenant, &audience, AZURE_POWERSHELL_CLIENT_ID);
    let upn = user
        .upn
        .clone()
        .unwrap_or_else(|| format!("{}@contoso.com", user.name()));
    CliOutput::stdout(render(
        &script,
        &issued.token,
        issued.expires_on,
        &tenant,
        &upn,
    ))
}

/// The script pwsh was given: `-EncodedCommand B64` (UTF-16LE) or `-Command TEXT…`. Parameter
/// names are case-insensitive and may be shortened, as pwsh allows.
fn command_text(argv: &[String]) -> Result<String, CliOutput> {
    let mut i = 0;
    while i < argv.len() {
        let name = argv[i].to_ascii_lowercase();
        let rest = || argv.get(i + 1..).unwrap_or_default();
        if matches!(name.as_str(), "-encodedcommand" | "-e" | "-ec" | "-enc") {
            let value = rest().first().cloned().unwrap_or_default();
            return decode_utf16le_base64(&value).ok_or_else(|| {
                CliOutput::fail(
                    64,
                    "Cannot process the command because the value specified with -EncodedCommand is not properly encoded. The value must be Base64 encoded.\n",
                )
            });
        }
        if matches!(name.as_str(), "-command" | "-c") {
            return Ok(rest().join(" "));
        }
        i += 1;
    }
    Err(CliOutput::fail(
        1,
        "(entraprobe emulator: its fake pwsh needs -Command or -EncodedCommand; it has no interactive prompt)\n",
    ))
}

fn decode_utf16le_base64(value: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// The value given to `name`, in either form a script passes it: `-Name value` / `-Name 'value'`
/// on the cmdlet, or `'Name' = 'value'` in a splatted hashtable.
fn parameter(script: &str, name: &str) -> Option<String> {
    let lower = script.to_ascii_lowercase();
    let at = lower.find(&name.to_ascii_lowercase())? + name.len();
    let after = script[at..].trim_start_matches(['\'', '"', ' ', '=', ':']);
    let value: String = after
        .chars()
        .take_while(|c| !matches!(c, '\'' | '"' | ';' | '}' | ')') && !c.is_whitespace())
        .collect();
    (!value.is_empty() && !value.starts_with('$')).then_some(value)
}

/// The tenant the script asks for: azure-identity Python sets `$tenantId = '…'` (empty for
/// none); .NET passes `-TenantId …` on the cmdlet.
fn tenant_parameter(script: &str) -> Option<String> {
    let lower = script.to_ascii_lowercase();
    if let Some(at) = lower.find("$tenantid = '") {
        let start = at + "$tenantid = '".len();
        let value: String = script[start..].chars().take_while(|c| *c != '\'').collect();
        return (!value.is_empty()).then_some(value);
    }
    parameter(script, "-TenantId")
}

/// A script that imports Az.Accounts quietly and, when that yields nothing (`if (! $m)`), writes
/// a marker and exits: the marker it writes.
fn guarded_marker(script: &str) -> Option<String> {
    let lower = script.to_ascii_lowercase();
    if !lower.contains("import-module az.accounts") || !lower.contains("silentlycontinue") {
        return None;
    }
    let guard = lower.find("if (! $m)").or_else(|| lower.find("if (!$m)"))?;
    let write = guard + lower[guard..].find("write-output ")? + "write-output ".len();
    let line = script[write..].lines().next()?.trim();
    Some(line.trim_matches(['\'', '"']).to_string())
}

/// What the script prints for a token, in the shape it asks for.
fn render(script: &str, token: &str, expires_on: i64, tenant: &str, upn: &str) -> String {
    if script.contains("azsdk%") {
        // Write-Output "`nazsdk%$($tokenValue)%$($token.ExpiresOn.ToUnixTimeSeconds())`n"
        return format!("\nazsdk%{token}%{expires_on}\n\n");
    }
    if script.contains("ConvertTo-Xml") {
        return format!(
            "<Object Type=\"System.Management.Automation.PSCustomObject\"><Property Name=\"Token\" Type=\"System.String\">{token}</Property><Property Name=\"ExpiresOn\" Type=\"System.Int64\">{expires_on}</Property></Object>\n"
        );
    }
    let expires = time::OffsetDateTime::from_unix_timestamp(expires_on)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[month padding:none]/[day padding:none]/[year] [hour repr:12 padding:none]:[minute]:[second] [period] +00:00"
            ))
            .ok()
        })
        .unwrap_or_default();
    format!(
        "\nToken     : {token}\nExpiresOn : {expires}\nTenantId  : {tenant}\nUserId    : {upn}\nType      : Bearer\n\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(script: &str) -> String {
        let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn reads_an_encoded_script_and_its_parameters() {
        let script = "$params = @{ 'ResourceUrl' = 'https://cognitiveservices.azure.com'; 'WarningAction' = 'Ignore' }\n$tenantId = ''\n$token = Get-AzAccessToken @params";
        let argv: Vec<String> = ["-NoProfile", "-NonInteractive", "-EncodedCommand"]
            .iter()
            .map(|s| s.to_string())
            .chain([encode(script)])
            .collect();
        let text = command_text(&argv).ok().unwrap();
        assert_eq!(text, script);
        assert_eq!(
            parameter(&text, "ResourceUrl").as_deref(),
            Some("https://cognitiveservices.azure.com")
        );
        assert_eq!(tenant_parameter(&text), None);
        let direct = "Get-AzAccessToken -ResourceUrl https://search.azure.com -TenantId abc";
        assert_eq!(
            parameter(direct, "ResourceUrl").as_deref(),
            Some("https://search.azure.com")
        );
        assert_eq!(tenant_parameter(direct).as_deref(), Some("abc"));
        assert!(command_text(&["-EncodedCommand".into(), "%%%".into()]).is_err());
    }

    #[test]
    fn a_guarded_import_prints_its_marker() {
        let script = "$m = Import-Module Az.Accounts -MinimumVersion $minimumVersion -PassThru -ErrorAction SilentlyContinue\n\nif (! $m) {\n    Write-Output NO_AZ_ACCOUNT_MODULE\n    exit\n}\n$token = Get-AzAccessToken";
        assert_eq!(
            guarded_marker(script).as_deref(),
            Some("NO_AZ_ACCOUNT_MODULE")
        );
        assert_eq!(guarded_marker("Get-AzAccessToken -ResourceUrl x"), None);
    }
}
