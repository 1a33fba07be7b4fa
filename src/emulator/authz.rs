//! Who is calling, and may they? Pure functions shared by the emulated ARM and data planes.
//!
//! Two halves: [`judge_token`] turns a bearer token into a [`Caller`] (or the reason it is not
//! one), and [`check_access`] decides whether a principal holds an action at a scope under the
//! scenario's role assignments and deny assignments (reference/data-actions.md §1):
//! - an assignment at a scope applies to that scope and everything beneath it
//!   (subscription → resource group → resource);
//! - `actions` and `dataActions` are separate lists, matched by `crate::arm::actions` (case-
//!   insensitive, `*` spans `/`); `notDataActions` subtract only within their own role;
//! - deny assignments override every grant, and may name a group;
//! - group membership is transitive;
//! - an assignment with `effective_after_s` grants nothing until that many seconds after the
//!   emulator started (RBAC propagation);
//! - an ABAC condition (an assignment's `condition`, or the one a built-in role's permission
//!   block carries, such as Foundry Project Manager's delegation condition) grants only when it
//!   holds for the request. Azure evaluates it per request [D]; the emulator reads it itself
//!   (`super::condition`, not the tool's evaluator) against a request that carries its action
//!   and no other attribute, so a condition about other actions holds and one that needs a
//!   request attribute (the role being assigned, a blob tag) does not.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::scenario::{
    CustomRoleSpec, DenyAssignmentSpec, IdentitySpec, IdentityType, RoleAssignmentSpec,
    RoleEligibilitySpec, Scenario, ScopeRef, derived_id,
};
use super::tokens::{TokenSigner, VerifyError};
use crate::arm::actions::{ActionKind, Permission};
use crate::arm::builtin_roles::{self as roles, BuiltinRole};

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// Azure's token validators (Microsoft.IdentityModel) allow five minutes of clock skew on `nbf`
/// and `exp` [M].
pub const CLOCK_SKEW_S: i64 = 300;

/// A token that passed signature, audience and lifetime checks. The tenant is left to the
/// caller: ARM compares it with the subscription's tenant, data planes with the resource's,
/// and each answers with its own body.
#[derive(Debug, Clone)]
pub struct Caller {
    pub oid: String,
    pub tid: String,
    pub aud: String,
    /// `upn` for users (ARM's AuthorizationFailed names users by it).
    pub upn: Option<String>,
    pub exp: i64,
    pub claims: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProblem {
    /// Not a JWT at all.
    Malformed,
    /// A JWT, but not signed by the emulator's authority.
    BadSignature,
    WrongAudience {
        aud: String,
    },
    Expired {
        exp: i64,
        now: i64,
    },
    NotYetValid {
        nbf: i64,
        now: i64,
    },
    /// Signed, but without `oid`/`tid`: not something Entra would issue.
    MissingClaims,
}

/// Judge a bearer token: signature, then audience (one of `audiences`, compared exactly as
/// Azure does: the trailing-slash variants must be listed), then lifetime.
pub fn judge_token(
    signer: &TokenSigner,
    token: &str,
    audiences: &[&str],
    now_unix: i64,
) -> Result<Caller, TokenProblem> {
    let claims = signer.verify(token).map_err(|e| match e {
        VerifyError::Malformed => TokenProblem::Malformed,
        VerifyError::BadSignature => TokenProblem::BadSignature,
    })?;
    let aud = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // A sovereign cloud's audience counts as its public twin (`TenantCloud::public_audience`).
    let twin = super::scenario::TenantCloud::public_audience(aud);
    if !audiences.contains(&aud) && !audiences.contains(&twin.as_str()) {
        return Err(TokenProblem::WrongAudience {
            aud: aud.to_string(),
        });
    }
    let number = |name: &str| claims.get(name).and_then(Value::as_f64).map(|v| v as i64);
    let exp = number("exp").ok_or(TokenProblem::MissingClaims)?;
    if now_unix >= exp.saturating_add(CLOCK_SKEW_S) {
        return Err(TokenProblem::Expired { exp, now: now_unix });
    }
    if let Some(nbf) = number("nbf")
        && nbf > now_unix.saturating_add(CLOCK_SKEW_S)
    {
        return Err(TokenProblem::NotYetValid { nbf, now: now_unix });
    }
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let oid = text("oid").ok_or(TokenProblem::MissingClaims)?;
    let tid = text("tid").ok_or(TokenProblem::MissingClaims)?;
    Ok(Caller {
        oid,
        tid,
        aud: aud.to_string(),
        upn: text("upn"),
        exp,
        claims,
    })
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Principals, roles, scopes
// ---------------------------------------------------------------------------------------------

/// A scenario principal, found by object id.
#[derive(Debug, Clone, Copy)]
pub enum PrincipalRef<'a> {
    Identity(&'a IdentitySpec),
    Group(&'a str),
}

impl PrincipalRef<'_> {
    pub fn name(&self) -> &str {
        match self {
            PrincipalRef::Identity(i) => i.name(),
            PrincipalRef::Group(g) => g,
        }
    }
    /// ARM's `principalType`: managed identities are service principals to RBAC.
    pub fn principal_type(&self) -> &'static str {
        match self {
            PrincipalRef::Identity(i) if i.kind == IdentityType::User => "User",
            PrincipalRef::Identity(_) => "ServicePrincipal",
            PrincipalRef::Group(_) => "Group",
        }
    }
}

pub fn principal_by_object_id<'a>(scenario: &'a Scenario, oid: &str) -> Option<PrincipalRef<'a>> {
    if let Some(identity) = scenario
        .identities
        .iter()
        .find(|i| i.object_id().eq_ignore_ascii_case(oid))
    {
        return Some(PrincipalRef::Identity(identity));
    }
    scenario
        .groups
        .iter()
        .find(|g| g.object_id().eq_ignore_ascii_case(oid))
        .map(|g| PrincipalRef::Group(g.name.get_ref()))
}

