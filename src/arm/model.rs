//! Serde types for the ARM bodies the probe reads (reference/azure-wire.md §5–6).
//!
//! Lenient on purpose: ARM omits fields on old resources, sends `null` for empty lists, and adds
//! properties with every api-version. A missing or null field takes its default instead of
//! failing the whole listing, because one odd account must not hide the other hundred.

use crate::arm::actions::Permission;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Deserialize `null` (as well as a missing field, with `#[serde(default)]`) as the default.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The `{"value":[…],"nextLink":…}` envelope of every ARM listing.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "null_default")]
    pub value: Vec<T>,
    #[serde(default)]
    pub next_link: Option<String>,
}

/// `{"error":{"code":…,"message":…}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorEnvelope {
    #[serde(default, deserialize_with = "null_default")]
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default, deserialize_with = "null_default")]
    pub code: String,
    #[serde(default, deserialize_with = "null_default")]
    pub message: String,
}

/// The trailing segment of an ARM id, lower-cased: role definitions are compared by GUID,
/// whatever scope qualifies the id (azure-wire.md §5.1).
pub fn trailing_guid(id: &str) -> String {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// ARM timestamps carry seven fractional digits (`2024-05-01T10:00:00.0000000Z`); RFC 3339
/// parsing accepts any number, so one parser covers both forms.
pub fn parse_arm_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RoleAssignment {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub properties: RoleAssignmentProperties,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    #[serde(deserialize_with = "null_default")]
    pub role_definition_id: String,
    #[serde(deserialize_with = "null_default")]
    pub principal_id: String,
    /// `User`, `Group`, `ServicePrincipal`, `ForeignGroup`, `Device`.
    #[serde(deserialize_with = "null_default")]
    pub principal_type: String,
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    pub condition: Option<String>,
    pub condition_version: Option<String>,
    pub created_on: Option<String>,
}

impl RoleAssignment {
    /// The role's GUID, lower-cased (the only reliable key: display names change).
    pub fn role_guid(&self) -> String {
        trailing_guid(&self.properties.role_definition_id)
    }
    pub fn created_on(&self) -> Option<OffsetDateTime> {
        self.properties
            .created_on
            .as_deref()
            .and_then(parse_arm_time)
    }
    /// A non-empty ABAC condition (ARM sends `null` or omits it when there is none).
    pub fn condition(&self) -> Option<&str> {
        self.properties
            .condition
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RoleDefinition {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// The role GUID.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub properties: RoleDefinitionProperties,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleDefinitionProperties {
    #[serde(deserialize_with = "null_default")]
    pub role_name: String,
    #[serde(deserialize_with = "null_default")]
    pub description: String,
    /// `BuiltInRole` or `CustomRole`.
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub role_type: String,
    #[serde(deserialize_with = "null_default")]
    pub permissions: Vec<Permission>,
    #[serde(deserialize_with = "null_default")]
    pub assignable_scopes: Vec<String>,
}

impl RoleDefinition {
    pub fn guid(&self) -> String {
        if self.name.is_empty() {
            trailing_guid(&self.id)
        } else {
            self.name.to_ascii_lowercase()
        }
    }
    /// The display name, or the GUID when the definition has none.
    pub fn display_name(&self) -> String {
        if self.properties.role_name.trim().is_empty() {
            self.guid()
        } else {
            self.properties.role_name.clone()
        }
    }
    /// Does any block of this role list a data action at all? (Owner, Contributor and
    /// Cognitive Services Contributor list none.)
    pub fn has_data_actions(&self) -> bool {
        self.properties
            .permissions
            .iter()
            .any(|p| !p.data_actions.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct DenyAssignment {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub properties: DenyAssignmentProperties,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct DenyAssignmentProperties {
    #[serde(deserialize_with = "null_default")]
    pub deny_assignment_name: String,
    #[serde(deserialize_with = "null_default")]
    pub description: String,
    #[serde(deserialize_with = "null_default")]
    pub permissions: Vec<Permission>,
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    #[serde(deserialize_with = "null_default")]
    pub principals: Vec<DenyPrincipal>,
    #[serde(deserialize_with = "null_default")]
    pub exclude_principals: Vec<DenyPrincipal>,
    #[serde(deserialize_with = "null_default")]
    pub do_not_apply_to_child_scopes: bool,
    #[serde(deserialize_with = "null_default")]
    pub is_system_protected: bool,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct DenyPrincipal {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub principal_type: String,
}

/// `Microsoft.CognitiveServices/accounts` (azure-wire.md §6).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Account {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_default")]
    pub location: String,
    #[serde(deserialize_with = "null_default")]
    pub properties: AccountProperties,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct AccountProperties {
    pub endpoint: Option<String>,
    /// Named endpoints (`"OpenAI Language Model Instance API": "https://…"`). Values are kept as
    /// JSON so one non-string entry cannot fail the account.
    #[serde(deserialize_with = "null_default")]
    pub endpoints: BTreeMap<String, serde_json::Value>,
    pub custom_sub_domain_name: Option<String>,
    /// Absent means false (keys work).
    pub disable_local_auth: Option<bool>,
    /// `Enabled` | `Disabled`; absent or null means Enabled.
    pub public_network_access: Option<String>,
    pub network_acls: Option<NetworkAcls>,
    #[serde(deserialize_with = "null_default")]
    pub private_endpoint_connections: Vec<PrivateEndpointConnection>,
    pub provisioning_state: Option<String>,
}

impl AccountProperties {
    /// Every endpoint URL the account lists, `endpoint` first.
    pub fn endpoint_urls(&self) -> Vec<&str> {
        let mut urls: Vec<&str> = self.endpoint.iter().map(String::as_str).collect();
        urls.extend(self.endpoints.values().filter_map(|v| v.as_str()));
        urls
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkAcls {
    /// `Allow` | `Deny`.
    #[serde(deserialize_with = "null_default")]
    pub default_action: String,
    pub bypass: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub ip_rules: Vec<IpRule>,
    #[serde(deserialize_with = "null_default")]
    pub virtual_network_rules: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct IpRule {
    #[serde(deserialize_with = "null_default")]
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct PrivateEndpointConnection {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub properties: serde_json::Value,
}

impl PrivateEndpointConnection {
    /// `Approved`, `Pending`, `Rejected`, `Disconnected` (empty when not given).
    pub fn status(&self) -> &str {
        self.properties
            .pointer("/privateLinkServiceConnectionState/status")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
    }
}

/// `Microsoft.Search/searchServices`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SearchService {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub location: String,
    #[serde(deserialize_with = "null_default")]
    pub properties: SearchServiceProperties,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct SearchServiceProperties {
    /// `{"apiKeyOnly":{}}` or `{"aadOrApiKey":{"aadAuthFailureMode":…}}`; null when
    /// `disableLocalAuth` is true.
    pub auth_options: Option<serde_json::Value>,
    pub disable_local_auth: Option<bool>,
    /// `enabled` | `disabled` (lower case for Search; compared case-insensitively).
    pub public_network_access: Option<String>,
    pub network_rule_set: Option<SearchNetworkRuleSet>,
    pub endpoint: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub private_endpoint_connections: Vec<PrivateEndpointConnection>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct SearchNetworkRuleSet {
    #[serde(deserialize_with = "null_default")]
    pub ip_rules: Vec<IpRule>,
    pub bypass: Option<String>,
}

/// How a Search service accepts callers (azure-wire.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchAuth {
    /// `authOptions.apiKeyOnly`: bearer tokens are rejected.
    ApiKeyOnly,
    /// `authOptions.aadOrApiKey`.
    AadOrApiKey,
    /// `disableLocalAuth: true`: Entra ID only.
    AadOnly,
}

impl SearchServiceProperties {
    pub fn search_auth(&self) -> SearchAuth {
        if self.disable_local_auth == Some(true) {
            return SearchAuth::AadOnly;
        }
        match self.auth_options.as_ref().and_then(|v| v.as_object()) {
            Some(o) if o.keys().any(|k| k.eq_ignore_ascii_case("aadOrApiKey")) => {
                SearchAuth::AadOrApiKey
            }
            // No authOptions on a service that keeps keys: the service default is API keys only.
            _ => SearchAuth::ApiKeyOnly,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct Subscription {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub subscription_id: String,
    #[serde(deserialize_with = "null_default")]
    pub tenant_id: String,
    #[serde(deserialize_with = "null_default")]
    pub display_name: String,
    #[serde(deserialize_with = "null_default")]
    pub state: String,
}
