//! The policy troubleshooter: for one principal, one resource and one action, is it allowed,
//! denied, or unknown, and which assignment decided it? Pure: it sees only what the ARM reads
//! returned (reference/data-actions.md §1, azure-wire.md §5).
//!
//! Rules, as Azure applies them:
//! - an assignment applies when its scope is the resource or an ancestor (segment-wise,
//!   case-insensitive); an assignment on a sibling or below does not reach the resource;
//! - `actions` and `dataActions` are separate lists: `*` in `actions` never grants a data action;
//! - `notDataActions` subtract only within their own permission block; another role still grants;
//! - a deny assignment that covers the principal (directly, through a group, or everyone) and the
//!   action wins over every grant;
//! - an assignment with an ABAC condition grants only when the condition holds, which Azure
//!   decides per request from attributes we cannot see, so it makes the verdict unknown;
//! - roles are matched by GUID (the trailing segment of `roleDefinitionId`), never by name.
//!
//! `assignments` must be the `assignedTo('{oid}')` listing of the subscription: every entry is
//! the principal's own or one of its groups' (ARM expands nested groups), at any scope.

use crate::arm::actions::{ActionKind, Permission};
use crate::arm::condition;
use crate::arm::model::{DenyAssignment, RoleAssignment, RoleDefinition};
use crate::arm::scope::{self, Relation};
use crate::diagnosis::{Code, Finding};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// Deny assignments name this principal id to mean "everyone".
pub const EVERYONE: &str = "00000000-0000-0000-0000-000000000000";

/// How long a new role assignment may take to be enforced. Microsoft documents that changes
/// "can take up to 10 minutes" to take effect in most cases (role-based-access-control
/// troubleshooting.md, "Role assignment changes are not being detected"; longer for group
/// membership and management-group scopes). Within this window a denied call is most likely
/// propagation, not a wrong role.
pub const PROPAGATION_WINDOW: time::Duration = time::Duration::minutes(10);

/// Everything the question needs. `resource_id` is the account or search service id, or an
/// index id (`…/searchServices/x/indexes/i`, see [`search_index_scope`]) for document reads.
#[derive(Debug, Clone)]
pub struct RbacQuestion<'a> {
    pub principal_id: &'a str,
    pub resource_id: &'a str,
    pub action: &'a str,
    pub kind: ActionKind,
    pub now: OffsetDateTime,
    /// How far ahead the question looks: a grant that PIM ends sooner is reported
    /// (`--expiry-horizon`; zero looks no further than now).
    pub horizon: time::Duration,
}

/// The assignment that grants the action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    pub role_name: String,
    /// Role definition GUID, lower case.
    pub role_id: String,
    pub assignment_id: String,
    pub scope: String,
    /// The group's object id when the assignment is to a group the principal belongs to.
    pub via_group: Option<String>,
    /// The permission pattern that matched (`Microsoft.CognitiveServices/accounts/OpenAI/*/read`).
    pub pattern: String,
    pub created_on: Option<OffsetDateTime>,
    /// Newer than [`PROPAGATION_WINDOW`] at the time of the question.
    pub fresh: bool,
    /// The access ends within the question's horizon: it rests on time-bound (PIM)
    /// assignments only.
    pub ends: Option<Box<crate::arm::pim::TimeBound>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RbacVerdict {
    Allowed {
        grant: Grant,
    },
    /// Most specific first: deny-assignment > role-at-wrong-scope > management-role-only >
    /// missing-data-action.
    Denied {
        findings: Vec<Finding>,
    },
    /// abac-condition or rbac-unreadable first.
    Unknown {
        findings: Vec<Finding>,
    },
}

impl RbacVerdict {
    pub fn findings(&self) -> &[Finding] {
        match self {
            RbacVerdict::Allowed { .. } => &[],
            RbacVerdict::Denied { findings } | RbacVerdict::Unknown { findings } => findings,
        }
    }
    pub fn first_code(&self) -> Option<Code> {
        self.findings().first().map(|f| f.code)
    }
}

/// The resource id of one Search index, for questions about its documents: index-scoped
/// assignments apply to that index only.
pub fn search_index_scope(service_id: &str, index: &str) -> String {
    format!("{}/indexes/{}", service_id.trim_end_matches('/'), index)
}

/// Is this grant so new that Azure may not enforce it yet? `created_on` overrides the grant's
/// own timestamp when the caller has a better one. A timestamp in the future (clock skew) counts
/// as fresh.
pub fn pending_propagation(
    grant: &Grant,
    created_on: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    match created_on.or(grant.created_on) {
        Some(created) => now - created < PROPAGATION_WINDOW,
        None => false,
    }
}

/// The `role-propagation-pending` finding, when the grant is still inside the propagation
/// window. The runner adds it when the live call was denied although RBAC says allowed.
pub fn propagation_finding(grant: &Grant, now: OffsetDateTime) -> Option<Finding> {
    if !pending_propagation(grant, None, now) {
        return None;
    }
    let age = grant
        .created_on
        .map(|created| (now - created).whole_minutes().max(0))
        .map(|m| format!("{m} minute(s) ago"))
        .unwrap_or_else(|| "recently".into());
    let holder = match &grant.via_group {
        Some(group) => format!("group {group}"),
        None => "the principal".into(),
    };
    Some(Finding::new(
        Code::RolePropagationPending,
        format!(
            "*{}* was assigned to {holder} at {} {age}; Azure can take up to 10 minutes to enforce a new role assignment",
            grant.role_name,
            scope::describe(&grant.scope)
        ),
        "Wait and run again, or let the run wait for it: entraprobe run --wait-for-access 10m",
    ))
}

/// The built-in roles a remedy may name for `action`, least privileged first; the first that
/// grants it (as this run knows the role) is the one suggested.
pub fn remedy_candidates(action: &str, kind: ActionKind) -> &'static [&'static str] {
    let lower = action.to_ascii_lowercase();
    if lower.starts_with("microsoft.search/") {
        return match kind {
            ActionKind::Action => &["Search Service Contributor"],
            ActionKind::DataAction => {
                &["Search Index Data Reader", "Search Index Data Contributor"]
            }
        };
    }
    if kind == ActionKind::Action {
        return &[];
    }
    if lower.contains("/openai/") {
        &["Cognitive Services OpenAI User"]
    } else if lower.contains("/speechservices/") {
        &["Cognitive Services Speech User"]
    } else if lower.contains("/language/") || lower.contains("/textanalytics/") {
        &["Cognitive Services Language Reader"]
    } else if lower.contains("/customvision/") {
        &[
            "Cognitive Services Custom Vision Reader",
            "Cognitive Services Custom Vision Deployment",
            "Cognitive Services Custom Vision Trainer",
            "Cognitive Services Custom Vision Contributor",
        ]
    } else if lower.contains("/face/") {
        &["Cognitive Services Face Recognizer"]
    } else if lower.contains("/immersivereader/") {
        &["Cognitive Services Immersive Reader User"]
    } else if lower.contains("/aiservices/") || lower.contains("/maas/") {
        // Foundry projects and Foundry Models: Microsoft's Foundry RBAC guidance names Foundry
        // User (formerly Azure AI User) as the data role (reference/foundry.md §4).
        &["Foundry User"]
    } else {
        &[]
    }
}

/// The GUIDs of every built-in role a remedy for `action` may name (candidates and fallback), so
/// a run against a real tenant can read their live definitions before suggesting one.
pub fn remedy_role_guids(action: &str, kind: ActionKind) -> Vec<String> {
    remedy_candidates(action, kind)
        .iter()
        .chain(std::iter::once(&fallback_role(action, kind)))
        .filter_map(|name| crate::arm::builtin_roles::builtin_by_name(name))
        .map(|role| role.id.clone())
        .collect()
}

/// The role a remedy falls back to when no candidate grants the action.
fn fallback_role(action: &str, kind: ActionKind) -> &'static str {
    if action.to_ascii_lowercase().starts_with("microsoft.search/") {
        match kind {
            ActionKind::Action => "Search Service Contributor",
            ActionKind::DataAction => "Search Index Data Contributor",
        }
    } else {
        "Cognitive Services User"
    }
}