pub fn principal_by_name<'a>(scenario: &'a Scenario, name: &str) -> Option<PrincipalRef<'a>> {
    // `app:NAME`, an app registration object: assigned as a service principal would be [I]
    // (ARM takes the object id it is given); it matches no caller, so it never authorizes.
    if let Some(app) = scenario.app_registration(name) {
        return Some(PrincipalRef::Identity(app));
    }
    if let Some(identity) = scenario.identity(name) {
        return Some(PrincipalRef::Identity(identity));
    }
    scenario
        .group(name)
        .map(|g| PrincipalRef::Group(g.name.get_ref()))
}

/// Object id of a principal name (identity or group).
pub fn object_id_of(scenario: &Scenario, name: &str) -> String {
    if let Some(app) = scenario.app_registration(name) {
        return app.application_object_id();
    }
    match (scenario.identity(name), scenario.group(name)) {
        (Some(i), _) => i.object_id(),
        (None, Some(g)) => g.object_id(),
        (None, None) => derived_id("object", name),
    }
}

/// The names an access check matches assignments against: the principal itself and every group
/// it belongs to, transitively. Empty when the object id is not in the scenario.
pub fn principal_closure(scenario: &Scenario, oid: &str) -> BTreeSet<String> {
    let Some(principal) = principal_by_object_id(scenario, oid) else {
        // An app registration object (`assignedTo()` with its id): only what names it.
        return scenario
            .app_registration_by_object_id(oid)
            .map(|app| BTreeSet::from([format!("{}{}", super::scenario::APP_PREFIX, app.name())]))
            .unwrap_or_default();
    };
    let mut names = scenario.groups_of(principal.name());
    names.insert(principal.name().to_string());
    names
}

/// A role as ARM describes it, whether built in or scenario-defined.
#[derive(Debug, Clone)]
pub struct ResolvedRole {
    pub id: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permission: Permission,
}

impl From<&BuiltinRole> for ResolvedRole {
    fn from(r: &BuiltinRole) -> Self {
        ResolvedRole {
            id: r.id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            builtin: true,
            // Every tracked built-in role has exactly one permission block, as ARM serves them.
            permission: r.permissions.first().cloned().unwrap_or_default(),
        }
    }
}

impl From<&CustomRoleSpec> for ResolvedRole {
    fn from(r: &CustomRoleSpec) -> Self {
        ResolvedRole {
            id: r.role_id(),
            name: r.name.get_ref().clone(),
            description: String::new(),
            builtin: false,
            permission: Permission {
                actions: r.actions.clone(),
                not_actions: r.not_actions.clone(),
                data_actions: r.data_actions.clone(),
                not_data_actions: r.not_data_actions.clone(),
                ..Default::default()
            },
        }
    }
}

