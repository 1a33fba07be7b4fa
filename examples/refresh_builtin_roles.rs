//! Regenerate src/arm/builtin_roles.json from ARM's role definitions listing.
//!
//! ```text
//! az role definition list --custom-role-only false > listing.json
//! #   or: az rest --url "https://management.azure.com/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&\$filter=type eq 'BuiltInRole'" > listing.json
//! cargo run --example refresh_builtin_roles -- listing.json [--add "Role Name"]... [--source "TEXT"] [--out PATH]
//! ```
//!
//! Keeps the roles the catalog tracks (plus those named with `--add`), takes their names,
//! descriptions, permissions and conditions from the listing, and keeps a renamed role's old
//! name as a former name. See docs/roles.md.

use entraprobe::arm::builtin_roles::{CATALOG_JSON, MAX_LISTING_BYTES, refresh_catalog};
use std::io::Read;
use std::process::ExitCode;

const CATALOG_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/arm/builtin_roles.json");

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("refresh_builtin_roles: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut listing_path = None;
    let mut add = Vec::new();
    let mut source = None;
    let mut out = CATALOG_PATH.to_string();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--add" => add.push(value("--add")?),
            "--source" => source = Some(value("--source")?),
            "--out" => out = value("--out")?,
            "-h" | "--help" => {
                println!(
                    "usage: refresh_builtin_roles LISTING.json [--add NAME]... [--source TEXT] [--out PATH]"
                );
                return Ok(());
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            path => listing_path = Some(path.to_string()),
        }
    }
    let listing_path = listing_path.ok_or("name the listing file (see --help)")?;
    let mut listing = String::new();
    std::fs::File::open(&listing_path)
        .map_err(|e| format!("cannot read {listing_path}: {e}"))?
        .take(MAX_LISTING_BYTES as u64 + 1)
        .read_to_string(&mut listing)
        .map_err(|e| format!("cannot read {listing_path}: {e}"))?;
    let today = time::OffsetDateTime::now_utc().date();
    let source = source.unwrap_or(format!(
        "ARM role definitions listing {listing_path}, refreshed {today} with examples/refresh_builtin_roles.rs"
    ));
    let (text, warnings) = refresh_catalog(CATALOG_JSON, &listing, &add, &source)?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    std::fs::write(&out, text).map_err(|e| format!("cannot write {out}: {e}"))?;
    println!("wrote {out}");
    Ok(())
}