/// How one role's permission blocks answer a question, each block's own condition included.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BlockAnswer {
    /// A block grants it, with no condition or one that holds for this action.
    Granted(String),
    /// A block would grant it, but only when its condition holds for the request.
    Conditional {
        pattern: String,
        condition: String,
    },
    No,
}

fn answer_blocks(blocks: &[Permission], kind: ActionKind, action: &str) -> BlockAnswer {
    let mut conditional = None;
    for block in blocks {
        let Some(pattern) = block.grants(kind, action) else {
            continue;
        };
        let Some(condition) = block
            .condition
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        else {
            return BlockAnswer::Granted(pattern.to_string());
        };
        match condition::evaluate(condition, action) {
            Ok(condition::Verdict::Holds) => return BlockAnswer::Granted(pattern.to_string()),
            Ok(condition::Verdict::DoesNotHold) => {}
            Ok(condition::Verdict::Unknown) | Err(_) => {
                conditional.get_or_insert(BlockAnswer::Conditional {
                    pattern: pattern.to_string(),
                    condition: condition.to_string(),
                });
            }
        }
    }
    conditional.unwrap_or(BlockAnswer::No)
}

/// The least-privileged built-in role that grants `action`, by the service it belongs to, and
/// the name to give it. A definition this run read from ARM (`definitions`, by GUID) wins over
/// the catalog, names included: the catalog is only what Microsoft published when it was last
/// refreshed.
pub fn least_privilege_role(
    action: &str,
    kind: ActionKind,
    definitions: &HashMap<String, RoleDefinition>,
) -> String {
    let as_known = |name: &str| -> Option<(String, bool)> {
        let role = crate::arm::builtin_roles::builtin_by_name(name)?;
        let (name, blocks) = match definitions.get(&role.id) {
            Some(read) => (read.display_name(), read.properties.permissions.as_slice()),
            None => (role.name.clone(), role.permissions.as_slice()),
        };
        let grants = matches!(answer_blocks(blocks, kind, action), BlockAnswer::Granted(_));
        Some((name, grants))
    };
    remedy_candidates(action, kind)
        .iter()
        .filter_map(|name| as_known(name))
        .find(|(_, grants)| *grants)
        .map(|(name, _)| name)
        .or_else(|| as_known(fallback_role(action, kind)).map(|(name, _)| name))
        .unwrap_or_else(|| fallback_role(action, kind).to_string())
}

/// The concrete command that fixes a missing grant. `principal_type` is ARM's spelling
/// (`User`, `ServicePrincipal`, `Group`); without it `az` looks the object up in Graph itself.
pub fn remedy_command(
    principal_id: &str,
    principal_type: Option<&str>,
    action: &str,
    kind: ActionKind,
    scope: &str,
    definitions: &HashMap<String, RoleDefinition>,
) -> String {
    let role = least_privilege_role(action, kind, definitions);
    let type_flag = principal_type
        .filter(|t| !t.is_empty())
        .map(|t| format!(" --assignee-principal-type {t}"))
        .unwrap_or_default();
    format!(
        "az role assignment create --assignee-object-id {principal_id}{type_flag} --role \"{role}\" --scope {scope}"
    )
}

/// The scope of an assignment: `properties.scope`, or its id without the
/// `/providers/Microsoft.Authorization/roleAssignments/{guid}` tail when ARM left scope out.
fn assignment_scope(a: &RoleAssignment) -> String {
    if !a.properties.scope.trim().is_empty() {
        return a.properties.scope.clone();
    }
    let lower = a.id.to_ascii_lowercase();
    match lower.rfind("/providers/microsoft.authorization/roleassignments/") {
        Some(cut) if cut > 0 => a.id[..cut].to_string(),
        _ => "/".to_string(),
    }
}

/// One assignment, judged against the question.
struct Judged<'x> {
    assignment: &'x RoleAssignment,
    definition: Option<&'x RoleDefinition>,
    scope: String,
    relation: Relation,
    via_group: Option<String>,
    /// The pattern that grants the action, if the role does.
    pattern: Option<String>,
    /// When the grant depends on the request: the condition (the assignment's, or the one its
    /// role's permission block carries) that Azure evaluates per request.
    condition: Option<String>,
    /// (granting pattern, the not* pattern that removes it), when the role would grant but for
    /// its own `notDataActions`/`notActions`.
    excluded: Option<(String, String)>,
}

impl Judged<'_> {
    fn role_name(&self) -> String {
        match self.definition {
            Some(d) => d.display_name(),
            None => self.assignment.role_guid(),
        }
    }
    fn holder(&self) -> String {
        match &self.via_group {
            Some(group) => format!("group {group}"),
            None => "the principal".to_string(),
        }
    }
    fn grant(&self, now: OffsetDateTime) -> Grant {
        let created_on = self.assignment.created_on();
        let mut grant = Grant {
            role_name: self.role_name(),
            role_id: self.assignment.role_guid(),
            assignment_id: self.assignment.id.clone(),
            scope: self.scope.clone(),
            via_group: self.via_group.clone(),
            pattern: self.pattern.clone().unwrap_or_default(),
            created_on,
            fresh: false,
            ends: None,
        };
        grant.fresh = pending_propagation(&grant, None, now);
        grant
    }
}

/// What a set of permission blocks says about the action: the granting pattern (unless only
/// conditionally), the condition it would depend on, and the (granting, removing) pair when a
/// block would grant but for its own `not*` list.
type Judgement = (Option<String>, Option<String>, Option<(String, String)>);

fn judge_permissions(blocks: &[Permission], kind: ActionKind, action: &str) -> Judgement {
    match answer_blocks(blocks, kind, action) {
        BlockAnswer::Granted(pattern) => return (Some(pattern), None, None),
        BlockAnswer::Conditional { pattern, condition } => {
            return (Some(pattern), Some(condition), None);
        }
        BlockAnswer::No => {}
    }
    let excluded = blocks.iter().find_map(|b| {
        let allow = match kind {
            ActionKind::Action => &b.actions,
            ActionKind::DataAction => &b.data_actions,
        };
        let granting = allow
            .iter()
            .find(|p| crate::arm::actions::action_matches(p, action))?;
        let removing = b.excludes(kind, action)?;
        Some((granting.clone(), removing.to_string()))
    });
    (None, None, excluded)
}

/// Apply an assignment's own condition to what its role grants: a condition that holds for the
/// action leaves the grant as it is, one that cannot hold removes it, one that depends on the
/// request (or does not parse) makes it conditional.
fn with_assignment_condition(
    assignment: &RoleAssignment,
    action: &str,
    (pattern, condition, excluded): Judgement,
) -> Judgement {
    let Some(text) = assignment.condition() else {
        return (pattern, condition, excluded);
    };
    if pattern.is_none() {
        return (pattern, condition, excluded);
    }
    match crate::arm::condition::evaluate(text, action) {
        Ok(condition::Verdict::Holds) => (pattern, condition, excluded),
        Ok(condition::Verdict::DoesNotHold) => (None, None, excluded),
        Ok(condition::Verdict::Unknown) | Err(_) => (pattern, Some(text.to_string()), excluded),
    }
}

/// What Microsoft Graph said about the principal's membership in the groups deny assignments
/// name (lower-case object ids). Empty when Graph was not asked; `unknown_because` says why
/// it could not be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    pub member_of: HashSet<String>,
    pub not_member_of: HashSet<String>,
    pub unknown_because: Option<String>,
}

/// The groups whose membership would change the verdict: those deny assignments reaching the
/// question's resource and action name as principals or exclusions (lower case, at most 20).
pub fn deny_groups(q: &RbacQuestion, denies: &[DenyAssignment]) -> Vec<String> {
    let principal = q.principal_id.trim().to_ascii_lowercase();
    let mut groups: Vec<String> = Vec::new();
    for d in denies
        .iter()
        .filter(|d| deny_reaches_action(q, d).is_some())
    {
        let p = &d.properties;
        for x in p.principals.iter().chain(&p.exclude_principals) {
            let id = x.id.trim().to_ascii_lowercase();
            let is_group = x.principal_type.eq_ignore_ascii_case("group")
                || (x.principal_type.is_empty() && id != EVERYONE && id != principal);
            if is_group && !groups.contains(&id) && groups.len() < 20 {
                groups.push(id);
            }
        }
    }
    groups
}

