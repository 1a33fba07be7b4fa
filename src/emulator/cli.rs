//! The fake `az`, `azd` and `pwsh`: bash scripts the emulator writes into a bin folder first on PATH,
//! and the endpoint that answers them.
//!
//! A script needs only bash and coreutils: it opens `/dev/tcp/127.0.0.1/PORT`, posts its argv
//! (one argument a line) to `/_emulator/cli/{az,azd}`, and prints the answer's body on the stream
//! and with the exit code the answer's `x-cli-*` headers name. All CLI behaviour lives here, in
//! Rust, so it is tested like every other surface.

mod powershell;

use super::entra::{self, AZURE_CLI_CLIENT_ID};
use super::scenario::IdentitySpec;
use super::{EmuRequest, EmuResponse, World};
use serde_json::json;
use std::path::Path;

pub const AZ_PATH: &str = "/_emulator/cli/az";
pub const AZD_PATH: &str = "/_emulator/cli/azd";
pub const PWSH_PATH: &str = "/_emulator/cli/pwsh";
/// The CLIs the emulator fakes, with the path each script posts to.
const TOOLS: [(&str, &str); 3] = [("az", AZ_PATH), ("azd", AZD_PATH), ("pwsh", PWSH_PATH)];

/// Is `path` one of the fake CLIs' endpoints?
pub fn is_cli_path(path: &str) -> bool {
    TOOLS.iter().any(|(_, p)| *p == path)
}
/// Replaced by the script with the expiry in local time, which only the caller's machine knows.
const LOCAL_EXPIRES_ON: &str = "__ENTRAPROBE_EXPIRES_ON_LOCAL__";
pub const AZ_NOT_LOGGED_IN: &str = "ERROR: Please run 'az login' to setup account.\n";

/// What a CLI run prints: one stream, one exit code.
pub(super) struct CliOutput {
    exit_code: i32,
    stderr: bool,
    text: String,
    expires_on: Option<i64>,
}

impl CliOutput {
    pub(super) fn stdout(text: String) -> CliOutput {
        CliOutput {
            exit_code: 0,
            stderr: false,
            text,
            expires_on: None,
        }
    }
    pub(super) fn fail(exit_code: i32, text: impl Into<String>) -> CliOutput {
        CliOutput {
            exit_code,
            stderr: true,
            text: text.into(),
            expires_on: None,
        }
    }
    fn into_response(self) -> EmuResponse {
        let mut resp = EmuResponse::text(200, self.text)
            .with_header("x-cli-exit-code", self.exit_code.to_string())
            .with_header(
                "x-cli-stream",
                if self.stderr { "stderr" } else { "stdout" },
            );
        if let Some(epoch) = self.expires_on {
            let utc = time::OffsetDateTime::from_unix_timestamp(epoch)
                .ok()
                .and_then(|t| {
                    t.format(time::macros::format_description!(
                        "[year]-[month]-[day] [hour]:[minute]:[second].000000"
                    ))
                    .ok()
                })
                .unwrap_or_default();
            resp = resp
                .with_header("x-cli-expires-on", epoch.to_string())
                .with_header("x-cli-expires-on-utc", utc);
        }
        resp
    }
}

pub fn handle(world: &World, req: &EmuRequest) -> EmuResponse {
    let argv: Vec<String> = String::from_utf8_lossy(&req.body)
        .lines()
        .map(str::to_string)
        .collect();
    let output = if req.path == AZ_PATH {
        world.counters.bump("cli.az");
        az(world, &argv)
    } else if req.path == PWSH_PATH {
        world.counters.bump("cli.pwsh");
        powershell::pwsh(world, &argv)
    } else {
        world.counters.bump("cli.azd");
        azd(world, &argv)
    };
    output.into_response()
}

/// Values of `--name VALUE` / `-n VALUE` options (all of them, for repeatable options), and
/// the positional words.
fn parse_args<'a>(
    argv: &'a [String],
    with_value: &[&str],
) -> (Vec<(&'a str, &'a str)>, Vec<&'a str>) {
    let mut options = Vec::new();
    let mut words = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_str();
        if let Some((name, value)) = arg.split_once('=').filter(|(n, _)| n.starts_with('-')) {
            options.push((name, value));
        } else if with_value.contains(&arg) {
            // `--scope a b` takes several values until the next option.
            let mut j = i + 1;
            while j < argv.len() && !argv[j].starts_with('-') {
                options.push((arg, argv[j].as_str()));
                j += 1;
            }
            if j == i + 1 {
                options.push((arg, ""));
            }
            i = j;
            continue;
        } else if arg.starts_with('-') {
            options.push((arg, ""));
        } else {
            words.push(arg);
        }
        i += 1;
    }
    (options, words)
}