/// A role by display name: the scenario's custom roles first (a tenant may shadow a name), then
/// the built-ins with their former names.
pub fn role_by_name(scenario: &Scenario, name: &str) -> Option<ResolvedRole> {
    scenario
        .custom_roles
        .iter()
        .find(|r| r.name.get_ref().eq_ignore_ascii_case(name))
        .map(ResolvedRole::from)
        .or_else(|| roles::builtin_by_name(name).map(ResolvedRole::from))
}

pub fn role_by_id(scenario: &Scenario, id: &str) -> Option<ResolvedRole> {
    scenario
        .custom_roles
        .iter()
        .find(|r| r.role_id().eq_ignore_ascii_case(id))
        .map(ResolvedRole::from)
        .or_else(|| roles::builtin_by_id(id).map(ResolvedRole::from))
}

/// Every role the tenant knows: built-ins, then custom roles.
pub fn all_roles(scenario: &Scenario) -> Vec<ResolvedRole> {
    roles::BUILTIN_ROLES
        .iter()
        .map(ResolvedRole::from)
        .chain(scenario.custom_roles.iter().map(ResolvedRole::from))
        .collect()
}

fn trim_scope(scope: &str) -> &str {
    scope.trim_end_matches('/')
}

/// Does an assignment at `outer` apply at `inner`? ARM ids are case-insensitive, and a scope
/// covers itself and every id beneath it (never a sibling that merely shares a prefix).
pub fn scope_covers(outer: &str, inner: &str) -> bool {
    let (outer, inner) = (
        trim_scope(outer).to_ascii_lowercase(),
        trim_scope(inner).to_ascii_lowercase(),
    );
    if outer.is_empty() {
        return true;
    }
    inner == outer
        || (inner.starts_with(&outer) && inner.as_bytes().get(outer.len()) == Some(&b'/'))
}

/// Does an assignment at `outer` apply at `inner`, management groups included? A management
/// group covers the groups and subscriptions beneath it (and so everything in them); the tenant
/// root group, named by the tenant id, covers every subscription of the tenant.
pub fn covers(scenario: &Scenario, outer: &str, inner: &str) -> bool {
    if scope_covers(outer, inner) {
        return true;
    }
    let Some(group) = management_group_name(outer) else {
        return false;
    };
    scenario
        .management_groups_above(inner)
        .iter()
        .any(|m| m.eq_ignore_ascii_case(group))
}

/// The name of a management-group scope (`/providers/Microsoft.Management/managementGroups/N`).
pub fn management_group_name(scope: &str) -> Option<&str> {
    let parts: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        [p, ns, mgs, name]
            if p.eq_ignore_ascii_case("providers")
                && ns.eq_ignore_ascii_case("Microsoft.Management")
                && mgs.eq_ignore_ascii_case("managementGroups") =>
        {
            Some(name)
        }
        _ => None,
    }
}

pub fn same_scope(a: &str, b: &str) -> bool {
    trim_scope(a).eq_ignore_ascii_case(trim_scope(b))
}

/// A role assignment with everything ARM shows about it resolved.
#[derive(Debug, Clone)]
pub struct AssignmentView<'a> {
    /// Position in `scenario.role_assignments`.
    pub index: usize,
    pub spec: &'a RoleAssignmentSpec,
    /// The assignment's GUID (its `name`), derived from what it assigns.
    pub name: String,
    pub scope: String,
    pub principal_id: String,
    pub principal_type: &'static str,
    pub role: ResolvedRole,
}

impl AssignmentView<'_> {
    pub fn id(&self) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            self.scope, self.name
        )
    }
    pub fn has_condition(&self) -> bool {
        !self.spec.condition.trim().is_empty()
    }
    /// Do the assignment's condition and its role's own condition both hold for `action`?
    pub fn conditions_hold(&self, action: &str) -> bool {
        let assignment = self.spec.condition.trim();
        let role = self
            .role
            .permission
            .condition
            .as_deref()
            .unwrap_or("")
            .trim();
        [assignment, role]
            .iter()
            .all(|c| c.is_empty() || super::condition::holds(c, action))
    }
    pub fn is_pending(&self, elapsed: Duration) -> bool {
        elapsed < Duration::from_secs(self.spec.effective_after_s)
    }
    /// Removed (`revoked_after_s`): gone from ARM at once.
    pub fn is_removed(&self) -> bool {
        self.spec.revoked_after_s.is_some()
    }
    /// Time-bound, and its end has come: PIM removes it from ARM and from the data plane.
    /// [L] Azure may honour it for a short while after, as after any removal; the emulator
    /// ends it at once.
    pub fn has_ended(&self, elapsed: Duration) -> bool {
        self.spec
            .expires_after_s
            .is_some_and(|s| elapsed >= Duration::from_secs(s))
    }
    /// Removed, and the data plane has caught up with the removal.
    pub fn removal_has_propagated(&self, elapsed: Duration) -> bool {
        self.spec
            .revoked_after_s
            .is_some_and(|s| elapsed >= Duration::from_secs(s))
    }
}