/// Decide the question. See the module comment for the rules.
pub fn evaluate(
    q: &RbacQuestion,
    assignments: &[RoleAssignment],
    definitions: &HashMap<String, RoleDefinition>,
    denies: &[DenyAssignment],
) -> RbacVerdict {
    evaluate_with(q, assignments, definitions, denies, &Membership::default())
}

/// [`evaluate`], knowing some group memberships from Microsoft Graph: a deny on a group the
/// principal is in denies; one on a group it is not in does not; the rest stay "possible".
pub fn evaluate_with(
    q: &RbacQuestion,
    assignments: &[RoleAssignment],
    definitions: &HashMap<String, RoleDefinition>,
    denies: &[DenyAssignment],
    membership: &Membership,
) -> RbacVerdict {
    let principal = q.principal_id.trim().to_ascii_lowercase();
    let resource = scope::describe(q.resource_id);

    let judged: Vec<Judged> = assignments
        .iter()
        .map(|a| {
            let definition = definitions.get(&a.role_guid());
            let judgement = match definition {
                Some(d) => judge_permissions(&d.properties.permissions, q.kind, q.action),
                None => (None, None, None),
            };
            let (pattern, condition, excluded) = with_assignment_condition(a, q.action, judgement);
            let scope = assignment_scope(a);
            let holder = a.properties.principal_id.trim().to_ascii_lowercase();
            Judged {
                assignment: a,
                definition,
                relation: scope::relation(&scope, q.resource_id),
                scope,
                via_group: (!holder.is_empty() && holder != principal)
                    .then(|| a.properties.principal_id.trim().to_string()),
                pattern,
                condition,
                excluded,
            }
        })
        .collect();

    // ARM's spelling of the principal's type, from a direct assignment, for the remedy command.
    let principal_type = judged
        .iter()
        .find(|j| j.via_group.is_none() && !j.assignment.properties.principal_type.is_empty())
        .map(|j| j.assignment.properties.principal_type.as_str());
    let remedy = remedy_command(
        q.principal_id.trim(),
        principal_type,
        q.action,
        q.kind,
        q.resource_id.trim_end_matches('/'),
        definitions,
    );

    let mut groups: HashSet<String> = judged
        .iter()
        .filter_map(|j| j.via_group.as_deref().map(str::to_ascii_lowercase))
        .collect();
    groups.extend(membership.member_of.iter().cloned());
    let granting: Vec<&Judged> = judged
        .iter()
        .filter(|j| j.relation == Relation::Applies && j.pattern.is_some())
        .collect();

    // 1. A deny assignment wins over every grant.
    if let Some(finding) = deny_finding(q, &principal, &groups, denies, &granting, membership) {
        return RbacVerdict::Denied {
            findings: vec![finding],
        };
    }

    // 2. An unconditional grant: pick the oldest (the one most surely in force), direct first.
    let mut unconditional: Vec<&&Judged> =
        granting.iter().filter(|j| j.condition.is_none()).collect();
    unconditional.sort_by_key(|j| {
        (
            j.assignment
                .created_on()
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            j.via_group.is_some(),
            j.assignment.id.clone(),
        )
    });
    if let Some(best) = unconditional.first() {
        // A deny on a group whose members this tool cannot list may still override it.
        if let Some(finding) = possible_group_deny(q, &principal, &groups, denies, best, membership)
        {
            return RbacVerdict::Unknown {
                findings: vec![finding],
            };
        }
        return RbacVerdict::Allowed {
            grant: best.grant(q.now),
        };
    }

    // 3. Only conditional grants: Azure decides per request.
    if let Some(conditional) = granting.first() {
        let condition: String = conditional
            .condition
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(240)
            .collect();
        return RbacVerdict::Unknown {
            findings: vec![Finding::new(
                Code::AbacCondition,
                format!(
                    "*{}* assigned to {} at {} would grant `{}` only when its condition holds: `{}`; Azure evaluates it per request from attributes this tool cannot see",
                    conditional.role_name(),
                    conditional.holder(),
                    scope::describe(&conditional.scope),
                    q.action,
                    condition
                ),
                format!(
                    "Check that the request meets the condition, or grant without one: {remedy}"
                ),
            )],
        };
    }

    let applicable: Vec<&Judged> = judged
        .iter()
        .filter(|j| j.relation == Relation::Applies)
        .collect();
    let mut findings = Vec::new();

    // 4. Roles that apply but whose definitions we could not read: we cannot tell.
    let unread: Vec<&&Judged> = applicable
        .iter()
        .filter(|j| j.definition.is_none())
        .collect();
    if !unread.is_empty() {
        let list = unread
            .iter()
            .map(|j| {
                format!(
                    "{} at {}",
                    j.assignment.role_guid(),
                    scope::describe(&j.scope)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        findings.push(Finding::new(
            Code::RbacUnreadable,
            format!(
                "could not read the role definition of {list}; cannot tell whether it grants `{}`",
                q.action
            ),
            "Read the definitions with a credential that has Microsoft.Authorization/roleDefinitions/read (Reader on the subscription): az role definition list --name <guid>".to_string(),
        ));
    }

    // 5. A role that would grant, assigned where it does not reach.
    let mut seen = HashSet::new();
    for j in judged
        .iter()
        .filter(|j| j.relation != Relation::Applies && j.pattern.is_some())
    {
        if !seen.insert((j.assignment.role_guid(), scope::segments(&j.scope))) || seen.len() > 3 {
            continue;
        }
        let reach = match j.relation {
            Relation::Below => "assignments do not reach up to a parent scope",
            _ => "it is on another branch of the hierarchy",
        };
        findings.push(Finding::new(
            Code::RoleAtWrongScope,
            format!(
                "*{}* assigned to {} at {} would grant `{}`, but that scope does not include {resource}: {reach}",
                j.role_name(),
                j.holder(),
                scope::describe(&j.scope),
                q.action,
            ),
            format!("Assign the role at {resource} (or a resource group or subscription above it): {remedy}"),
        ));
    }

    // 6. Only management roles where it matters.
    let known: Vec<&&Judged> = applicable
        .iter()
        .filter(|j| j.definition.is_some())
        .collect();
    let held = |list: &[&&Judged]| {
        list.iter()
            .map(|j| format!("*{}* at {}", j.role_name(), scope::describe(&j.scope)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let management_only = q.kind == ActionKind::DataAction
        && !known.is_empty()
        && known
            .iter()
            .all(|j| j.definition.is_some_and(|d| !d.has_data_actions()));
    let grants_word = if known.len() == 1 { "grants" } else { "grant" };
    if let Some(wrong_scope) = findings
        .iter_mut()
        .find(|f| f.code == Code::RoleAtWrongScope)
        .filter(|_| management_only)
    {
        // Its fix (the role at this resource) settles it; the management roles held here are
        // context for that cause, not a second problem with a second fix.
        wrong_scope.message.push_str(&format!(
            "; here, {} {grants_word} management actions only",
            held(&known)
        ));
    } else if management_only {
        findings.push(Finding::new(
            Code::ManagementRoleOnly,
            format!(
                "no assignment grants `{}`; {} {grants_word} management actions only (`actions` never grant data actions)",
                q.action,
                held(&known)
            ),
            format!("Add a data role: {remedy}"),
        ));
    }

    // 7. Nothing more specific: say what is held and why it does not grant.
    if findings.is_empty() {
        let mut message = if judged.is_empty() {
            format!(
                "no assignment grants `{}`: the principal holds no role in {}, directly or through groups",
                q.action,
                scope::subscription_of(q.resource_id)
                    .map(|s| format!("subscription {}", scope::short_id(s)))
                    .unwrap_or_else(|| "this subscription".into())
            )
        } else if known.is_empty() {
            format!("no assignment at {resource} or above grants `{}`", q.action)
        } else {
            format!(
                "no assignment at {resource} or above grants `{}`; the principal holds {}",
                q.action,
                held(&known)
            )
        };
        if let Some((j, (granting, removing))) = known
            .iter()
            .find_map(|j| j.excluded.as_ref().map(|e| (j, e)))
        {
            let list = match q.kind {
                ActionKind::Action => "notActions",
                ActionKind::DataAction => "notDataActions",
            };
            message.push_str(&format!(
                "; *{}* lists `{granting}` but its {list} `{removing}` remove it",
                j.role_name(),
            ));
        }
        if q.kind == ActionKind::Action
            && q.action
                .to_ascii_lowercase()
                .starts_with("microsoft.search/")
        {
            message.push_str(" (an Action, not a data action: index data roles do not grant it)");
        }
        findings.push(Finding::new(
            Code::MissingDataAction,
            message,
            remedy.clone(),
        ));
    }

    if !unread.is_empty() {
        RbacVerdict::Unknown { findings }
    } else {
        RbacVerdict::Denied { findings }
    }
}

fn deny_finding(
    q: &RbacQuestion,
    principal: &str,
    groups: &HashSet<String>,
    denies: &[DenyAssignment],
    granting: &[&Judged],
    membership: &Membership,
) -> Option<Finding> {
    let covers = |id: &str| {
        let id = id.trim().to_ascii_lowercase();
        id == principal || groups.contains(&id)
    };
    denies.iter().find_map(|d| {
        let p = &d.properties;
        let pattern = deny_reaches_action(q, d)?;
        if p.exclude_principals.iter().any(|x| covers(&x.id)) {
            return None;
        }
        let whom = p.principals.iter().find_map(|x| {
            if x.id.trim() == EVERYONE {
                Some("everyone".to_string())
            } else if x.id.trim().eq_ignore_ascii_case(principal) {
                Some("the principal".to_string())
            } else if covers(&x.id) {
                Some(format!("group {}", x.id.trim()))
            } else {
                None
            }
        })?;
        // Deployment stacks name theirs as a sentence with quotes of its own ("Deny assignment
        // '…' created by Deployment Stack '…'."): quote it with a different mark, without its
        // closing full stop.
        let name = deny_name(d);
        // Excluded groups the principal may belong to, unknown to this tool: said, not guessed.
        let unknown_excluded: Vec<&str> = p
            .exclude_principals
            .iter()
            .filter(|x| {
                !x.principal_type.eq_ignore_ascii_case("user")
                    && !x.principal_type.eq_ignore_ascii_case("serviceprincipal")
                    && !membership
                        .not_member_of
                        .contains(&x.id.trim().to_ascii_lowercase())
            })
            .map(|x| x.id.trim())
            .collect();
        let unless = if unknown_excluded.is_empty() {
            String::new()
        } else {
            format!(
                ", unless the principal belongs to excluded group {} (membership unknown)",
                unknown_excluded.join(", ")
            )
        };
        let overridden = granting
            .first()
            .map(|j| {
                format!(
                    "; it overrides *{}* at {}",
                    j.role_name(),
                    scope::describe(&j.scope)
                )
            })
            .unwrap_or_default();
        Some(Finding::new(
            Code::DenyAssignment,
            format!(
                "deny assignment «{name}» at {} denies `{}` to {whom} (pattern `{pattern}`){overridden}{unless}",
                scope::describe(&p.scope),
                q.action
            ),
            format!(
                // The URL is the ARM path alone: `az rest` prefixes the current cloud's ARM
                // endpoint, so the command holds in every cloud.
                "Deny assignments are created by deployment stacks and managed applications and cannot be removed by a role assignment. Inspect it with `az rest --method get --url \"{}/providers/Microsoft.Authorization/denyAssignments?api-version=2022-04-01&$filter=atScope()\"`, then exclude the principal in the stack's deny settings (`az stack group create … --deny-settings-excluded-principals {}`) or use an identity it does not cover",
                q.resource_id.trim_end_matches('/'),
                q.principal_id.trim()
            ),
        ))
    })
}

/// Does deny assignment `d` reach the resource (its scope, and below unless
/// `doNotApplyToChildScopes`) and cover the action (its permissions less their `not*` lists)?
/// The pattern that covers it.
fn deny_reaches_action(q: &RbacQuestion, d: &DenyAssignment) -> Option<String> {
    let p = &d.properties;
    let reaches = match scope::relation(&p.scope, q.resource_id) {
        Relation::Applies => {
            !p.do_not_apply_to_child_scopes || scope::same(&p.scope, q.resource_id)
        }
        _ => false,
    };
    if !reaches {
        return None;
    }
    p.permissions
        .iter()
        .find_map(|b| b.grants(q.kind, q.action))
        .map(str::to_string)
}

fn deny_name(d: &DenyAssignment) -> String {
    let p = &d.properties;
    if p.deny_assignment_name.trim().is_empty() {
        d.name.clone()
    } else {
        p.deny_assignment_name
            .trim()
            .trim_end_matches('.')
            .to_string()
    }
}

/// A deny assignment that names a group this tool cannot tell the principal is in (no role
/// assignment of the principal came through it, and group membership is not resolved here):
/// it overrides `grant` if the principal is a member. Named as a possible cause, never ignored.
fn possible_group_deny(
    q: &RbacQuestion,
    principal: &str,
    groups: &HashSet<String>,
    denies: &[DenyAssignment],
    grant: &Judged,
    membership: &Membership,
) -> Option<Finding> {
    denies.iter().find_map(|d| {
        let p = &d.properties;
        let pattern = deny_reaches_action(q, d)?;
        let directly_excluded = p
            .exclude_principals
            .iter()
            .any(|x| x.id.trim().eq_ignore_ascii_case(principal));
        if directly_excluded {
            return None;
        }
        let group = p.principals.iter().find(|x| {
            let id = x.id.trim().to_ascii_lowercase();
            let is_group = x.principal_type.eq_ignore_ascii_case("group")
                || (x.principal_type.is_empty() && id != EVERYONE && id != principal);
            is_group && !groups.contains(&id) && !membership.not_member_of.contains(&id)
        })?;
        let why = membership.unknown_because.as_deref().map_or_else(
            || "this tool cannot tell whether the principal belongs to it (Microsoft Graph was not asked)".to_string(),
            |because| format!("Microsoft Graph could not tell whether the principal belongs to it ({because})"),
        );
        Some(Finding::new(
            Code::DenyAssignment,
            format!(
                "deny assignment «{}» at {} denies `{}` (pattern `{pattern}`) to group {}; membership unknown: {why}. If it does, the deny overrides *{}* at {}",
                deny_name(d),
                scope::describe(&p.scope),
                q.action,
                group.id.trim(),
                grant.role_name(),
                scope::describe(&grant.scope),
            ),
            format!(
                "Check the membership: az ad group member check --group {} --member-id {}; if it is a member, exclude the principal in the deny settings of the deployment stack that created the deny assignment, or use an identity outside that group",
                group.id.trim(),
                q.principal_id.trim()
            ),
        ))
    })
}

/// A verdict reached on a partial view (role assignments read below the subscription, or only
/// the caller's effective permissions): a grant seen is a grant, a deny assignment seen denies,
/// and a role at a wrong scope is there; but "nothing grants it" is not proven by what could be
/// read, so `missing-data-action` and `management-role-only` become unknown, saying what could
/// not be read (`unread`) and what that leaves open.
pub fn on_partial_view(verdict: RbacVerdict, unread: &str, seen_from: &str) -> RbacVerdict {
    let RbacVerdict::Denied { mut findings } = verdict else {
        return verdict;
    };
    let guessed =
        |f: &Finding| matches!(f.code, Code::MissingDataAction | Code::ManagementRoleOnly);
    if !findings.first().is_some_and(guessed) {
        return RbacVerdict::Denied { findings };
    }
    for f in findings.iter_mut().filter(|f| guessed(f)) {
        f.message.push_str(&format!(
            "; seen from {seen_from} only ({unread}), which leaves open an assignment still propagating, or one this view does not show"
        ));
        f.severity = crate::diagnosis::Severity::Warning;
    }
    RbacVerdict::Unknown { findings }
}

/// The verdict when the role assignments themselves could not be read (`AuthorizationFailed`):
/// unknown, naming the ARM error. Follow it with [`evaluate_permissions`] when the principal's
/// own ARM token is at hand.
pub fn unreadable(q: &RbacQuestion, error: &crate::arm::client::ArmError) -> RbacVerdict {
    let subscription = scope::subscription_of(q.resource_id).unwrap_or("<subscription>");
    RbacVerdict::Unknown {
        findings: vec![Finding::new(
            Code::RbacUnreadable,
            format!(
                "role assignments for {} could not be read ({error}); cannot tell whether any grants `{}`",
                q.principal_id.trim(),
                q.action
            ),
            format!(
                "Run with a credential that may read role assignments (Microsoft.Authorization/roleAssignments/read, e.g. Reader): az role assignment create --assignee-object-id <reader-object-id> --role \"Reader\" --scope /subscriptions/{subscription}"
            ),
        )],
    }
}

/// Judge the caller's own effective permissions (the permissions API, azure-wire.md §5.3), the
/// fallback when role assignments are unreadable. The API does not say which role contributed a
/// block, and reflects neither deny assignments nor conditions, so a grant here names the
/// pattern only.
pub fn evaluate_permissions(q: &RbacQuestion, permissions: &[Permission]) -> RbacVerdict {
    let remedy = remedy_command(
        q.principal_id.trim(),
        None,
        q.action,
        q.kind,
        q.resource_id.trim_end_matches('/'),
        &HashMap::new(),
    );
    let (pattern, condition, excluded) = judge_permissions(permissions, q.kind, q.action);
    if let (Some(pattern), Some(condition)) = (&pattern, &condition) {
        let condition: String = condition.chars().take(240).collect();
        return RbacVerdict::Unknown {
            findings: vec![Finding::new(
                Code::AbacCondition,
                format!(
                    "the caller's effective permissions on {} grant `{}` (`{pattern}`) only when a condition holds: `{condition}`; Azure evaluates it per request from attributes this tool cannot see",
                    scope::describe(q.resource_id),
                    q.action,
                ),
                format!(
                    "Check that the request meets the condition, or grant without one: {remedy}"
                ),
            )],
        };
    }
    if let Some(pattern) = pattern {
        return RbacVerdict::Allowed {
            grant: Grant {
                role_name: "effective permissions (permissions API)".into(),
                role_id: String::new(),
                assignment_id: String::new(),
                scope: q.resource_id.to_string(),
                via_group: None,
                pattern,
                created_on: None,
                fresh: false,
                ends: None,
            },
        };
    }
    let has_data = permissions.iter().any(|b| !b.data_actions.is_empty());
    let has_actions = permissions.iter().any(|b| !b.actions.is_empty());
    let finding = if q.kind == ActionKind::DataAction && has_actions && !has_data {
        Finding::new(
            Code::ManagementRoleOnly,
            format!(
                "no assignment grants `{}`; the caller's effective permissions on {} hold management actions only",
                q.action,
                scope::describe(q.resource_id)
            ),
            format!("Add a data role: {remedy}"),
        )
    } else {
        let why = match excluded {
            Some((granting, removing)) => {
                format!("; `{granting}` is granted but `{removing}` removes it")
            }
            None if permissions.is_empty() => ": the caller has no permissions there".into(),
            None => String::new(),
        };
        Finding::new(
            Code::MissingDataAction,
            format!(
                "no assignment grants `{}` on {} according to the permissions API{why}",
                q.action,
                scope::describe(q.resource_id)
            ),
            remedy,
        )
    };
    RbacVerdict::Denied {
        findings: vec![finding],
    }
}

/// One line for the table's rbac stage and the JSON.
pub fn explain(verdict: &RbacVerdict) -> String {
    match verdict {
        RbacVerdict::Allowed { grant } => {
            let holder = match &grant.via_group {
                Some(group) => format!("group {}", scope::short_id(group)),
                None => "the principal".into(),
            };
            let fresh = if grant.fresh {
                " (assigned less than 10 minutes ago; may not be in force yet)"
            } else {
                ""
            };
            if grant.assignment_id.is_empty() {
                format!(
                    "granted by the caller's effective permissions (`{}`) at {}",
                    grant.pattern,
                    scope::describe(&grant.scope)
                )
            } else {
                let until = match &grant.ends {
                    Some(ends) => format!(
                        "; time-bound: the access ends at {}",
                        ends.ends_on
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default()
                    ),
                    None => String::new(),
                };
                format!(
                    "granted by *{}* assigned to {holder} at {}{fresh}{until}",
                    grant.role_name,
                    scope::describe(&grant.scope)
                )
            }
        }
        RbacVerdict::Denied { findings } => match findings.first() {
            Some(f) => format!("denied: {}", f.message),
            None => "denied".into(),
        },
        RbacVerdict::Unknown { findings } => match findings.first() {
            Some(f) => format!("unknown: {}", f.message),
            None => "unknown".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::model::{
        DenyAssignmentProperties, DenyPrincipal, RoleAssignmentProperties, RoleDefinitionProperties,
    };
    use crate::diagnosis::Severity;
    use time::macros::datetime;

    const SUB: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";
    const PRINCIPAL: &str = "11112222-bbbb-3333-cccc-4444dddd5555";
    const GROUP: &str = "12345678-aaaa-4bbb-8ccc-0123456789ab";
    const OPENAI_MODELS: &str = "Microsoft.CognitiveServices/accounts/OpenAI/models/read";
    const NOW: OffsetDateTime = datetime!(2026-11-28 15:00 UTC);
    const OAIU: &str = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";
    const CUSTOM: &str = "9a9a9a9a-0000-4000-8000-000000000001";

    fn sub() -> String {
        format!("/subscriptions/{SUB}")
    }
    fn rg() -> String {
        format!("/subscriptions/{SUB}/resourceGroups/rg-ai")
    }
    fn account(name: &str) -> String {
        format!(
            "{}/providers/Microsoft.CognitiveServices/accounts/{name}",
            rg()
        )
    }
    fn search() -> String {
        format!("{}/providers/Microsoft.Search/searchServices/srch", rg())
    }

    fn builtin(name: &str) -> RoleDefinition {
        let role = crate::arm::builtin_roles::builtin_by_name(name).expect("built-in role");
        RoleDefinition {
            id: format!(
                "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{}",
                role.id
            ),
            name: role.id.to_string(),
            properties: RoleDefinitionProperties {
                role_name: role.name.to_string(),
                role_type: "BuiltInRole".into(),
                permissions: role.permissions.clone(),
                ..Default::default()
            },
        }
    }

    fn custom(name: &str, data_actions: &[&str], not_data_actions: &[&str]) -> RoleDefinition {
        RoleDefinition {
            id: format!(
                "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CUSTOM}"
            ),
            name: CUSTOM.into(),
            properties: RoleDefinitionProperties {
                role_name: name.into(),
                role_type: "CustomRole".into(),
                permissions: vec![Permission {
                    data_actions: data_actions.iter().map(|s| s.to_string()).collect(),
                    not_data_actions: not_data_actions.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        }
    }

    fn catalog(defs: &[RoleDefinition]) -> HashMap<String, RoleDefinition> {
        defs.iter().map(|d| (d.guid(), d.clone())).collect()
    }

    fn assign(
        holder: &str,
        holder_type: &str,
        def: &RoleDefinition,
        scope: &str,
    ) -> RoleAssignment {
        let guid = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{holder}{}{scope}", def.name).as_bytes(),
        );
        RoleAssignment {
            id: format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}"),
            name: guid.to_string(),
            properties: RoleAssignmentProperties {
                // Subscription-qualified and upper-cased, to prove matching is by GUID.
                role_definition_id: format!(
                    "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{}",
                    def.name.to_ascii_uppercase()
                ),
                principal_id: holder.into(),
                principal_type: holder_type.into(),
                scope: scope.into(),
                created_on: Some("2024-05-01T10:00:00.0000000Z".into()),
                ..Default::default()
            },
        }
    }

    fn direct(def: &RoleDefinition, scope: &str) -> RoleAssignment {
        assign(PRINCIPAL, "ServicePrincipal", def, scope)
    }

    fn ask(resource: &str, action: &str, kind: ActionKind) -> RbacQuestion<'static> {
        RbacQuestion {
            principal_id: PRINCIPAL,
            resource_id: Box::leak(resource.to_string().into_boxed_str()),
            action: Box::leak(action.to_string().into_boxed_str()),
            kind,
            now: NOW,
            horizon: time::Duration::ZERO,
        }
    }

    fn openai(resource: &str) -> RbacQuestion<'static> {
        ask(resource, OPENAI_MODELS, ActionKind::DataAction)
    }

    fn deny(principal: &str, scope: &str, data_actions: &[&str]) -> DenyAssignment {
        DenyAssignment {
            id: format!("{scope}/providers/Microsoft.Authorization/denyAssignments/d1"),
            name: "d1".into(),
            properties: DenyAssignmentProperties {
                deny_assignment_name: "stack-deny".into(),
                permissions: vec![Permission {
                    data_actions: data_actions.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                }],
                scope: scope.into(),
                principals: vec![DenyPrincipal {
                    id: principal.into(),
                    principal_type: "ServicePrincipal".into(),
                }],
                ..Default::default()
            },
        }
    }

    fn first(verdict: &RbacVerdict) -> &Finding {
        verdict
            .findings()
            .first()
            .unwrap_or_else(|| panic!("no finding in {verdict:?}"))
    }

    #[test]
    fn access_through_a_nested_group_names_the_group() {
        let role = builtin("Cognitive Services OpenAI User");
        let assignments = [assign(GROUP, "Group", &role, &account("oai-prod"))];
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &assignments,
            &catalog(&[role]),
            &[],
        );
        let RbacVerdict::Allowed { grant } = &verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(grant.via_group.as_deref(), Some(GROUP));
        assert_eq!(grant.role_id, OAIU);
        assert_eq!(
            grant.pattern,
            "Microsoft.CognitiveServices/accounts/OpenAI/*/read"
        );
        assert_eq!(
            explain(&verdict),
            "granted by *Cognitive Services OpenAI User* assigned to group 12345678… at account oai-prod"
        );
    }

    #[test]
    fn a_role_at_the_subscription_is_inherited() {
        let role = builtin("Cognitive Services User");
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[direct(&role, &sub())],
            &catalog(&[role]),
            &[],
        );
        let RbacVerdict::Allowed { grant } = &verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(grant.via_group, None);
        assert_eq!(grant.pattern, "Microsoft.CognitiveServices/*");
        assert!(
            explain(&verdict).ends_with("assigned to the principal at subscription 5e2a3c1d…"),
            "{}",
            explain(&verdict)
        );
    }

    #[test]
    fn a_custom_role_wildcard_grants() {
        let role = custom(
            "AI Inference",
            &["microsoft.cognitiveservices/accounts/openai/*"],
            &[],
        );
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[direct(&role, &rg())],
            &catalog(&[role]),
            &[],
        );
        let RbacVerdict::Allowed { grant } = &verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(grant.role_name, "AI Inference");
        assert!(explain(&verdict).contains("at resource group rg-ai"));
    }

    #[test]
    fn not_data_actions_remove_within_their_role_only() {
        let role = custom(
            "Everything but OpenAI",
            &["Microsoft.CognitiveServices/*"],
            &["Microsoft.CognitiveServices/accounts/OpenAI/*"],
        );
        let defs = catalog(std::slice::from_ref(&role));
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[direct(&role, &account("oai-prod"))],
            &defs,
            &[],
        );
        assert!(matches!(verdict, RbacVerdict::Denied { .. }), "{verdict:?}");
        let f = first(&verdict);
        assert_eq!(f.code, Code::MissingDataAction);
        assert!(
            f.message
                .contains("notDataActions `Microsoft.CognitiveServices/accounts/OpenAI/*`"),
            "{}",
            f.message
        );
        assert!(
            f.remedy
                .contains("--role \"Cognitive Services OpenAI User\""),
            "{}",
            f.remedy
        );
        assert!(
            f.remedy
                .contains("--assignee-principal-type ServicePrincipal"),
            "{}",
            f.remedy
        );
        // Not a deny: a second role that grants still allows.
        let oaiu = builtin("Cognitive Services OpenAI User");
        let both = [direct(&role, &account("oai-prod")), direct(&oaiu, &rg())];
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &both,
            &catalog(&[role, oaiu]),
            &[],
        );
        assert!(
            matches!(verdict, RbacVerdict::Allowed { .. }),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_deny_assignment_overrides_a_grant() {
        let role = builtin("Cognitive Services User");
        let assignments = [direct(&role, &account("oai-prod"))];
        let defs = catalog(&[role]);
        let q = openai(&account("oai-prod"));
        for who in [PRINCIPAL, EVERYONE] {
            let denies = [deny(who, &rg(), &["Microsoft.CognitiveServices/*"])];
            let verdict = evaluate(&q, &assignments, &defs, &denies);
            let f = first(&verdict);
            assert_eq!(f.code, Code::DenyAssignment, "{verdict:?}");
            assert!(
                f.message.contains("«stack-deny» at resource group rg-ai"),
                "{}",
                f.message
            );
            assert!(
                f.message
                    .contains("overrides *Cognitive Services User* at account oai-prod"),
                "{}",
                f.message
            );
        }
        // Through a group the principal is in.
        let via_group = [assign(
            GROUP,
            "Group",
            &builtin("Cognitive Services User"),
            &account("oai-prod"),
        )];
        let verdict = evaluate(
            &q,
            &via_group,
            &defs,
            &[deny(GROUP, &rg(), &["Microsoft.CognitiveServices/*"])],
        );
        assert_eq!(first(&verdict).code, Code::DenyAssignment);
        // The inspection command has no ARM host: `az rest` uses the current cloud's.
        assert!(
            first(&verdict).remedy.contains("--url \"/subscriptions/"),
            "{}",
            first(&verdict).remedy
        );
        // Excluded principals, other actions and child-scope opt-outs do not deny.
        let mut excluded = deny(EVERYONE, &rg(), &["Microsoft.CognitiveServices/*"]);
        excluded.properties.exclude_principals = vec![DenyPrincipal {
            id: PRINCIPAL.to_uppercase(),
            principal_type: "ServicePrincipal".into(),
        }];
        let mut top_only = deny(PRINCIPAL, &rg(), &["Microsoft.CognitiveServices/*"]);
        top_only.properties.do_not_apply_to_child_scopes = true;
        let other_action = deny(
            PRINCIPAL,
            &rg(),
            &["Microsoft.CognitiveServices/accounts/SpeechServices/*"],
        );
        let sibling = deny(PRINCIPAL, &account("oai-dev"), &["*"]);
        for d in [excluded, top_only, other_action, sibling] {
            let verdict = evaluate(&q, &assignments, &defs, std::slice::from_ref(&d));
            assert!(
                matches!(verdict, RbacVerdict::Allowed { .. }),
                "{d:?} -> {verdict:?}"
            );
        }
    }

    #[test]
    fn a_role_on_a_sibling_account_is_at_the_wrong_scope() {
        let role = builtin("Cognitive Services OpenAI User");
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[direct(&role, &account("oai-dev"))],
            &catalog(&[role]),
            &[],
        );
        assert!(matches!(verdict, RbacVerdict::Denied { .. }));
        let f = first(&verdict);
        assert_eq!(f.code, Code::RoleAtWrongScope);
        assert!(f.message.contains("at account oai-dev"), "{}", f.message);
        assert!(
            f.message.contains("does not include account oai-prod"),
            "{}",
            f.message
        );
        assert!(
            f.remedy
                .ends_with(&format!("--scope {}", account("oai-prod"))),
            "{}",
            f.remedy
        );
    }

    #[test]
    fn a_fresh_assignment_is_flagged_for_propagation() {
        let role = builtin("Cognitive Services OpenAI User");
        let mut fresh = direct(&role, &account("oai-prod"));
        fresh.properties.created_on = Some("2026-11-28T14:57:00.1234567Z".into());
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[fresh],
            &catalog(std::slice::from_ref(&role)),
            &[],
        );
        let RbacVerdict::Allowed { grant } = &verdict else {
            panic!("{verdict:?}")
        };
        assert!(grant.fresh);
        assert!(pending_propagation(grant, None, NOW));
        assert!(!pending_propagation(
            grant,
            None,
            NOW + time::Duration::minutes(11)
        ));
        assert!(explain(&verdict).contains("may not be in force yet"));
        let finding = propagation_finding(grant, NOW).expect("fresh");
        assert_eq!(finding.code, Code::RolePropagationPending);
        assert!(
            finding
                .message
                .contains("at account oai-prod 2 minute(s) ago"),
            "{}",
            finding.message
        );
        assert_eq!(
            propagation_finding(grant, NOW + time::Duration::minutes(11)),
            None
        );
        // An old assignment beside it is the one that counts.
        let both = [direct(&role, &rg()), {
            let mut a = direct(&role, &account("oai-prod"));
            a.properties.created_on = Some("2026-11-28T14:59:00Z".into());
            a
        }];
        let RbacVerdict::Allowed { grant } =
            evaluate(&openai(&account("oai-prod")), &both, &catalog(&[role]), &[])
        else {
            panic!()
        };
        assert!(!grant.fresh);
        assert!(!pending_propagation(&grant, None, NOW));
    }

    #[test]
    fn owner_and_contributor_are_management_roles_only() {
        let owner = builtin("Owner");
        let contributor = builtin("Contributor");
        let csc = builtin("Cognitive Services Contributor");
        let assignments = [direct(&contributor, &rg())];
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &assignments,
            &catalog(std::slice::from_ref(&contributor)),
            &[],
        );
        let f = first(&verdict);
        assert_eq!(f.code, Code::ManagementRoleOnly);
        assert_eq!(
            explain(&verdict),
            format!(
                "denied: no assignment grants `{OPENAI_MODELS}`; *Contributor* at resource group rg-ai grants management actions only (`actions` never grant data actions)"
            )
        );
        let all = [
            direct(&owner, &sub()),
            direct(&contributor, &rg()),
            direct(&csc, &account("oai-prod")),
        ];
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &all,
            &catalog(&[owner, contributor, csc]),
            &[],
        );
        assert_eq!(first(&verdict).code, Code::ManagementRoleOnly);
        assert!(
            first(&verdict)
                .message
                .contains("*Owner* at subscription 5e2a3c1d…")
        );
    }

    #[test]
    fn a_condition_makes_the_verdict_unknown() {
        let role = builtin("Cognitive Services OpenAI User");
        let mut conditional = direct(&role, &account("oai-prod"));
        conditional.properties.condition = Some("@Request[Microsoft.CognitiveServices/accounts/OpenAI/deployments:name] StringEquals 'gpt-4o'".into());
        conditional.properties.condition_version = Some("2.0".into());
        let defs = catalog(std::slice::from_ref(&role));
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            std::slice::from_ref(&conditional),
            &defs,
            &[],
        );
        assert!(
            matches!(verdict, RbacVerdict::Unknown { .. }),
            "{verdict:?}"
        );
        let f = first(&verdict);
        assert_eq!(
            (f.code, f.severity),
            (Code::AbacCondition, Severity::Warning)
        );
        assert!(f.message.contains("StringEquals 'gpt-4o'"));
        // An unconditional grant beside it decides.
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[conditional, direct(&role, &sub())],
            &defs,
            &[],
        );
        assert!(matches!(verdict, RbacVerdict::Allowed { .. }));
    }

    #[test]
    fn a_condition_that_holds_for_the_action_grants() {
        let role = builtin("Cognitive Services OpenAI User");
        let mut conditional = direct(&role, &account("oai-prod"));
        // A Storage-style condition: it constrains blob reads only.
        conditional.properties.condition = Some(
            "(!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs')".into(),
        );
        let defs = catalog(std::slice::from_ref(&role));
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            std::slice::from_ref(&conditional),
            &defs,
            &[],
        );
        assert!(
            matches!(verdict, RbacVerdict::Allowed { .. }),
            "{verdict:?}"
        );
        // One that can only hold for another action removes the grant.
        conditional.properties.condition = Some("ActionMatches{'Microsoft.Storage/*'}".into());
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            std::slice::from_ref(&conditional),
            &defs,
            &[],
        );
        assert!(matches!(verdict, RbacVerdict::Denied { .. }), "{verdict:?}");
        // One that does not parse is unknown, never a grant.
        conditional.properties.condition = Some("ActionMatches{'x'".into());
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            std::slice::from_ref(&conditional),
            &defs,
            &[],
        );
        assert_eq!(verdict.first_code(), Some(Code::AbacCondition));
    }

    /// Foundry Project Manager's delegation condition (published 02/23/2026) constrains role
    /// assignment writes only: data actions are granted, a role assignment depends on the role
    /// being assigned.
    #[test]
    fn the_project_manager_delegation_condition_is_evaluated() {
        let role = builtin("Azure AI Project Manager");
        assert!(role.properties.permissions[0].condition.is_some());
        let defs = catalog(std::slice::from_ref(&role));
        let held = [direct(&role, &account("foundry"))];
        let agents = ask(
            &account("foundry"),
            "Microsoft.CognitiveServices/accounts/AIServices/agents/read",
            ActionKind::DataAction,
        );
        let verdict = evaluate(&agents, &held, &defs, &[]);
        assert!(
            matches!(verdict, RbacVerdict::Allowed { .. }),
            "{verdict:?}"
        );
        let write = ask(
            &account("foundry"),
            "Microsoft.Authorization/roleAssignments/write",
            ActionKind::Action,
        );
        let verdict = evaluate(&write, &held, &defs, &[]);
        assert_eq!(
            verdict.first_code(),
            Some(Code::AbacCondition),
            "{verdict:?}"
        );
        assert!(verdict.findings()[0].message.contains("ActionMatches"));
        let projects = ask(
            &account("foundry"),
            "Microsoft.CognitiveServices/accounts/projects/write",
            ActionKind::Action,
        );
        assert!(matches!(
            evaluate(&projects, &held, &defs, &[]),
            RbacVerdict::Allowed { .. }
        ));
    }

    /// A definition read from ARM wins over the catalog in the remedy, name and permissions.
    #[test]
    fn remedies_use_the_tenants_definition_of_the_role_they_name() {
        let empty = HashMap::new();
        assert_eq!(
            least_privilege_role(OPENAI_MODELS, ActionKind::DataAction, &empty),
            "Cognitive Services OpenAI User"
        );
        assert_eq!(
            least_privilege_role(
                "Microsoft.CognitiveServices/accounts/AIServices/agents/read",
                ActionKind::DataAction,
                &empty
            ),
            "Foundry User"
        );
        // The tenant calls the role something else: the remedy says what the tenant says.
        let mut renamed = builtin("Cognitive Services OpenAI User");
        renamed.properties.role_name = "Azure OpenAI User (renamed)".into();
        let defs = catalog(&[renamed.clone()]);
        assert_eq!(
            least_privilege_role(OPENAI_MODELS, ActionKind::DataAction, &defs),
            "Azure OpenAI User (renamed)"
        );
        // The tenant's definition no longer grants it: fall back to a role that does.
        renamed.properties.permissions[0].data_actions.clear();
        let defs = catalog(&[renamed]);
        assert_eq!(
            least_privilege_role(OPENAI_MODELS, ActionKind::DataAction, &defs),
            "Cognitive Services User"
        );
        assert!(
            remedy_role_guids(OPENAI_MODELS, ActionKind::DataAction).contains(&OAIU.to_string())
        );
    }

    #[test]
    fn search_index_listing_is_an_action_and_documents_are_data_actions() {
        let list = "Microsoft.Search/searchServices/indexes/read";
        let docs = "Microsoft.Search/searchServices/indexes/documents/read";
        let sidr = builtin("Search Index Data Reader");
        let ssc = builtin("Search Service Contributor");
        let owner = builtin("Owner");
        let defs = catalog(&[sidr.clone(), ssc.clone(), owner.clone()]);
        let index = search_index_scope(&search(), "products");

        let reader = [direct(&sidr, &search())];
        let verdict = evaluate(
            &ask(&search(), list, ActionKind::Action),
            &reader,
            &defs,
            &[],
        );
        let f = first(&verdict);
        assert_eq!(f.code, Code::MissingDataAction, "{verdict:?}");
        assert!(f.message.contains("an Action, not a data action"));
        assert!(
            f.remedy.contains("\"Search Service Contributor\""),
            "{}",
            f.remedy
        );
        assert!(matches!(
            evaluate(
                &ask(&index, docs, ActionKind::DataAction),
                &reader,
                &defs,
                &[]
            ),
            RbacVerdict::Allowed { .. }
        ));

        let contributor = [direct(&ssc, &search())];
        assert!(matches!(
            evaluate(
                &ask(&search(), list, ActionKind::Action),
                &contributor,
                &defs,
                &[]
            ),
            RbacVerdict::Allowed { .. }
        ));
        let verdict = evaluate(
            &ask(&index, docs, ActionKind::DataAction),
            &contributor,
            &defs,
            &[],
        );
        assert_eq!(first(&verdict).code, Code::ManagementRoleOnly);
        assert!(
            first(&verdict)
                .remedy
                .contains("\"Search Index Data Reader\"")
        );

        let RbacVerdict::Allowed { grant } = evaluate(
            &ask(&search(), list, ActionKind::Action),
            &[direct(&owner, &sub())],
            &defs,
            &[],
        ) else {
            panic!()
        };
        assert_eq!(grant.pattern, "*");

        // Index-scoped: that index only, and it does not reach up to the listing.
        let scoped = [direct(&sidr, &index)];
        assert!(matches!(
            evaluate(
                &ask(&index, docs, ActionKind::DataAction),
                &scoped,
                &defs,
                &[]
            ),
            RbacVerdict::Allowed { .. }
        ));
        let other = search_index_scope(&search(), "orders");
        let verdict = evaluate(
            &ask(&other, docs, ActionKind::DataAction),
            &scoped,
            &defs,
            &[],
        );
        assert_eq!(first(&verdict).code, Code::RoleAtWrongScope);
        assert!(
            first(&verdict)
                .message
                .contains("index products of search service srch")
        );
        let verdict = evaluate(
            &ask(&search(), docs, ActionKind::DataAction),
            &scoped,
            &defs,
            &[],
        );
        assert_eq!(first(&verdict).code, Code::RoleAtWrongScope);
        assert!(
            first(&verdict)
                .message
                .contains("assignments do not reach up")
        );
    }

    #[test]
    fn nothing_assigned_names_the_least_privileged_role_per_service() {
        let cases = [
            (OPENAI_MODELS, "Cognitive Services OpenAI User"),
            (
                "Microsoft.CognitiveServices/accounts/SpeechServices/unified-speech/frontend/action",
                "Cognitive Services Speech User",
            ),
            // Speech User does not grant issueToken (data-actions.md §2 row 6).
            (
                "Microsoft.CognitiveServices/accounts/SpeechServices/issuetoken/action",
                "Cognitive Services User",
            ),
            (
                "Microsoft.CognitiveServices/accounts/Language/analyze-text/action",
                "Cognitive Services Language Reader",
            ),
            (
                "Microsoft.CognitiveServices/accounts/TextTranslation/translate/action",
                "Cognitive Services User",
            ),
        ];
        for (action, role) in cases {
            let verdict = evaluate(
                &ask(&account("ai"), action, ActionKind::DataAction),
                &[],
                &HashMap::new(),
                &[],
            );
            let f = first(&verdict);
            assert_eq!(f.code, Code::MissingDataAction);
            assert!(
                f.message
                    .contains("holds no role in subscription 5e2a3c1d…"),
                "{}",
                f.message
            );
            assert_eq!(
                f.remedy,
                format!(
                    "az role assignment create --assignee-object-id {PRINCIPAL} --role \"{role}\" --scope {}",
                    account("ai")
                )
            );
        }
    }

    #[test]
    fn a_role_that_does_not_cover_this_service_is_missing_data_action() {
        let speech = builtin("Cognitive Services Speech User");
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[direct(&speech, &rg())],
            &catalog(&[speech]),
            &[],
        );
        let f = first(&verdict);
        assert_eq!(f.code, Code::MissingDataAction);
        assert!(
            f.message
                .contains("holds *Cognitive Services Speech User* at resource group rg-ai"),
            "{}",
            f.message
        );
    }

    #[test]
    fn roles_are_matched_by_guid_not_by_name() {
        // A custom role that borrows a built-in's display name grants nothing it does not list.
        let impostor = custom("Cognitive Services OpenAI User", &[], &[]);
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[direct(&impostor, &rg())],
            &catalog(&[impostor]),
            &[],
        );
        assert!(matches!(verdict, RbacVerdict::Denied { .. }));
        // A renamed built-in still grants by its GUID.
        let mut renamed = builtin("Azure AI User");
        renamed.properties.role_name = "Foundry User".into();
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[direct(&renamed, &rg())],
            &catalog(&[renamed]),
            &[],
        );
        assert!(matches!(verdict, RbacVerdict::Allowed { .. }));
    }

    #[test]
    fn an_unreadable_definition_makes_the_verdict_unknown() {
        let role = builtin("Cognitive Services OpenAI User");
        let verdict = evaluate(
            &openai(&account("oai-prod")),
            &[direct(&role, &rg())],
            &HashMap::new(),
            &[],
        );
        assert!(
            matches!(verdict, RbacVerdict::Unknown { .. }),
            "{verdict:?}"
        );
        assert_eq!(first(&verdict).code, Code::RbacUnreadable);
        assert!(first(&verdict).message.contains(OAIU));
    }

    #[test]
    fn unreadable_assignments_fall_back_to_the_permissions_api() {
        let q = openai(&account("oai-prod"));
        let err = crate::arm::client::ArmError::Forbidden {
            code: "AuthorizationFailed".into(),
            message: "does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read'".into(),
        };
        let verdict = unreadable(&q, &err);
        assert_eq!(first(&verdict).code, Code::RbacUnreadable);
        assert!(explain(&verdict).starts_with("unknown: role assignments for"));

        let granted = [Permission {
            data_actions: vec!["Microsoft.CognitiveServices/*".into()],
            ..Default::default()
        }];
        let verdict = evaluate_permissions(&q, &granted);
        assert!(matches!(verdict, RbacVerdict::Allowed { .. }));
        assert!(explain(&verdict).contains("effective permissions"));
        let management = [Permission {
            actions: vec!["*".into()],
            ..Default::default()
        }];
        assert_eq!(
            evaluate_permissions(&q, &management).first_code(),
            Some(Code::ManagementRoleOnly)
        );
        assert_eq!(
            evaluate_permissions(&q, &[]).first_code(),
            Some(Code::MissingDataAction)
        );
    }

    #[test]
    fn bad_input_does_not_panic() {
        let role = builtin("Cognitive Services User");
        let mut odd = direct(&role, "");
        odd.id = String::new();
        odd.properties.role_definition_id = String::new();
        odd.properties.created_on = Some("yesterday".into());
        let q = RbacQuestion {
            principal_id: "",
            resource_id: "",
            action: "",
            kind: ActionKind::DataAction,
            now: NOW,
            horizon: time::Duration::ZERO,
        };
        let _ = explain(&evaluate(
            &q,
            &[odd],
            &catalog(&[role]),
            &[DenyAssignment::default()],
        ));
    }
}