fn option<'a>(options: &[(&str, &'a str)], names: &[&str]) -> Option<&'a str> {
    options
        .iter()
        .find(|(n, _)| names.contains(n))
        .map(|(_, v)| *v)
}

pub(super) fn logged_in_user<'a>(world: &'a World, user: Option<&str>) -> Option<&'a IdentitySpec> {
    user.and_then(|n| world.scenario.identity(n))
}

/// The tenant a CLI token is issued in: the user's home tenant unless `--tenant` names another
/// tenant the user can sign in to (its home, or the scenario's tenant as a guest).
pub(super) fn token_tenant(
    world: &World,
    user: &IdentitySpec,
    requested: Option<&str>,
) -> Result<String, String> {
    let home = user.tenant_id(&world.scenario.tenant).to_string();
    match requested.filter(|t| !t.is_empty()) {
        None => Ok(home),
        Some(t) if t.eq_ignore_ascii_case(&home) => Ok(home),
        Some(t) if t.eq_ignore_ascii_case(world.tenant_id()) => Ok(world.tenant_id().to_string()),
        Some(t) => Err(format!(
            "AADSTS90002: Tenant '{t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        )),
    }
}

fn az(world: &World, argv: &[String]) -> CliOutput {
    let (options, words) = parse_args(
        argv,
        &[
            "--scope",
            "--scopes",
            "--resource",
            "--resource-type",
            "--tenant",
            "-t",
            "--subscription",
            "-s",
            "--output",
            "-o",
            "--query",
        ],
    );
    let user = logged_in_user(world, world.scenario.machine.azure_cli_user());
    match words.as_slice() {
        ["account", "get-access-token"] => {
            let Some(user) = user else {
                return CliOutput::fail(1, AZ_NOT_LOGGED_IN);
            };
            let resource = option(&options, &["--resource"]);
            let scope = option(&options, &["--scope", "--scopes"]);
            let audience = match (resource, scope) {
                (Some(_), Some(_)) => {
                    return CliOutput::fail(
                        2,
                        "ERROR: usage error: --resource/--resource-type/--scope are mutually exclusive\n",
                    );
                }
                (Some(r), None) => r.to_string(),
                (None, Some(s)) => s.strip_suffix("/.default").unwrap_or(s).to_string(),
                // The cloud's `activeDirectoryResourceId`, as `az cloud show` names it.
                (None, None) => world
                    .scenario
                    .tenant
                    .cloud()
                    .default_cli_resource()
                    .to_string(),
            };
            let requested_tenant = option(&options, &["--tenant", "-t"]);
            let tenant = match token_tenant(world, user, requested_tenant) {
                Ok(t) => t,
                Err(e) => return CliOutput::fail(1, format!("ERROR: {e}\n")),
            };
            if !entra::resource_in_tenant(world, &audience) {
                return CliOutput::fail(
                    1,
                    format!(
                        "ERROR: AADSTS500011: The resource principal named {audience} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.\n"
                    ),
                );
            }
            let issued =
                entra::issue_user_token(world, user, &tenant, &audience, AZURE_CLI_CLIENT_ID);
            let mut body = serde_json::Map::new();
            body.insert("accessToken".into(), json!(issued.token));
            body.insert("expiresOn".into(), json!(LOCAL_EXPIRES_ON));
            body.insert("expires_on".into(), json!(issued.expires_on));
            // The real CLI leaves out `subscription` when `--tenant` is given.
            if requested_tenant.is_none() {
                let subscription =
                    option(&options, &["--subscription", "-s"]).unwrap_or(world.subscription());
                body.insert("subscription".into(), json!(subscription));
            }
            body.insert("tenant".into(), json!(tenant));
            body.insert("tokenType".into(), json!("Bearer"));
            // Scripts write `--query accessToken -o tsv`; JMESPath beyond one field is not modelled.
            if matches!(option(&options, &["--output", "-o"]), Some("tsv" | "none")) {
                let field = option(&options, &["--query"]).unwrap_or("accessToken");
                let value = match body.get(field) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                return CliOutput::stdout(format!("{value}\n"));
            }
            let mut out = CliOutput::stdout(pretty(&serde_json::Value::Object(body)));
            out.expires_on = Some(issued.expires_on);
            out
        }
        ["account", "show"] => {
            let Some(user) = user else {
                return CliOutput::fail(1, AZ_NOT_LOGGED_IN);
            };
            let home = user.tenant_id(&world.scenario.tenant).to_string();
            CliOutput::stdout(pretty(&json!({
                "environmentName": world.scenario.tenant.cloud().environment_name(),
                "homeTenantId": home,
                "id": world.subscription(),
                "isDefault": true,
                "managedByTenants": [],
                "name": "Emulated subscription",
                "state": "Enabled",
                "tenantDefaultDomain": "contoso.onmicrosoft.com",
                "tenantDisplayName": "Contoso",
                "tenantId": world.tenant_id(),
                "user": {"name": user.upn.clone().unwrap_or_else(|| format!("{}@contoso.com", user.name())), "type": "user"},
            })))
        }
        ["version"] => CliOutput::stdout(pretty(&json!({
            "azure-cli": "2.67.0",
            "azure-cli-core": "2.67.0",
            "extensions": {},
        }))),
        other => CliOutput::fail(
            2,
            format!(
                "ERROR: '{}' is misspelled or not recognized by the system.\n(entraprobe emulator: its fake az knows `account get-access-token` and `account show`)\n",
                other.join(" ")
            ),
        ),
    }
}

fn azd_console_error(message: &str) -> String {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!(
        "{}\n",
        json!({"type": "consoleMessage", "timestamp": now, "data": {"message": message}})
    )
}

fn azd(world: &World, argv: &[String]) -> CliOutput {
    let (options, words) = parse_args(argv, &["--scope", "--tenant-id", "--output", "-o"]);
    let user = logged_in_user(world, world.scenario.machine.azd_user());
    match words.as_slice() {
        ["auth", "token"] => {
            let Some(user) = user else {
                return CliOutput::fail(
                    1,
                    azd_console_error("\nERROR: not logged in, run `azd auth login` to login\n"),
                );
            };
            let scopes: Vec<&str> = options
                .iter()
                .filter(|(n, _)| *n == "--scope")
                .map(|(_, v)| *v)
                .collect();
            // azd's default: the cloud's ARM endpoint, spelled `{endpoint}//.default` [L for
            // the sovereign clouds].
            let default_scope = world.scenario.tenant.cloud().default_azd_scope();
            let scope = scopes.first().copied().unwrap_or(&default_scope);
            let audience = scope.strip_suffix("/.default").unwrap_or(scope).to_string();
            let tenant = match token_tenant(world, user, option(&options, &["--tenant-id"])) {
                Ok(t) => t,
                Err(e) => {
                    return CliOutput::fail(
                        1,
                        azd_console_error(&format!("\nERROR: fetching token: {e}\n")),
                    );
                }
            };
            if !entra::resource_in_tenant(world, &audience) {
                return CliOutput::fail(
                    1,
                    azd_console_error(&format!(
                        "\nERROR: fetching token: AADSTS500011: The resource principal named {audience} was not found in the tenant named {tenant}.\n"
                    )),
                );
            }
            let issued =
                entra::issue_user_token(world, user, &tenant, &audience, AZURE_CLI_CLIENT_ID);
            let expires_on = time::OffsetDateTime::from_unix_timestamp(issued.expires_on)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            CliOutput::stdout(pretty(
                &json!({"token": issued.token, "expiresOn": expires_on}),
            ))
        }
        other => CliOutput::fail(
            1,
            azd_console_error(&format!(
                "\nERROR: unknown command \"{}\" for \"azd\"\n",
                other.join(" ")
            )),
        ),
    }
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// The bash script for `tool` (`az`, `azd` or `pwsh`) talking to the emulator on `port`.
pub fn script(tool: &str, port: u16) -> String {
    let path = TOOLS
        .iter()
        .find(|(t, _)| *t == tool)
        .map_or(AZD_PATH, |(_, p)| *p);
    format!(
        r#"#!/usr/bin/env bash
# Fake `{tool}` written by the entraprobe emulator: it asks the emulator at 127.0.0.1:{port}
# for what the real `{tool}` would print. Needs only bash and coreutils.
export LC_ALL=C
body=""
for arg in "$@"; do body+="$arg"$'\n'; done
if ! {{ exec 3<>/dev/tcp/127.0.0.1/{port}; }} 2>/dev/null; then
  echo "ERROR: the entraprobe emulator at 127.0.0.1:{port} is not running." >&2
  exit 1
fi
printf 'POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${{#body}}" "$body" >&3
code=1 stream=stdout epoch="" utc=""
IFS= read -r status_line <&3
while IFS= read -r line <&3; do
  line=${{line%$'\r'}}
  [ -z "$line" ] && break
  value=${{line#*:}}
  value=${{value# }}
  case "${{line,,}}" in
    x-cli-exit-code:*) code=$value ;;
    x-cli-stream:*) stream=$value ;;
    x-cli-expires-on:*) epoch=$value ;;
    x-cli-expires-on-utc:*) utc=$value ;;
  esac
done
out=$(cat <&3; printf x)
out=${{out%x}}
exec 3<&-
case "$status_line" in
  *" 200 "*) ;;
  *) echo "ERROR: the entraprobe emulator answered: $status_line" >&2; exit 1 ;;
esac
if [ -n "$epoch" ]; then
  local_time=$(date -d "@$epoch" '+%Y-%m-%d %H:%M:%S.000000' 2>/dev/null) || local_time=$utc
  out=${{out//{LOCAL_EXPIRES_ON}/$local_time}}
fi
if [ "$stream" = stderr ]; then printf '%s' "$out" >&2; else printf '%s' "$out"; fi
exit "$code"
"#
    )
}

/// Write `az`, `azd` and `pwsh` into `bin_dir` (created if needed), executable.
pub fn write_scripts(bin_dir: &Path, port: u16) -> std::io::Result<()> {
    std::fs::create_dir_all(bin_dir)?;
    for (tool, _) in TOOLS {
        let path = bin_dir.join(tool);
        std::fs::write(&path, script(tool, port))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::Scenario;

    fn run(world: &World, path: &str, args: &[&str]) -> EmuResponse {
        let body: String = args.iter().map(|a| format!("{a}\n")).collect();
        handle(
            world,
            &EmuRequest {
                method: "POST".into(),
                path: path.into(),
                body: body.into_bytes(),
                ..Default::default()
            },
        )
    }

    fn header<'a>(r: &'a EmuResponse, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn az_not_logged_in_and_logged_in() {
        let text = "[[identity]]\nname = \"alice\"\ntype = \"user\"\nupn = \"alice@contoso.com\"\n";
        let world = World::new(Scenario::parse(text, "t.toml").unwrap()).unwrap();
        let r = run(
            &world,
            AZ_PATH,
            &[
                "account",
                "get-access-token",
                "-o",
                "json",
                "--scope",
                "https://cognitiveservices.azure.com/.default",
            ],
        );
        assert_eq!(header(&r, "x-cli-exit-code"), Some("1"));
        assert_eq!(header(&r, "x-cli-stream"), Some("stderr"));
        assert_eq!(r.body, AZ_NOT_LOGGED_IN.as_bytes());

        let text = format!("{text}[machine]\nazure_cli_user = \"alice\"\n");
        let world = World::new(Scenario::parse(&text, "t.toml").unwrap()).unwrap();
        let r = run(
            &world,
            AZ_PATH,
            &[
                "account",
                "get-access-token",
                "--output",
                "json",
                "--resource",
                "https://cognitiveservices.azure.com",
            ],
        );
        assert_eq!(header(&r, "x-cli-exit-code"), Some("0"));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let claims = world
            .signer
            .verify(body["accessToken"].as_str().unwrap())
            .unwrap();
        assert_eq!(claims["aud"], "https://cognitiveservices.azure.com");
        assert_eq!(claims["upn"], "alice@contoso.com");
        assert_eq!(claims["appid"], AZURE_CLI_CLIENT_ID);
        assert!(claims.get("idtyp").is_none());
        assert_eq!(body["subscription"], world.subscription());
    }
}