/// The role assignments ARM knows of `elapsed` after the start: a removed one is gone from
/// listings at once, although the data plane may still honour it for a while; a time-bound one
/// is gone once it has ended.
pub fn arm_assignments(scenario: &Scenario, elapsed: Duration) -> Vec<AssignmentView<'_>> {
    assignments(scenario)
        .into_iter()
        .filter(|a| !a.is_removed() && !a.has_ended(elapsed))
        .collect()
}

/// Every role assignment of the scenario, resolved. Assignments whose role or principal does
/// not resolve are skipped (the scenario parser already rejects them).
pub fn assignments(scenario: &Scenario) -> Vec<AssignmentView<'_>> {
    scenario
        .role_assignments
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| {
            let principal = principal_by_name(scenario, spec.principal.get_ref())?;
            let role = role_by_name(scenario, spec.role.get_ref())?;
            let scope = scenario.scope_id(&ScopeRef::parse(spec.scope.get_ref()).ok()?);
            // Azure refuses a second assignment of the same role to the same principal at the
            // same scope, so these three make a stable, unique name.
            let name = derived_id(
                "role-assignment",
                &format!("{}|{}|{}", spec.principal.get_ref(), role.id, scope),
            );
            Some(AssignmentView {
                index,
                spec,
                name,
                scope,
                principal_id: object_id_of(scenario, spec.principal.get_ref()),
                principal_type: principal.principal_type(),
                role,
            })
        })
        .collect()
}

/// Deny assignments name Everyone with the all-zero object id (principal type `SystemDefined`).
pub const EVERYONE_ID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Clone)]
pub struct DenyView<'a> {
    pub index: usize,
    pub spec: &'a DenyAssignmentSpec,
    pub name: String,
    pub scope: String,
    pub principal_id: String,
    pub principal_type: &'static str,
    /// `excludePrincipals`: (object id, principal type).
    pub excluded: Vec<(String, &'static str)>,
    pub permission: Permission,
}

impl DenyView<'_> {
    pub fn id(&self) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/denyAssignments/{}",
            self.scope, self.name
        )
    }

    /// Does this deny assignment apply to a caller whose closure (itself and its groups, by
    /// name) is `names`, at `scope`, for `action`? Azure's rules [D] (deny-assignments.md):
    /// Everyone or a named principal (a group covers its members), minus `excludePrincipals`
    /// (a group excludes its members); the scope and, unless `doNotApplyToChildScopes`, every
    /// scope beneath it; and an action its permissions list, less their `not*` lists.
    pub fn denies(
        &self,
        scenario: &Scenario,
        names: &BTreeSet<String>,
        scope: &str,
        kind: ActionKind,
        action: &str,
    ) -> bool {
        let targeted = self.spec.is_everyone() || names.contains(self.spec.principal.get_ref());
        let excluded = self
            .spec
            .exclude
            .iter()
            .any(|x| names.contains(x.get_ref()));
        let reaches = if self.spec.apply_to_child_scopes {
            covers(scenario, &self.scope, scope)
        } else {
            same_scope(&self.scope, scope)
        };
        let (listed, carved) = match kind {
            ActionKind::Action => (&self.spec.actions, &self.spec.not_actions),
            ActionKind::DataAction => (&self.spec.data_actions, &self.spec.not_data_actions),
        };
        targeted
            && !excluded
            && reaches
            && listed.iter().any(|p| deny_pattern_matches(p, action))
            && !carved.iter().any(|p| deny_pattern_matches(p, action))
    }
}

/// The emulator's own reading of an RBAC pattern for deny assignments: case-insensitive, `*`
/// stands for any run of characters (`/` included). Written apart from the tool's matcher, so a
/// bug in one is caught by the other.
fn deny_pattern_matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    let action = action.trim().to_ascii_lowercase();
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = action.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

