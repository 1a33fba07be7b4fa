//! Built-in Azure role definitions, exactly as Microsoft publishes them (the emulator serves
//! them; remedies name the least-privileged one when the run could not read ARM's own).
//!
//! The data lives in `builtin_roles.json`, in the shape of ARM's role definition `properties`
//! (roleName, description, permissions with their conditions), plus the former names of renamed
//! roles. Its `published` list names the pages and dates it follows: the AI + machine learning
//! built-in roles page of **02/23/2026**, the privileged roles page of 05/25/2025, the general
//! roles page of 01/25/2025, and the Foundry rename note of 05/11/2026. Regenerate it from a live
//! listing with `cargo run --example refresh_builtin_roles -- listing.json` (docs/roles.md).
//!
//! Against a real tenant, definitions read from ARM win over this catalog (see `rbac`).

use crate::arm::actions::Permission;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The catalog file, as committed.
pub const CATALOG_JSON: &str = include_str!("builtin_roles.json");

/// One built-in role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuiltinRole {
    /// The role GUID, lower case (ARM's `name`).
    #[serde(rename = "name")]
    pub id: String,
    /// The current display name (ARM's `roleName`).
    #[serde(rename = "roleName")]
    pub name: String,
    /// Names the same GUID had before a rename; lookups by name accept them too.
    #[serde(default)]
    pub former_names: Vec<String>,
    pub description: String,
    pub permissions: Vec<Permission>,
}

impl BuiltinRole {
    /// Every name the role answers to: current first, then former ones.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.former_names.iter().map(String::as_str))
    }
    /// Does any permission block list a data action?
    pub fn has_data_actions(&self) -> bool {
        self.permissions.iter().any(|p| !p.data_actions.is_empty())
    }
}

/// The catalog file's top level.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Catalog {
    /// What the file is.
    #[serde(default)]
    pub catalog: String,
    /// Which published versions the data follows, one line each.
    pub published: Vec<String>,
    /// How to regenerate it.
    #[serde(default)]
    pub refresh: String,
    pub roles: Vec<BuiltinRole>,
}

/// The catalog as the committed file spells it (two-space JSON, trailing newline).
pub fn render_catalog(catalog: &Catalog) -> String {
    let mut text = serde_json::to_string_pretty(catalog).unwrap_or_default();
    text.push('\n');
    text
}

/// The largest listing the refresh accepts: ARM's full built-in listing is a few MB.
pub const MAX_LISTING_BYTES: usize = 64 * 1024 * 1024;

