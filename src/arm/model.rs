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
            // No authOptions on a service that keeps keys: the service default is API keys only
            // [M: the REST spec documents apiKeyOnly as the default; not seen on the wire].
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

/// `Microsoft.ManagedIdentity/userAssignedIdentities`: admin mode turns a managed identity's
/// resource id into the object id RBAC knows it by (`properties.principalId`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct UserAssignedIdentity {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub properties: UserAssignedIdentityProperties,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct UserAssignedIdentityProperties {
    #[serde(deserialize_with = "null_default")]
    pub principal_id: String,
    #[serde(deserialize_with = "null_default")]
    pub client_id: String,
    #[serde(deserialize_with = "null_default")]
    pub tenant_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bodies copied verbatim from reference/azure-wire.md §5.1, §5.2, §5.5 and §6.
    const ROLE_ASSIGNMENTS: &str = r#"{
  "value": [
    {
      "id": "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{n}/providers/Microsoft.Authorization/roleAssignments/{assignmentGuid}",
      "type": "Microsoft.Authorization/roleAssignments",
      "name": "{assignmentGuid}",
      "properties": {
        "roleDefinitionId": "/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/a97b65f3-24c7-4388-baec-2e87135dc908",
        "principalId": "11112222-bbbb-3333-cccc-4444dddd5555",
        "principalType": "ServicePrincipal",
        "scope": "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{n}",
        "condition": null,
        "conditionVersion": null,
        "createdOn": "2024-05-01T10:00:00.0000000Z",
        "updatedOn": "2024-05-01T10:00:00.0000000Z",
        "createdBy": "{oid}",
        "updatedBy": "{oid}",
        "delegatedManagedIdentityResourceId": null,
        "description": null
      }
    }
  ],
  "nextLink": null
}"#;

    const ROLE_DEFINITION: &str = r#"{
  "id": "/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/a97b65f3-24c7-4388-baec-2e87135dc908",
  "type": "Microsoft.Authorization/roleDefinitions",
  "name": "a97b65f3-24c7-4388-baec-2e87135dc908",
  "properties": {
    "roleName": "Cognitive Services User",
    "description": "Lets you read and list keys of Cognitive Services.",
    "type": "BuiltInRole",
    "permissions": [{"actions": ["..."], "notActions": [], "dataActions": ["Microsoft.CognitiveServices/*"], "notDataActions": []}],
    "assignableScopes": ["/"],
    "createdOn": "...", "updatedOn": "...", "createdBy": null, "updatedBy": null
  }
}"#;

    const AUTHORIZATION_FAILED: &str = r#"{"error":{"code":"AuthorizationFailed","message":"The client '11112222-bbbb-3333-cccc-4444dddd5555' with object id '11112222-bbbb-3333-cccc-4444dddd5555' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '/subscriptions/{s}/providers/Microsoft.Authorization' or the scope is invalid. If access was recently granted, please refresh your credentials."}}"#;

    const ACCOUNT: &str = r#"{
  "id": "/subscriptions/{s}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-ai",
  "name": "contoso-ai",
  "type": "Microsoft.CognitiveServices/accounts",
  "etag": "\"0b00d1c4-0000-0d00-0000-6650a1b20000\"",
  "location": "westeurope",
  "kind": "CognitiveServices",
  "sku": {"name": "S0"},
  "tags": {},
  "identity": {"type": "SystemAssigned", "principalId": "…", "tenantId": "…"},
  "systemData": {"createdBy": "…", "createdByType": "User", "createdAt": "2024-05-24T10:00:00Z", "lastModifiedBy": "…", "lastModifiedByType": "User", "lastModifiedAt": "…"},
  "properties": {
    "provisioningState": "Succeeded",
    "endpoint": "https://contoso-ai.cognitiveservices.azure.com/",
    "endpoints": {
      "Computer Vision": "https://contoso-ai.cognitiveservices.azure.com/",
      "Form Recognizer": "https://contoso-ai.cognitiveservices.azure.com/",
      "Language": "https://contoso-ai.cognitiveservices.azure.com/",
      "Speech Services Speech to Text": "https://contoso-ai.cognitiveservices.azure.com/",
      "Token Service API": "https://contoso-ai.cognitiveservices.azure.com/",
      "…": "…"
    },
    "internalId": "a1b2c3…",
    "dateCreated": "2024-05-24T10:00:00.000Z",
    "customSubDomainName": "contoso-ai",
    "capabilities": [{"name": "VirtualNetworks"}, {"name": "CustomerManagedKey"}, {"name": "MaxFineTuneCount", "value": "100"}],
    "callRateLimit": {"rules": [{"key": "default", "renewalPeriod": 1, "count": 10, "matchPatterns": [{"path": "*", "method": "*"}]}]},
    "networkAcls": {
      "defaultAction": "Deny",
      "bypass": "AzureServices",
      "ipRules": [{"value": "203.0.113.0/24"}],
      "virtualNetworkRules": [{"id": "/subscriptions/{s}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app", "state": "Succeeded", "ignoreMissingVnetServiceEndpoint": false}]
    },
    "privateEndpointConnections": [{
      "id": "…/accounts/contoso-ai/privateEndpointConnections/pe-conn",
      "name": "pe-conn",
      "type": "Microsoft.CognitiveServices/accounts/privateEndpointConnections",
      "properties": {
        "privateEndpoint": {"id": "/subscriptions/{s}/resourceGroups/rg-net/providers/Microsoft.Network/privateEndpoints/pe-ai"},
        "privateLinkServiceConnectionState": {"status": "Approved", "description": "Auto-Approved", "actionsRequired": "None"},
        "provisioningState": "Succeeded",
        "groupIds": ["account"]
      }
    }],
    "publicNetworkAccess": "Disabled",
    "disableLocalAuth": true,
    "restrictOutboundNetworkAccess": false,
    "allowedFqdnList": [],
    "isMigrated": false,
    "dynamicThrottlingEnabled": false,
    "apiProperties": {}
  }
}"#;

    #[test]
    fn role_assignment_listing_parses() {
        let page: Page<RoleAssignment> = serde_json::from_str(ROLE_ASSIGNMENTS).unwrap();
        assert_eq!(page.next_link, None);
        let a = &page.value[0];
        assert_eq!(a.name, "{assignmentGuid}");
        assert_eq!(a.role_guid(), "a97b65f3-24c7-4388-baec-2e87135dc908");
        assert_eq!(
            a.properties.principal_id,
            "11112222-bbbb-3333-cccc-4444dddd5555"
        );
        assert_eq!(a.properties.principal_type, "ServicePrincipal");
        assert_eq!(a.condition(), None);
        assert_eq!(
            a.created_on(),
            Some(time::macros::datetime!(2024-05-01 10:00 UTC))
        );
    }

    #[test]
    fn role_definition_parses() {
        let d: RoleDefinition = serde_json::from_str(ROLE_DEFINITION).unwrap();
        assert_eq!(d.guid(), "a97b65f3-24c7-4388-baec-2e87135dc908");
        assert_eq!(d.display_name(), "Cognitive Services User");
        assert_eq!(d.properties.role_type, "BuiltInRole");
        assert_eq!(
            d.properties.permissions[0].data_actions,
            vec!["Microsoft.CognitiveServices/*"]
        );
        assert!(d.has_data_actions());
    }

    #[test]
    fn error_envelope_parses() {
        let e: ErrorEnvelope = serde_json::from_str(AUTHORIZATION_FAILED).unwrap();
        assert_eq!(e.error.code, "AuthorizationFailed");
        assert!(
            e.error
                .message
                .contains("Microsoft.Authorization/roleAssignments/read")
        );
    }

    #[test]
    fn account_parses_with_network_rules_and_private_endpoints() {
        let a: Account = serde_json::from_str(ACCOUNT).unwrap();
        assert_eq!(a.name, "contoso-ai");
        assert_eq!(a.kind, "CognitiveServices");
        let p = &a.properties;
        assert_eq!(p.custom_sub_domain_name.as_deref(), Some("contoso-ai"));
        assert_eq!(p.disable_local_auth, Some(true));
        assert_eq!(p.public_network_access.as_deref(), Some("Disabled"));
        let acls = p.network_acls.as_ref().unwrap();
        assert_eq!(acls.default_action, "Deny");
        assert_eq!(acls.ip_rules[0].value, "203.0.113.0/24");
        assert_eq!(p.private_endpoint_connections.len(), 1);
        assert_eq!(p.private_endpoint_connections[0].status(), "Approved");
        assert!(
            p.endpoint_urls()
                .contains(&"https://contoso-ai.cognitiveservices.azure.com/")
        );
    }

    #[test]
    fn nulls_and_missing_fields_take_defaults() {
        let a: Account = serde_json::from_str(
            r#"{"id":"/x","name":"old","kind":"TextAnalytics","properties":{"endpoint":"https://westeurope.api.cognitive.microsoft.com/","networkAcls":null,"privateEndpointConnections":null,"endpoints":null}}"#,
        )
        .unwrap();
        assert_eq!(a.properties.custom_sub_domain_name, None);
        assert_eq!(a.properties.disable_local_auth, None);
        assert!(a.properties.private_endpoint_connections.is_empty());
        let d: DenyAssignment = serde_json::from_str(
            r#"{"id":"/d","properties":{"permissions":[{"actions":null,"dataActions":["*"],"notDataActions":null}],"principals":[{"id":"00000000-0000-0000-0000-000000000000","type":"SystemDefined"}],"excludePrincipals":null,"scope":"/subscriptions/s","doNotApplyToChildScopes":null}}"#,
        )
        .unwrap();
        assert_eq!(d.properties.permissions[0].data_actions, vec!["*"]);
        assert!(d.properties.exclude_principals.is_empty());
        let page: Page<Subscription> = serde_json::from_str(
            r#"{"value":[{"id":"/subscriptions/5e2a","subscriptionId":"5e2a","tenantId":"0f6c","displayName":"Prod","state":"Enabled"}]}"#,
        )
        .unwrap();
        assert_eq!(page.value[0].tenant_id, "0f6c");
        let empty: Page<Account> =
            serde_json::from_str(r#"{"value":null,"nextLink":null}"#).unwrap();
        assert!(empty.value.is_empty());
    }

    #[test]
    fn search_auth_options_are_read() {
        let svc = |props: &str| -> SearchServiceProperties {
            serde_json::from_str::<SearchService>(&format!(
                r#"{{"id":"/s","name":"srch","properties":{props}}}"#
            ))
            .unwrap()
            .properties
        };
        assert_eq!(
            svc(r#"{"authOptions":{"apiKeyOnly":{}}}"#).search_auth(),
            SearchAuth::ApiKeyOnly
        );
        assert_eq!(
            svc(r#"{"authOptions":{"aadOrApiKey":{"aadAuthFailureMode":"http401WithBearerChallenge"}}}"#).search_auth(),
            SearchAuth::AadOrApiKey
        );
        assert_eq!(
            svc(r#"{"authOptions":null,"disableLocalAuth":true}"#).search_auth(),
            SearchAuth::AadOnly
        );
        let p = svc(
            r#"{"publicNetworkAccess":"disabled","networkRuleSet":{"ipRules":[{"value":"198.51.100.0/24"}]}}"#,
        );
        assert_eq!(
            p.network_rule_set.unwrap().ip_rules[0].value,
            "198.51.100.0/24"
        );
    }
}