pub fn deny_assignments(scenario: &Scenario) -> Vec<DenyView<'_>> {
    let principal_of = |name: &str| -> Option<(String, &'static str)> {
        let p = principal_by_name(scenario, name)?;
        Some((object_id_of(scenario, name), p.principal_type()))
    };
    scenario
        .deny_assignments
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| {
            let (principal_id, principal_type) = if spec.is_everyone() {
                (EVERYONE_ID.to_string(), "SystemDefined")
            } else {
                principal_of(spec.principal.get_ref())?
            };
            let scope = scenario.scope_id(&ScopeRef::parse(spec.scope.get_ref()).ok()?);
            let name = derived_id(
                "deny-assignment",
                &format!("{index}|{}|{scope}", spec.principal.get_ref()),
            );
            Some(DenyView {
                index,
                spec,
                name,
                scope,
                principal_id,
                principal_type,
                excluded: spec
                    .exclude
                    .iter()
                    .filter_map(|x| principal_of(x.get_ref()))
                    .collect(),
                permission: Permission {
                    actions: spec.actions.clone(),
                    not_actions: spec.not_actions.clone(),
                    data_actions: spec.data_actions.clone(),
                    not_data_actions: spec.not_data_actions.clone(),
                    ..Default::default()
                },
            })
        })
        .collect()
}

/// A PIM eligibility, resolved: the principal may activate the role at the scope.
#[derive(Debug, Clone)]
pub struct EligibilityView<'a> {
    pub spec: &'a RoleEligibilitySpec,
    /// The instance GUID (its `name`).
    pub name: String,
    /// The schedule it is an instance of.
    pub schedule: String,
    pub scope: String,
    pub principal_id: String,
    pub principal_type: &'static str,
    pub role: ResolvedRole,
}