/// One role definition from a listing, in either shape: `az role definition list` (flat:
/// `name`, `roleName`, `permissions` at the top) or ARM's `GET …/roleDefinitions` (`value[]`
/// with `properties`).
fn listed_role(entry: &serde_json::Value) -> Option<BuiltinRole> {
    let properties = entry
        .get("properties")
        .filter(|p| p.is_object())
        .unwrap_or(entry);
    let guid = entry
        .get("name")
        .and_then(serde_json::Value::as_str)
        .filter(|n| is_guid(n))
        .map(str::to_string)
        .or_else(|| {
            let id = entry.get("id")?.as_str()?;
            Some(crate::arm::model::trailing_guid(id))
        })?
        .to_ascii_lowercase();
    let text = |key: &str| {
        properties
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let permissions: Vec<Permission> =
        serde_json::from_value(properties.get("permissions")?.clone()).ok()?;
    Some(BuiltinRole {
        id: guid,
        name: text("roleName"),
        former_names: Vec::new(),
        description: text("description"),
        permissions,
    })
}

/// Rewrite `current` (a catalog document) from `listing` (ARM's role definitions listing, in
/// either shape): every role the catalog tracks takes the listing's name, description and
/// permissions; a changed name keeps the old one as a former name; `add` names further roles
/// (by current name or GUID) to start tracking. `source` says where the listing came from and
/// when, and becomes the catalog's `published` line. Returns the new document and warnings
/// (tracked roles the listing lacks keep their entries).
pub fn refresh_catalog(
    current: &str,
    listing: &str,
    add: &[String],
    source: &str,
) -> Result<(String, Vec<String>), String> {
    if listing.len() > MAX_LISTING_BYTES {
        return Err(format!(
            "the listing is larger than {MAX_LISTING_BYTES} bytes; is it a role definitions listing?"
        ));
    }
    let mut catalog = parse_catalog(current)?;
    let value: serde_json::Value =
        serde_json::from_str(listing).map_err(|e| format!("the listing is not JSON: {e}"))?;
    let entries = value
        .as_array()
        .or_else(|| value.get("value").and_then(serde_json::Value::as_array))
        .ok_or("the listing is neither a JSON array (az role definition list) nor an ARM page ({\"value\": [...]})")?;
    let listed: Vec<BuiltinRole> = entries.iter().filter_map(listed_role).collect();
    if listed.is_empty() {
        return Err("the listing holds no role definition with a GUID and permissions".into());
    }
    let mut warnings = Vec::new();
    for role in &mut catalog.roles {
        match listed.iter().find(|l| l.id == role.id) {
            Some(fresh) => {
                if !fresh.name.is_empty() && fresh.name != role.name {
                    let old = std::mem::replace(&mut role.name, fresh.name.clone());
                    role.former_names
                        .retain(|n| !n.eq_ignore_ascii_case(&fresh.name));
                    if !role
                        .former_names
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(&old))
                    {
                        role.former_names.insert(0, old);
                    }
                }
                role.description = fresh.description.clone();
                role.permissions = fresh.permissions.clone();
            }
            None => warnings.push(format!(
                "{} ({}) is not in the listing; its entry is kept as it was",
                role.name, role.id
            )),
        }
    }
    for wanted in add {
        let found = listed.iter().find(|l| {
            l.name.eq_ignore_ascii_case(wanted.trim()) || l.id.eq_ignore_ascii_case(wanted.trim())
        });
        match found {
            Some(role) if catalog.roles.iter().any(|r| r.id == role.id) => {}
            Some(role) => catalog.roles.push(role.clone()),
            None => return Err(format!("no role named {wanted:?} in the listing")),
        }
    }
    for role in &catalog.roles {
        if let Some(bad) = role
            .permissions
            .iter()
            .flat_map(|p| {
                p.actions
                    .iter()
                    .chain(&p.not_actions)
                    .chain(&p.data_actions)
                    .chain(&p.not_data_actions)
            })
            .find(|p| !is_well_formed_action(p))
        {
            return Err(format!("{}: malformed permission {bad:?}", role.name));
        }
    }
    catalog.published = vec![source.to_string()];
    Ok((render_catalog(&catalog), warnings))
}

/// Parse a catalog document (the committed file or one the refresh example wrote).
pub fn parse_catalog(text: &str) -> Result<Catalog, String> {
    let mut catalog: Catalog =
        serde_json::from_str(text).map_err(|e| format!("built-in role catalog: {e}"))?;
    for role in &mut catalog.roles {
        role.id = role.id.to_ascii_lowercase();
    }
    Ok(catalog)
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    // The file is part of the build and checked by the tests below; a broken one is a build
    // defect, not bad input.
    parse_catalog(CATALOG_JSON).expect("src/arm/builtin_roles.json is a valid catalog")
});

/// Every tracked built-in role, in catalog order.
pub static BUILTIN_ROLES: LazyLock<&'static [BuiltinRole]> =
    LazyLock::new(|| CATALOG.roles.as_slice());

/// The published versions the catalog follows.
pub fn published() -> &'static [String] {
    &CATALOG.published
}

/// Look a built-in role up by display name (current or former), case-insensitively.
pub fn builtin_by_name(name: &str) -> Option<&'static BuiltinRole> {
    let name = name.trim();
    BUILTIN_ROLES
        .iter()
        .find(|r| r.names().any(|n| n.eq_ignore_ascii_case(name)))
}

/// Look a built-in role up by GUID (or by a role definition id ending in it).
pub fn builtin_by_id(id: &str) -> Option<&'static BuiltinRole> {
    let guid = crate::arm::model::trailing_guid(id);
    BUILTIN_ROLES.iter().find(|r| r.id == guid)
}

/// Is `text` a GUID in the 8-4-4-4-12 hexadecimal form?
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Is `pattern` a well-formed permission string: `*`, or `Provider.Namespace/…` segments of
/// letters, digits, `.`, `-`, `_` or `*`, none empty?
pub fn is_well_formed_action(pattern: &str) -> bool {
    if pattern == "*" || pattern == "*/read" {
        return true;
    }
    let mut segments = pattern.split('/');
    let Some(provider) = segments.next() else {
        return false;
    };
    let provider_ok = provider == "*"
        || (provider.contains('.')
            && provider
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.'));
    provider_ok
        && pattern.len() <= 512
        && pattern.split('/').skip(1).all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'*'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::actions::ActionKind;
    use crate::arm::condition::{self, Verdict};
    use std::collections::HashSet;

    #[test]
    fn the_committed_file_is_in_canonical_form() {
        let catalog = parse_catalog(CATALOG_JSON).unwrap();
        assert_eq!(render_catalog(&catalog), CATALOG_JSON);
    }

    const SAMPLE_AZ: &str = r#"[
      {"name": "53ca6127-db72-4b80-b1b0-d745d6d5456d", "roleName": "Foundry User", "roleType": "BuiltInRole",
       "description": "New words.", "id": "/providers/Microsoft.Authorization/roleDefinitions/53ca6127-db72-4b80-b1b0-d745d6d5456d",
       "permissions": [{"actions": ["Microsoft.CognitiveServices/*/read"], "notActions": [], "dataActions": ["Microsoft.CognitiveServices/*"], "notDataActions": [], "condition": null, "conditionVersion": null}]},
      {"name": "a97b65f3-24c7-4388-baec-2e87135dc908", "roleName": "Cognitive Services Users", "roleType": "BuiltInRole",
       "description": "Renamed.", "permissions": [{"actions": [], "notActions": [], "dataActions": ["Microsoft.CognitiveServices/*"], "notDataActions": []}]},
      {"name": "00000000-1111-2222-3333-444444444444", "roleName": "Some Other Role", "roleType": "BuiltInRole",
       "description": "Untracked.", "permissions": [{"actions": ["Microsoft.Foo/bar/read"]}]}
    ]"#;

    #[test]
    fn refresh_rewrites_tracked_roles_from_an_az_listing() {
        let (text, warnings) = refresh_catalog(
            CATALOG_JSON,
            SAMPLE_AZ,
            &[],
            "az role definition list, 2026-12-01",
        )
        .unwrap();
        let catalog = parse_catalog(&text).unwrap();
        assert_eq!(catalog.roles.len(), BUILTIN_ROLES.len());
        assert_eq!(catalog.published, ["az role definition list, 2026-12-01"]);
        let user = catalog
            .roles
            .iter()
            .find(|r| r.id.starts_with("53ca6127"))
            .unwrap();
        assert_eq!(user.name, "Foundry User");
        assert_eq!(user.former_names, ["Azure AI User"]);
        assert_eq!(user.description, "New words.");
        assert_eq!(
            user.permissions[0].actions,
            ["Microsoft.CognitiveServices/*/read"]
        );
        let csu = catalog
            .roles
            .iter()
            .find(|r| r.id.starts_with("a97b65f3"))
            .unwrap();
        assert_eq!(csu.name, "Cognitive Services Users");
        assert_eq!(csu.former_names, ["Cognitive Services User"]);
        assert!(!text.contains("Some Other Role"));
        // Every other tracked role is missing from this small sample and kept as it was.
        assert_eq!(warnings.len(), BUILTIN_ROLES.len() - 2);
        let owner = catalog.roles.iter().find(|r| r.name == "Owner").unwrap();
        assert_eq!(owner, builtin_by_name("Owner").unwrap());
    }

    #[test]
    fn refresh_reads_the_arm_shape_and_adds_named_roles() {
        let arm = r#"{"value": [{"id": "/providers/Microsoft.Authorization/roleDefinitions/00000000-1111-2222-3333-444444444444",
            "name": "00000000-1111-2222-3333-444444444444", "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": "Some Other Role", "description": "d", "type": "BuiltInRole",
              "permissions": [{"actions": ["Microsoft.Foo/bar/read"], "notActions": [], "dataActions": [], "notDataActions": [],
                "condition": "ActionMatches{'Microsoft.Foo/*'}", "conditionVersion": "2.0"}]}}], "nextLink": null}"#;
        let (text, _) = refresh_catalog(
            CATALOG_JSON,
            arm,
            &["some other role".into()],
            "ARM listing",
        )
        .unwrap();
        let catalog = parse_catalog(&text).unwrap();
        let added = catalog.roles.last().unwrap();
        assert_eq!(added.name, "Some Other Role");
        assert_eq!(
            added.permissions[0].condition.as_deref(),
            Some("ActionMatches{'Microsoft.Foo/*'}")
        );
        assert_eq!(
            added.permissions[0].condition_version.as_deref(),
            Some("2.0")
        );
    }

    #[test]
    fn refresh_refuses_what_is_not_a_listing() {
        for (listing, wanted) in [
            ("not json", "not JSON"),
            ("{\"roles\": 1}", "neither"),
            ("[]", "no role definition"),
        ] {
            let error = refresh_catalog(CATALOG_JSON, listing, &[], "x").unwrap_err();
            assert!(error.contains(wanted), "{listing}: {error}");
        }
        let bad = r#"[{"name": "a97b65f3-24c7-4388-baec-2e87135dc908", "roleName": "X",
            "permissions": [{"actions": ["Microsoft.X/a b"]}]}]"#;
        assert!(
            refresh_catalog(CATALOG_JSON, bad, &[], "x")
                .unwrap_err()
                .contains("malformed")
        );
        assert!(
            refresh_catalog(CATALOG_JSON, SAMPLE_AZ, &["Nope".into()], "x")
                .unwrap_err()
                .contains("Nope")
        );
    }

    #[test]
    fn every_guid_is_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for role in BUILTIN_ROLES.iter() {
            assert!(is_guid(&role.id), "{}: bad GUID {}", role.name, role.id);
            assert_eq!(role.id, role.id.to_ascii_lowercase());
            assert!(seen.insert(role.id.clone()), "duplicate GUID {}", role.id);
        }
        assert!(BUILTIN_ROLES.len() >= 33);
    }

    #[test]
    fn every_name_is_unique_across_current_and_former_names() {
        let mut seen = HashSet::new();
        for role in BUILTIN_ROLES.iter() {
            for name in role.names() {
                assert!(!name.trim().is_empty());
                assert!(
                    seen.insert(name.to_ascii_lowercase()),
                    "name {name} names two roles"
                );
            }
        }
    }

    #[test]
    fn every_action_string_is_well_formed() {
        for role in BUILTIN_ROLES.iter() {
            assert!(!role.permissions.is_empty(), "{} has no block", role.name);
            for block in &role.permissions {
                for pattern in block
                    .actions
                    .iter()
                    .chain(&block.not_actions)
                    .chain(&block.data_actions)
                    .chain(&block.not_data_actions)
                {
                    assert!(
                        is_well_formed_action(pattern),
                        "{}: malformed `{pattern}`",
                        role.name
                    );
                    assert_eq!(pattern.trim(), pattern);
                }
            }
        }
        assert!(!is_well_formed_action("Microsoft.CognitiveServices//read"));
        assert!(!is_well_formed_action("no-provider/read"));
        assert!(!is_well_formed_action("Microsoft.X/a b"));
    }

    #[test]
    fn every_condition_parses_and_carries_version_2() {
        let conditioned: Vec<&BuiltinRole> = BUILTIN_ROLES
            .iter()
            .filter(|r| r.permissions.iter().any(|p| p.condition.is_some()))
            .collect();
        let names: Vec<&str> = conditioned.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["Foundry Project Manager", "Foundry Account Owner"]);
        for role in conditioned {
            let block = &role.permissions[0];
            assert_eq!(block.condition_version.as_deref(), Some("2.0"));
            condition::parse(block.condition.as_deref().unwrap()).expect("parses");
        }
    }

    #[test]
    fn renamed_roles_answer_to_both_names() {
        for (current, former, guid) in [
            (
                "Foundry User",
                "Azure AI User",
                "53ca6127-db72-4b80-b1b0-d745d6d5456d",
            ),
            (
                "Foundry Project Manager",
                "Azure AI Project Manager",
                "eadc314b-1a2d-4efa-be10-5d325db5065e",
            ),
            (
                "Foundry Account Owner",
                "Azure AI Account Owner",
                "e47c6f54-e4a2-4754-9501-8e0985b135e1",
            ),
            (
                "Foundry Owner",
                "Azure AI Owner",
                "c883944f-8b7b-4483-af10-35834be79c4a",
            ),
        ] {
            assert_eq!(builtin_by_name(current).unwrap().id, guid);
            assert_eq!(builtin_by_name(former).unwrap().id, guid);
            assert_eq!(builtin_by_name(&former.to_uppercase()).unwrap().id, guid);
            assert_eq!(builtin_by_id(guid).unwrap().name, current);
        }
        assert_eq!(
            builtin_by_id(
                "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"
            )
            .unwrap()
            .name,
            "Owner"
        );
    }

    #[test]
    fn published_versions_are_named_and_dated() {
        let text = published().join("\n");
        assert!(text.contains("02/23/2026") && text.contains("ai-machine-learning"));
        assert!(text.contains("05/11/2026"));
    }

    /// Spot checks of entries the former hand-written catalog lacked
    /// (../shared/reference/builtin-roles.md).
    #[test]
    fn published_entries_are_present() {
        let has = |role: &str, kind: ActionKind, pattern: &str| {
            let role = builtin_by_name(role).unwrap();
            role.permissions.iter().any(|b| {
                let list = match kind {
                    ActionKind::Action => b.actions.iter().chain(&b.not_actions),
                    ActionKind::DataAction => b.data_actions.iter().chain(&b.not_data_actions),
                };
                list.clone().any(|p| p == pattern)
            })
        };
        use ActionKind::*;
        assert!(has(
            "Cognitive Services Contributor",
            Action,
            "Microsoft.CognitiveServices/raiPolicy/write"
        ));
        assert!(has(
            "Cognitive Services OpenAI User",
            DataAction,
            "Microsoft.CognitiveServices/accounts/OpenAI/responses/*"
        ));
        assert!(has(
            "Cognitive Services Speech Contributor",
            DataAction,
            "Microsoft.CognitiveServices/accounts/TTSPlayer/*"
        ));
        assert!(has(
            "Azure AI Developer",
            DataAction,
            "Microsoft.CognitiveServices/accounts/MaaS/*"
        ));
        assert!(has(
            "Foundry User",
            Action,
            "Microsoft.Authorization/*/read"
        ));
        assert!(has(
            "Foundry Project Manager",
            Action,
            "Microsoft.CognitiveServices/accounts/projects/*"
        ));
        assert!(has(
            "Search Index Data Contributor",
            DataAction,
            "Microsoft.Search/searchServices/indexes/contentSecurity/elevatedOperations/read"
        ));
        for name in [
            "Cognitive Services Custom Vision Contributor",
            "Cognitive Services Custom Vision Deployment",
            "Cognitive Services Custom Vision Labeler",
            "Cognitive Services Custom Vision Reader",
            "Cognitive Services Custom Vision Trainer",
            "Cognitive Services Immersive Reader User",
            "Cognitive Services Face Recognizer",
            "Azure AI Inference Deployment Operator",
            "Azure AI Administrator",
            "Cognitive Services Data Reader",
        ] {
            assert!(builtin_by_name(name).is_some(), "{name} missing");
        }
    }

    /// The delegation condition leaves every other action of the role in force and makes the
    /// role-assignment writes depend on the request.
    #[test]
    fn delegation_condition_constrains_only_role_assignment_writes() {
        let pm = builtin_by_name("Foundry Project Manager").unwrap();
        let cond = condition::parse(pm.permissions[0].condition.as_deref().unwrap()).unwrap();
        assert_eq!(
            cond.evaluate("Microsoft.CognitiveServices/accounts/projects/write"),
            Verdict::Holds
        );
        assert_eq!(
            cond.evaluate("Microsoft.Authorization/roleAssignments/write"),
            Verdict::Unknown
        );
        assert_eq!(
            cond.evaluate("Microsoft.Authorization/roleAssignments/delete"),
            Verdict::Unknown
        );
    }
}