pub fn eligibilities(scenario: &Scenario) -> Vec<EligibilityView<'_>> {
    scenario
        .role_eligibilities
        .iter()
        .filter_map(|spec| {
            let principal = principal_by_name(scenario, spec.principal.get_ref())?;
            let role = role_by_name(scenario, spec.role.get_ref())?;
            let scope = scenario.scope_id(&ScopeRef::parse(spec.scope.get_ref()).ok()?);
            let key = format!("{}|{}|{}", spec.principal.get_ref(), role.id, scope);
            Some(EligibilityView {
                spec,
                name: derived_id("eligibility-instance", &key),
                schedule: derived_id("eligibility-schedule", &key),
                scope,
                principal_id: object_id_of(scenario, spec.principal.get_ref()),
                principal_type: principal.principal_type(),
                role,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The decision
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
pub struct AccessQuery<'a> {
    pub principal_oid: &'a str,
    /// The ARM id the operation targets (an account, a search service, a resource group…).
    pub scope: &'a str,
    pub action: &'a str,
    pub kind: ActionKind,
    /// Time since the emulator started, for `effective_after_s`.
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Granted by the role assignment at this index of `scenario.role_assignments`, through
    /// this pattern of its role.
    Allowed {
        assignment: usize,
        pattern: String,
    },
    Denied(DenyReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// The deny assignment at this index of `scenario.deny_assignments` blocks the action.
    DenyAssignment { index: usize },
    /// Nothing grants it. Assignments that would have granted it, had they been effective, are
    /// listed: still propagating, or with an ABAC condition that does not hold for the request.
    NoGrant {
        pending: Vec<usize>,
        conditional: Vec<usize>,
    },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// Decide whether the principal holds `query.action` at `query.scope`.
pub fn check_access(scenario: &Scenario, query: &AccessQuery) -> Decision {
    let names = principal_closure(scenario, query.principal_oid);
    if let Some(deny) = deny_assignments(scenario)
        .iter()
        .find(|d| d.denies(scenario, &names, query.scope, query.kind, query.action))
    {
        return Decision::Denied(DenyReason::DenyAssignment { index: deny.index });
    }
    let mut pending = Vec::new();
    let mut conditional = Vec::new();
    for assignment in assignments(scenario) {
        if !names.contains(assignment.spec.principal.get_ref())
            || !covers(scenario, &assignment.scope, query.scope)
            || assignment.removal_has_propagated(query.elapsed)
            || assignment.has_ended(query.elapsed)
        {
            continue;
        }
        let Some(pattern) = assignment.role.permission.grants(query.kind, query.action) else {
            continue;
        };
        if assignment.is_pending(query.elapsed) {
            pending.push(assignment.index);
        } else if !assignment.conditions_hold(query.action) {
            conditional.push(assignment.index);
        } else {
            return Decision::Allowed {
                assignment: assignment.index,
                pattern: pattern.to_string(),
            };
        }
    }
    Decision::Denied(DenyReason::NoGrant {
        pending,
        conditional,
    })
}

/// The caller's own effective permissions at a scope, as ARM's permissions API reports them:
/// one permission block per contributing role assignment (at or above the scope, effective).
/// Like the real API, deny assignments are not reflected and conditions are not evaluated [M].
pub fn effective_permissions(
    scenario: &Scenario,
    oid: &str,
    scope: &str,
    elapsed: Duration,
) -> Vec<Permission> {
    let names = principal_closure(scenario, oid);
    arm_assignments(scenario, elapsed)
        .into_iter()
        .filter(|a| {
            names.contains(a.spec.principal.get_ref())
                && covers(scenario, &a.scope, scope)
                && !a.is_pending(elapsed)
        })
        .map(|a| a.role.permission)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[[identity]]
name = "ci-app"
type = "service_principal"

[[identity]]
name = "vm-mi"
type = "managed_identity"

[[identity]]
name = "bob"
type = "user"

[[group]]
name = "inner"
members = ["alice"]

[[group]]
name = "outer"
members = ["inner"]

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "oai"

[[account]]
name = "oai-2"
kind = "OpenAI"
custom_subdomain = "oai-2"

[[account]]
name = "lang"
kind = "TextAnalytics"
resource_group = "rg-other"

[[custom_role]]
name = "Everything Cognitive"
data_actions = ["Microsoft.CognitiveServices/accounts/*"]
not_data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/models/read"]

[[custom_role]]
name = "Wild OpenAI"
data_actions = ["microsoft.cognitiveservices/*/OPENAI/*"]

[[role_assignment]]
principal = "outer"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services User"
scope = "subscription"

[[role_assignment]]
principal = "vm-mi"
role = "Everything Cognitive"
scope = "resource_group:rg-ai"

[[role_assignment]]
principal = "bob"
role = "Cognitive Services User"
scope = "account:oai-2"

[[role_assignment]]
principal = "bob"
role = "Wild OpenAI"
scope = "account:oai"
effective_after_s = 120

[[role_assignment]]
principal = "bob"
role = "Cognitive Services User"
scope = "resource_group:rg-other"
condition = "@Resource[x] StringEquals 'y'"

[[deny_assignment]]
principal = "inner"
scope = "account:oai-2"
data_actions = ["Microsoft.CognitiveServices/*"]

[[role_assignment]]
principal = "alice"
role = "Cognitive Services User"
scope = "account:oai-2"
"#;

    const MODELS_READ: &str = "Microsoft.CognitiveServices/accounts/OpenAI/models/read";

    fn scenario() -> Scenario {
        Scenario::parse(SCENARIO, "t.toml").unwrap()
    }

    fn oid(s: &Scenario, name: &str) -> String {
        s.identity(name).unwrap().object_id()
    }

    fn decide(s: &Scenario, who: &str, account: &str, action: &str, elapsed: u64) -> Decision {
        let scope = s
            .account(account)
            .unwrap()
            .resource_id(&s.tenant.subscription);
        check_access(
            s,
            &AccessQuery {
                principal_oid: &oid(s, who),
                scope: &scope,
                action,
                kind: ActionKind::DataAction,
                elapsed: Duration::from_secs(elapsed),
            },
        )
    }

    #[test]
    fn nested_group_grants() {
        let s = scenario();
        assert_eq!(
            decide(&s, "alice", "oai", MODELS_READ, 0),
            Decision::Allowed {
                assignment: 0,
                pattern: "Microsoft.CognitiveServices/accounts/OpenAI/*/read".into()
            }
        );
    }

    #[test]
    fn subscription_role_is_inherited_by_accounts_in_every_group() {
        let s = scenario();
        assert!(decide(&s, "ci-app", "oai", MODELS_READ, 0).is_allowed());
        assert!(
            decide(
                &s,
                "ci-app",
                "lang",
                "Microsoft.CognitiveServices/accounts/Language/analyze-text/action",
                0
            )
            .is_allowed()
        );
    }

    #[test]
    fn custom_wildcard_grants_and_not_data_actions_subtract_within_the_role() {
        let s = scenario();
        let analyze = "Microsoft.CognitiveServices/accounts/Language/analyze-text/action";
        assert!(decide(&s, "vm-mi", "oai", analyze, 0).is_allowed());
        assert_eq!(
            decide(&s, "vm-mi", "oai", MODELS_READ, 0),
            Decision::Denied(DenyReason::NoGrant {
                pending: vec![],
                conditional: vec![]
            })
        );
        // rg-ai does not contain the account in rg-other.
        assert!(!decide(&s, "vm-mi", "lang", analyze, 0).is_allowed());
    }

    #[test]
    fn a_role_on_a_sibling_account_does_not_apply() {
        let s = scenario();
        // bob holds Cognitive Services User on oai-2 only ("oai" is a prefix of "oai-2").
        assert!(decide(&s, "bob", "oai-2", MODELS_READ, 1000).is_allowed());
        let s2 = Scenario::parse(
            &SCENARIO.replace("effective_after_s = 120", "effective_after_s = 100000"),
            "t.toml",
        )
        .unwrap();
        assert!(!decide(&s2, "bob", "oai", MODELS_READ, 0).is_allowed());
    }

    #[test]
    fn propagation_pending_then_effective() {
        let s = scenario();
        assert_eq!(
            decide(&s, "bob", "oai", MODELS_READ, 119),
            Decision::Denied(DenyReason::NoGrant {
                pending: vec![4],
                conditional: vec![]
            })
        );
        assert_eq!(
            decide(&s, "bob", "oai", MODELS_READ, 120),
            Decision::Allowed {
                assignment: 4,
                pattern: "microsoft.cognitiveservices/*/OPENAI/*".into()
            }
        );
    }

    #[test]
    fn a_condition_on_an_absent_request_attribute_does_not_grant() {
        let s = scenario();
        assert_eq!(
            decide(
                &s,
                "bob",
                "lang",
                "Microsoft.CognitiveServices/accounts/Language/analyze-text/action",
                0
            ),
            Decision::Denied(DenyReason::NoGrant {
                pending: vec![],
                conditional: vec![5]
            })
        );
    }

    #[test]
    fn a_condition_about_other_actions_grants() {
        let text = format!(
            "{SCENARIO}\n[[role_assignment]]\nprincipal = \"vm-mi\"\nrole = \"Cognitive Services User\"\nscope = \"account:lang\"\ncondition = \"!(ActionMatches{{'Microsoft.Storage/*'}}) OR @Request[x] StringEquals 'y'\"\n"
        );
        let s = Scenario::parse(&text, "t.toml").unwrap();
        let action = "Microsoft.CognitiveServices/accounts/Language/analyze-text/action";
        assert!(decide(&s, "vm-mi", "lang", action, 0).is_allowed());
    }

    #[test]
    fn a_built_in_delegation_condition_leaves_data_actions_and_refuses_unmodelled_writes() {
        let text = format!(
            "{SCENARIO}\n[[role_assignment]]\nprincipal = \"vm-mi\"\nrole = \"Azure AI Project Manager\"\nscope = \"account:lang\"\n"
        );
        let s = Scenario::parse(&text, "t.toml").unwrap();
        let data = "Microsoft.CognitiveServices/accounts/AIServices/agents/read";
        assert!(decide(&s, "vm-mi", "lang", data, 0).is_allowed());
        let scope = s
            .account("lang")
            .unwrap()
            .resource_id(&s.tenant.subscription);
        let write = AccessQuery {
            principal_oid: &oid(&s, "vm-mi"),
            scope: &scope,
            action: "Microsoft.Authorization/roleAssignments/write",
            kind: ActionKind::Action,
            elapsed: Duration::from_secs(0),
        };
        assert!(!check_access(&s, &write).is_allowed());
        let read = AccessQuery {
            action: "Microsoft.CognitiveServices/accounts/projects/write",
            ..write
        };
        assert!(check_access(&s, &read).is_allowed());
    }

    #[test]
    fn deny_assignment_on_a_group_overrides_a_direct_grant() {
        let s = scenario();
        assert_eq!(
            decide(&s, "alice", "oai-2", MODELS_READ, 0),
            Decision::Denied(DenyReason::DenyAssignment { index: 0 })
        );
        // The deny names data actions only; Actions still flow from the same role.
        let scope = s
            .account("oai-2")
            .unwrap()
            .resource_id(&s.tenant.subscription);
        assert!(
            check_access(
                &s,
                &AccessQuery {
                    principal_oid: &oid(&s, "alice"),
                    scope: &scope,
                    action: "Microsoft.CognitiveServices/accounts/read",
                    kind: ActionKind::Action,
                    elapsed: Duration::ZERO,
                }
            )
            .is_allowed()
        );
    }

    #[test]
    fn management_roles_never_grant_data_actions_and_unknown_principals_get_nothing() {
        let text = format!(
            "{SCENARIO}\n[[role_assignment]]\nprincipal = \"vm-mi\"\nrole = \"Owner\"\nscope = \"subscription\"\n"
        );
        let s = Scenario::parse(&text, "t.toml").unwrap();
        assert!(!decide(&s, "vm-mi", "oai", MODELS_READ, 0).is_allowed());
        let scope = s
            .account("oai")
            .unwrap()
            .resource_id(&s.tenant.subscription);
        let stranger = check_access(
            &s,
            &AccessQuery {
                principal_oid: "00000000-0000-0000-0000-000000000001",
                scope: &scope,
                action: MODELS_READ,
                kind: ActionKind::DataAction,
                elapsed: Duration::ZERO,
            },
        );
        assert!(!stranger.is_allowed());
    }

    #[test]
    fn scope_coverage_is_by_segment_and_case_insensitive() {
        assert!(scope_covers(
            "/subscriptions/S",
            "/subscriptions/s/resourceGroups/x"
        ));
        assert!(scope_covers("/subscriptions/s/", "/subscriptions/s"));
        assert!(!scope_covers(
            "/subscriptions/s/resourceGroups/rg",
            "/subscriptions/s/resourceGroups/rg-2"
        ));
        assert!(!scope_covers(
            "/subscriptions/s/resourceGroups/rg",
            "/subscriptions/s"
        ));
    }

    #[test]
    fn effective_permissions_lists_one_block_per_assignment() {
        let s = scenario();
        let scope = s
            .account("oai")
            .unwrap()
            .resource_id(&s.tenant.subscription);
        let alice = effective_permissions(&s, &oid(&s, "alice"), &scope, Duration::ZERO);
        assert_eq!(alice.len(), 1);
        assert_eq!(
            alice[0].data_actions[0],
            "Microsoft.CognitiveServices/accounts/OpenAI/*/read"
        );
        let bob_early = effective_permissions(&s, &oid(&s, "bob"), &scope, Duration::ZERO);
        assert!(bob_early.is_empty());
        let bob_late = effective_permissions(&s, &oid(&s, "bob"), &scope, Duration::from_secs(500));
        assert_eq!(bob_late.len(), 1);
    }

    #[test]
    fn tokens_are_judged_signature_audience_lifetime() {
        let signer = TokenSigner::generate().unwrap();
        let now = 1_700_000_000;
        let good = json!({"aud": "https://cognitiveservices.azure.com", "oid": "o", "tid": "t",
                          "exp": now + 3600, "nbf": now - 10, "iat": now - 10});
        let audiences = ["https://cognitiveservices.azure.com"];
        let caller = judge_token(&signer, &signer.sign(&good), &audiences, now).unwrap();
        assert_eq!((caller.oid.as_str(), caller.tid.as_str()), ("o", "t"));

        let mut wrong = good.clone();
        wrong["aud"] = json!("https://management.azure.com");
        assert_eq!(
            judge_token(&signer, &signer.sign(&wrong), &audiences, now).unwrap_err(),
            TokenProblem::WrongAudience {
                aud: "https://management.azure.com".into()
            }
        );
        let mut expired = good.clone();
        expired["exp"] = json!(now - CLOCK_SKEW_S - 1);
        assert!(matches!(
            judge_token(&signer, &signer.sign(&expired), &audiences, now),
            Err(TokenProblem::Expired { .. })
        ));
        let mut within_skew = good.clone();
        within_skew["exp"] = json!(now - 10);
        assert!(judge_token(&signer, &signer.sign(&within_skew), &audiences, now).is_ok());
        let other = TokenSigner::generate().unwrap();
        assert_eq!(
            judge_token(&signer, &other.sign(&good), &audiences, now).unwrap_err(),
            TokenProblem::BadSignature
        );
        assert_eq!(
            judge_token(&signer, "garbage", &audiences, now).unwrap_err(),
            TokenProblem::Malformed
        );
    }
}
