//! Diagnosis of one cell: a pure function from everything the stages saw to a verdict and the
//! findings, most specific cause first (design §1, §5.4; issue 4 item 3).
//!
//! The live call wins over prediction: RBAC and preflight only refine *why* a call failed, and
//! when they disagree with the call, the disagreement itself is reported.

use super::{Code, Finding, Severity};
use crate::arm::rbac::RbacVerdict;
use crate::probe::{Expectation, Verdict};
use crate::service::CallOutcome;

/// What the token stage produced for this cell's audience.
#[derive(Debug, Clone)]
pub enum TokenEvidence {
    Acquired,
    Skipped(Vec<Finding>),
    Failed(Vec<Finding>),
}

/// Everything one cell's stages saw. Built by the runner; judged here.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub expected: Expectation,
    /// The user asked for this cell by name (a named source, an expect-deny): a skip then
    /// proves nothing and does not meet the expectation.
    pub must_run: bool,
    pub token: TokenEvidence,
    /// Claim checks against this target (wrong-audience, token-expired, tenant-mismatch).
    pub claims: Vec<Finding>,
    /// Endpoint-shape findings found before any token was sent.
    pub endpoint: Vec<Finding>,
    /// Preflight findings from the resource's ARM properties (None: not read).
    pub preflight: Option<Vec<Finding>>,
    /// The RBAC troubleshooter's verdict (None: not evaluated, e.g. no ARM access at all).
    pub rbac: Option<RbacVerdict>,
    /// Whether the granting assignment is younger than the propagation window.
    pub grant_is_fresh: bool,
    /// The live call, or why there was none.
    pub call: CallEvidence,
}

/// What became of the data-plane call. Explicit, so a call that was never sent can never be
/// mistaken for admin mode (which judges on RBAC alone) and pass without proof.
#[derive(Debug, Clone)]
pub enum CallEvidence {
    /// Sent: its classification, or a transport-level failure finding.
    Sent(Result<CallOutcome, Finding>),
    /// Stopped before sending by an error-severity endpoint or request finding.
    NotSent,
    /// Admin mode (`--principal`): the tool cannot act as this principal, so RBAC and preflight
    /// are the whole answer.
    AdminMode,
}

/// The outcome of diagnosis.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub verdict: Verdict,
    pub met: bool,
    pub findings: Vec<Finding>,
}

/// Codes that mean "an authorization decision denied this": the only denials that satisfy an
/// expect-deny cell. A firewall, a timeout or a broken DNS name must never make a
/// least-privilege check green, and neither may API-key-only Search (`search-aad-disabled`):
/// it refuses every token, so it says nothing of this identity's roles, and the day role-based
/// access is switched on the identity may well get in.
pub fn is_authorization_denial(code: Code) -> bool {
    matches!(
        code,
        Code::PermissionDenied
            | Code::MissingDataAction
            | Code::ManagementRoleOnly
            | Code::RoleAtWrongScope
            | Code::DenyAssignment
            | Code::RoleEligibleNotActive
            | Code::AssignedToApplicationObject
    )
}

/// Can waiting turn a cell whose first finding is `code` into a pass (`--wait-for-access`)? Yes
/// for what time fixes: an assignment still propagating, throttling, a transient network or
/// server fault, a denial the role assignments cannot explain (an assignment this identity cannot
/// see may still be propagating). No for what only a change fixes: a missing role, a network
/// rule, an endpoint, a token for the wrong audience, a credential that fails. Exhaustive, so a
/// new code must be decided here.
pub fn waiting_can_fix(code: Code) -> bool {
    match code {
        Code::RolePropagationPending
        | Code::Throttled
        | Code::Timeout
        | Code::ServerError
        | Code::ConnectionFailed
        | Code::TokenRequestFailed
        | Code::TokenEndpointUnavailable
        | Code::PermissionDenied
        | Code::RbacUnreadable => true,
        Code::CredentialNotConfigured
        | Code::PrivateEndpointRequired
        | Code::RoleEligibleNotActive
        | Code::RoleAssignmentExpiring
        | Code::AssignedToApplicationObject
        | Code::PrincipalUnresolved
        | Code::TooManyOpenFiles
        | Code::CliNotInstalled
        | Code::CliNotLoggedIn
        | Code::InvalidClientSecret
        | Code::ClientSecretExpired
        | Code::AppNotFoundInTenant
        | Code::TenantNotFound
        | Code::FederatedCredentialMismatch
        | Code::AssertionExpired
        | Code::CertificateNotAccepted
        | Code::ManagedIdentityNotFound
        | Code::ManagedIdentityAmbiguous
        | Code::ImdsUnreachable
        | Code::WrongAudience
        | Code::TokenExpired
        | Code::TenantMismatch
        | Code::RegionalEndpoint
        | Code::EndpointNotAzure
        | Code::DnsFailure
        | Code::PublicAccessDisabled
        | Code::FirewallBlocked
        | Code::LocalAuthEnabled
        | Code::SearchAadDisabled
        | Code::SpeechResourceIdMissing
        | Code::HubBasedProject
        | Code::ProjectIdentityMissingRole
        | Code::TlsFailure
        | Code::MissingDataAction
        | Code::ManagementRoleOnly
        | Code::RoleAtWrongScope
        | Code::DenyAssignment
        | Code::AbacCondition
        | Code::UnexpectedAccess
        | Code::TokenRejected
        | Code::NotFound
        | Code::UnexpectedRedirect => false,
    }
}

/// Codes that mean "the other side failed for now": the cell is inconclusive, never failed.
fn is_transient(code: Code) -> bool {
    matches!(code, Code::TokenEndpointUnavailable | Code::ServerError)
}

/// Endpoint findings of error severity stop the cell before a token is sent; a warning (a host
/// allowed with `--allow-host`) lets it go.
pub fn blocks_call(finding: &Finding) -> bool {
    finding.severity == Severity::Error
}

pub fn diagnose(e: &Evidence) -> Diagnosis {
    let (verdict, mut findings) = verdict_and_findings(e);
    if verdict == Verdict::Pass && e.expected == Expectation::Deny {
        findings.insert(
            0,
            Finding::new(
                Code::UnexpectedAccess,
                "this identity reached the service although it is expected to be denied",
                "remove the role assignment that grants the data action (the rbac line names it), or drop the expectation if the access is intended",
            ),
        );
    }
    let met = match (verdict, e.expected) {
        (Verdict::Skip, _) => !e.must_run,
        (Verdict::Pass, Expectation::Allow) => true,
        (Verdict::Fail, Expectation::Deny) => findings
            .first()
            .is_some_and(|f| is_authorization_denial(f.code)),
        _ => false,
    };
    Diagnosis {
        verdict,
        met,
        findings,
    }
}

fn errors_first(mut findings: Vec<Finding>) -> Vec<Finding> {
    // Stable: the order of causes within a severity is the order the rules chose.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

fn push_unique(into: &mut Vec<Finding>, more: impl IntoIterator<Item = Finding>) {
    for f in more {
        if !into.iter().any(|g| g.code == f.code) {
            into.push(f);
        }
    }
}

fn verdict_and_findings(e: &Evidence) -> (Verdict, Vec<Finding>) {
    match &e.token {
        TokenEvidence::Skipped(f) => return (Verdict::Skip, f.clone()),
        // A throttled or failing token endpoint says nothing of this identity's access.
        TokenEvidence::Failed(f) if f.first().is_some_and(|f| is_transient(f.code)) => {
            return (Verdict::Inconclusive, f.clone());
        }
        TokenEvidence::Failed(f) => return (Verdict::Fail, f.clone()),
        TokenEvidence::Acquired => {}
    }
    let preflight = e.preflight.clone().unwrap_or_default();
    if e.endpoint.iter().any(blocks_call) {
        let mut out = e.endpoint.clone();
        push_unique(&mut out, preflight);
        return (Verdict::Fail, errors_first(out));
    }
    let rbac_findings = match &e.rbac {
        Some(RbacVerdict::Denied { findings }) | Some(RbacVerdict::Unknown { findings }) => {
            findings.clone()
        }
        _ => Vec::new(),
    };
    let mut warnings: Vec<Finding> = e
        .endpoint
        .iter()
        .chain(preflight.iter())
        .filter(|f| f.severity < Severity::Error)
        .cloned()
        .collect();
    if let Some(RbacVerdict::Allowed { grant }) = &e.rbac
        && let Some(ends) = &grant.ends
    {
        warnings.push(crate::arm::pim::expiry_finding(ends));
    }
    let call = match &e.call {
        CallEvidence::Sent(call) => call,
        CallEvidence::NotSent => {
            // Only an error finding stops a call, and that returned above; anything else is a
            // runner bug, reported rather than passed.
            let mut out = vec![Finding::new(
                Code::ServerError,
                "the call was not sent and no finding says why",
                "report this as an entraprobe bug, with the --output json report",
            )];
            out.extend(warnings);
            return (Verdict::Inconclusive, out);
        }
        CallEvidence::AdminMode => {
            // No data-plane call. A network or endpoint error would stop any call; past those,
            // the RBAC verdict is the answer.
            let blocking: Vec<Finding> = preflight
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .cloned()
                .collect();
            let (verdict, mut out) = if !blocking.is_empty() {
                let mut out = blocking;
                push_unique(&mut out, rbac_findings);
                (Verdict::Fail, out)
            } else {
                match &e.rbac {
                    Some(RbacVerdict::Allowed { .. }) => (Verdict::Pass, Vec::new()),
                    Some(RbacVerdict::Denied { findings }) => (Verdict::Fail, findings.clone()),
                    _ => (Verdict::Inconclusive, rbac_findings),
                }
            };
            push_unique(&mut out, warnings);
            return (verdict, out);
        }
    };
    match call {
        // A connection reset mid-exchange is a 5xx without the status: nothing about access.
        Err(transport) if is_transient(transport.code) => {
            let mut out = vec![transport.clone()];
            push_unique(&mut out, rbac_findings);
            push_unique(&mut out, warnings);
            (Verdict::Inconclusive, out)
        }
        Err(transport) => {
            let mut out: Vec<Finding> = network_cause(Some(transport.code), &preflight)
                .into_iter()
                .collect();
            out.push(transport.clone());
            push_unique(
                &mut out,
                preflight
                    .into_iter()
                    .filter(|f| f.severity == Severity::Error),
            );
            push_unique(&mut out, warnings);
            (Verdict::Fail, out)
        }
        Ok(CallOutcome::Authorized {
            findings: notes, ..
        }) => {
            let mut out = notes.clone();
            if let Some(RbacVerdict::Denied { findings }) = &e.rbac {
                let first = findings
                    .first()
                    .map(|f| f.code.as_str())
                    .unwrap_or("denied");
                out.push(
                    Finding::new(
                        Code::PermissionDenied,
                        format!(
                            "the call succeeded although the role assignments this identity can read predict a denial ({first}); \
                             access probably comes from an assignment it cannot see (a management group, a group it cannot enumerate), \
                             or it is access still in force after a removal: a removed role assignment lingers on the data plane \
                             until the removal propagates (up to about 10 minutes; a token issued before the change can carry it longer)"
                        ),
                        "nothing to fix for access; review the assignments if this identity should not have it. If a role assignment \
                         was just removed, re-run later with --expect-deny CREDENTIAL:SERVICE to confirm the access is gone",
                    )
                    .with_severity(Severity::Info),
                );
            }
            out.extend(warnings.into_iter().filter(|f| !network_guess(f)));
            (Verdict::Pass, out)
        }
        Ok(CallOutcome::Inconclusive { findings })
            if findings.first().is_some_and(|f| f.code == Code::Throttled) =>
        {
            judge_throttled(e, findings, &preflight, rbac_findings, warnings)
        }
        Ok(CallOutcome::Inconclusive { findings }) => {
            let mut out = findings.clone();
            push_unique(&mut out, rbac_findings);
            push_unique(&mut out, warnings);
            (Verdict::Inconclusive, out)
        }
        Ok(CallOutcome::Denied { findings }) => {
            let mut out = refine_denial(e, findings, &preflight, rbac_findings);
            push_unique(&mut out, warnings);
            (Verdict::Fail, out)
        }
    }
}

/// Codes that say the service may refuse this caller whatever its roles: the network path,
/// the endpoint, the token's tenant. Any of them, at any severity, keeps a throttled cell from
/// passing on RBAC evidence.
fn may_refuse_regardless_of_roles(code: Code) -> bool {
    matches!(
        code,
        Code::FirewallBlocked
            | Code::PublicAccessDisabled
            | Code::RegionalEndpoint
            | Code::EndpointNotAzure
            | Code::SearchAadDisabled
            | Code::TenantMismatch
            | Code::WrongAudience
            | Code::TokenExpired
    )
}

/// Does the RBAC stage prove the grant on its own? Only an unconditional role assignment from
/// the assignment listing (the permissions API fallback sees neither deny assignments nor
/// conditions) that is older than the propagation window; a deny assignment or a condition
/// already made the verdict Denied or Unknown.
fn rbac_proves_grant(e: &Evidence) -> bool {
    match &e.rbac {
        Some(RbacVerdict::Allowed { grant }) => {
            !grant.assignment_id.trim().is_empty() && !grant.fresh && !e.grant_is_fresh
        }
        _ => false,
    }
}

/// A throttled call (429, a quota refusal) decides nothing: whether the service's limiter runs
/// before or after it checks the caller is not documented, so a caller with no role, or one
/// behind a firewall, may be throttled just the same (issue 9). A cause found without the call
/// (a claim, the network rules) still fails the cell; otherwise it passes only where the RBAC
/// stage proves the grant and nothing may refuse the caller regardless of roles, and is
/// inconclusive everywhere else.
fn judge_throttled(
    e: &Evidence,
    call: &[Finding],
    preflight: &[Finding],
    rbac: Vec<Finding>,
    warnings: Vec<Finding>,
) -> (Verdict, Vec<Finding>) {
    let independent = || {
        e.claims
            .iter()
            .chain(e.endpoint.iter())
            .chain(preflight.iter())
    };
    let errors: Vec<Finding> = independent()
        .filter(|f| f.severity == Severity::Error)
        .cloned()
        .collect();
    if !errors.is_empty() {
        let mut out = errors;
        push_unique(&mut out, call.iter().cloned());
        push_unique(&mut out, rbac);
        push_unique(&mut out, warnings);
        return (Verdict::Fail, errors_first(out));
    }
    let network_known = e.preflight.is_some();
    let nothing_refuses = !independent().any(|f| may_refuse_regardless_of_roles(f.code));
    if rbac_proves_grant(e) && network_known && nothing_refuses {
        let mut out: Vec<Finding> = call
            .iter()
            .map(|f| {
                let mut note = f.clone().with_severity(Severity::Info);
                note.message.push_str(
                    " The cell passes on the role assignments alone: an unconditional, \
                     in-force assignment grants the action and no deny assignment or network \
                     rule stands in the way.",
                );
                note
            })
            .collect();
        push_unique(&mut out, warnings);
        return (Verdict::Pass, out);
    }
    let mut out = call.to_vec();
    push_unique(&mut out, rbac);
    push_unique(&mut out, warnings);
    (Verdict::Inconclusive, out)
}

/// Put the most specific cause consistent with all the evidence first.
fn refine_denial(
    e: &Evidence,
    call: &[Finding],
    preflight: &[Finding],
    rbac: Vec<Finding>,
) -> Vec<Finding> {
    let call_code = call.first().map(|f| f.code);
    let mut out: Vec<Finding> = Vec::new();
    match call_code {
        Some(Code::TokenRejected) => {
            // The service's 401 body is the same for every token problem; the claims say which.
            push_unique(
                &mut out,
                e.claims
                    .iter()
                    .chain(preflight.iter().filter(|f| f.code == Code::TenantMismatch))
                    .filter(|f| f.severity == Severity::Error)
                    .cloned(),
            );
            push_unique(&mut out, call.iter().cloned());
        }
        Some(Code::PermissionDenied) => {
            // API-key-only Search refuses every token: that explains the refusal fully, and the
            // service's generic "Authorization failed." would only repeat it less precisely. The
            // role question still matters for the day role-based access is switched on.
            if let Some(f) = preflight.iter().find(|f| f.code == Code::SearchAadDisabled) {
                out.push(f.clone());
                push_unique(&mut out, rbac);
                push_unique(&mut out, preflight.iter().cloned());
                return errors_first(out);
            }
            match &e.rbac {
                Some(RbacVerdict::Denied { .. }) => push_unique(&mut out, rbac.clone()),
                // Here it is the cause of a failed call, not a mere caution: an error.
                Some(RbacVerdict::Allowed { .. }) if e.grant_is_fresh => out.push(
                    Finding::new(
                        Code::RolePropagationPending,
                        "a role assignment grants this action, but it was created within the propagation window and the service still denies the call",
                        "wait and retry (entraprobe run --wait-for-access 10m); get a fresh token, since a cached token can outlive the change",
                    )
                    .with_severity(Severity::Error),
                ),
                // A preflight cause (API-key-only Search, a network rule) already explains it.
                Some(RbacVerdict::Allowed { .. }) if !out.is_empty() => {}
                // The deciding finding of a failed cell: an error, never only a warning.
                Some(RbacVerdict::Allowed { .. }) => out.push(Finding::new(
                    Code::PermissionDenied,
                    "the role assignments grant this action but the service denied the call: an assignment still propagating, a condition, or a network rule the preflight could not see",
                    "wait a few minutes and retry with a fresh token; check the assignment's condition and the account's network rules",
                )),
                // A deny on a group of unknown membership is the likeliest cause of this denial.
                Some(RbacVerdict::Unknown { findings })
                    if findings.first().is_some_and(|f| f.code == Code::DenyAssignment) =>
                {
                    push_unique(&mut out, rbac.clone())
                }
                Some(RbacVerdict::Unknown { .. }) | None => {}
            }
            push_unique(&mut out, call.iter().cloned());
            push_unique(&mut out, rbac);
        }
        _ => {
            // Network and endpoint denials are already specific; preflight corroborates them,
            // and names the cause first where it is more specific than the call's answer.
            if let Some(cause) = network_cause(call_code, preflight) {
                out.push(cause);
            }
            push_unique(&mut out, call.iter().cloned());
        }
    }
    push_unique(&mut out, preflight.iter().cloned());
    errors_first(out)
}

// ---- network causes, in the order Azure applies them (issue 10 item 7) ----

/// A preflight warning about the network that only a refused call would confirm: dropped from
/// a cell whose call got through (the firewall admitted it; it ran inside the private network).
fn network_guess(f: &Finding) -> bool {
    f.severity < Severity::Error
        && matches!(
            f.code,
            Code::FirewallBlocked | Code::PrivateEndpointRequired
        )
}

/// The preflight cause of a network refusal, when it is more specific than the call's: a
/// private-endpoint-only resource (whatever the refusal looked like: 403, no DNS answer, no
/// route), or public access disabled where the call's answer read like a firewall. Promoted to
/// an error: it decides a failed cell.
fn network_cause(call: Option<Code>, preflight: &[Finding]) -> Option<Finding> {
    let refused_by_network = matches!(
        call,
        Some(
            Code::PublicAccessDisabled
                | Code::FirewallBlocked
                | Code::DnsFailure
                | Code::Timeout
                | Code::ConnectionFailed
        )
    );
    if !refused_by_network {
        return None;
    }
    let wanted: &[Code] = if call == Some(Code::FirewallBlocked) {
        &[Code::PrivateEndpointRequired, Code::PublicAccessDisabled]
    } else {
        &[Code::PrivateEndpointRequired]
    };
    wanted.iter().find_map(|code| {
        preflight
            .iter()
            .find(|f| f.code == *code)
            .map(|f| f.clone().with_severity(Severity::Error))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(code: Code) -> Finding {
        Finding::new(code, code.title(), "fix it")
    }

    fn evidence(call: CallEvidence) -> Evidence {
        Evidence {
            expected: Expectation::Allow,
            must_run: false,
            token: TokenEvidence::Acquired,
            claims: vec![],
            endpoint: vec![],
            preflight: Some(vec![]),
            rbac: None,
            grant_is_fresh: false,
            call,
        }
    }

    #[test]
    fn transient_failures_of_the_token_endpoint_or_the_connection_are_inconclusive() {
        let mut e = evidence(CallEvidence::NotSent);
        e.token = TokenEvidence::Failed(vec![f(Code::TokenEndpointUnavailable)]);
        assert_eq!(diagnose(&e).verdict, Verdict::Inconclusive);
        e.token = TokenEvidence::Failed(vec![f(Code::InvalidClientSecret)]);
        assert_eq!(diagnose(&e).verdict, Verdict::Fail);

        let reset = evidence(CallEvidence::Sent(Err(f(Code::ServerError))));
        assert_eq!(diagnose(&reset).verdict, Verdict::Inconclusive);
        let refused = evidence(CallEvidence::Sent(Err(f(Code::ConnectionFailed))));
        assert_eq!(diagnose(&refused).verdict, Verdict::Fail);
    }

    #[test]
    fn management_role_only_comes_before_the_bare_denial() {
        let mut e = evidence(CallEvidence::Sent(Ok(CallOutcome::Denied {
            findings: vec![f(Code::PermissionDenied)],
        })));
        e.rbac = Some(RbacVerdict::Denied {
            findings: vec![f(Code::ManagementRoleOnly)],
        });
        let d = diagnose(&e);
        assert_eq!(d.verdict, Verdict::Fail);
        assert_eq!(d.findings[0].code, Code::ManagementRoleOnly);
        assert_eq!(d.findings[1].code, Code::PermissionDenied);
        assert!(!d.met);
    }

    #[test]
    fn an_expected_denial_is_met_only_by_an_authorization_decision() {
        let mut e = evidence(CallEvidence::Sent(Ok(CallOutcome::Denied {
            findings: vec![f(Code::PermissionDenied)],
        })));
        e.expected = Expectation::Deny;
        assert!(diagnose(&e).met);
        let mut e = evidence(CallEvidence::Sent(Ok(CallOutcome::Denied {
            findings: vec![f(Code::FirewallBlocked)],
        })));
        e.expected = Expectation::Deny;
        assert!(
            !diagnose(&e).met,
            "a firewall must not make a least-privilege check green"
        );
        let mut e = evidence(CallEvidence::Sent(Err(f(Code::Timeout))));
        e.expected = Expectation::Deny;
        assert!(!diagnose(&e).met);
    }

    #[test]
    fn token_rejection_is_explained_by_the_claims() {
        let mut e = evidence(CallEvidence::Sent(Ok(CallOutcome::Denied {
            findings: vec![f(Code::TokenRejected)],
        })));
        e.claims = vec![f(Code::WrongAudience)];
        assert_eq!(diagnose(&e).findings[0].code, Code::WrongAudience);
    }

    #[test]
    fn a_rejected_token_from_another_tenant_names_the_tenant() {
        let mut e = evidence(CallEvidence::Sent(Ok(CallOutcome::Denied {
            findings: vec![f(Code::TokenRejected)],
        })));
        e.preflight = Some(vec![f(Code::TenantMismatch)]);
        assert_eq!(diagnose(&e).findings[0].code, Code::TenantMismatch);
    }

    #[test]
    fn fresh_grant_with_live_denial_is_propagation() {
        let mut e = evidence(CallEvidence::Sent(Ok(CallOutcome::Denied {
            findings: vec![f(Code::PermissionDenied)],
        })));
        e.rbac = Some(RbacVerdict::Allowed {
            grant: crate::arm::rbac::Grant::default(),
        });
        e.grant_is_fresh = true;
        assert_eq!(diagnose(&e).findings[0].code, Code::RolePropagationPending);
    }

    #[test]
    fn blocked_endpoint_fails_without_a_call_and_skips_stay_skips() {
        let mut e = evidence(CallEvidence::NotSent);
        e.endpoint = vec![f(Code::RegionalEndpoint)];
        let d = diagnose(&e);
        assert_eq!(
            (d.verdict, d.findings[0].code),
            (Verdict::Fail, Code::RegionalEndpoint)
        );
        let mut e = evidence(CallEvidence::NotSent);
        e.token = TokenEvidence::Skipped(vec![f(Code::CredentialNotConfigured)]);
        let d = diagnose(&e);
        assert_eq!(d.verdict, Verdict::Skip);
        assert!(d.met);
        e.must_run = true;
        assert!(
            !diagnose(&e).met,
            "a source the user named must not skip its way to a green gate"
        );
    }

    #[test]
    fn a_call_not_sent_never_passes_on_rbac_alone() {
        let mut e = evidence(CallEvidence::NotSent);
        e.endpoint = vec![f(Code::EndpointNotAzure).with_severity(Severity::Warning)];
        e.rbac = Some(RbacVerdict::Allowed {
            grant: crate::arm::rbac::Grant::default(),
        });
        assert_ne!(diagnose(&e).verdict, Verdict::Pass);
        e.call = CallEvidence::AdminMode;
        assert_eq!(
            diagnose(&e).verdict,
            Verdict::Pass,
            "admin mode judges on RBAC"
        );
    }

    fn throttled() -> CallEvidence {
        CallEvidence::Sent(Ok(CallOutcome::Inconclusive {
            findings: vec![f(Code::Throttled).with_severity(Severity::Warning)],
        }))
    }

    fn listed_grant() -> RbacVerdict {
        RbacVerdict::Allowed {
            grant: crate::arm::rbac::Grant {
                assignment_id:
                    "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a".into(),
                ..Default::default()
            },
        }
    }

    fn verdict_and_first(e: &Evidence) -> (Verdict, Code) {
        let d = diagnose(e);
        (d.verdict, d.findings[0].code)
    }

    #[test]
    fn a_throttled_call_without_rbac_proof_is_inconclusive() {
        // No RBAC answer at all, a denial, a conditional grant: a 429 proves none of them wrong.
        let mut e = evidence(throttled());
        assert_eq!(
            verdict_and_first(&e),
            (Verdict::Inconclusive, Code::Throttled)
        );
        e.rbac = Some(RbacVerdict::Denied {
            findings: vec![f(Code::MissingDataAction)],
        });
        let d = diagnose(&e);
        assert_eq!(d.verdict, Verdict::Inconclusive);
        assert_eq!(d.findings[0].code, Code::Throttled);
        assert!(d.findings.iter().any(|g| g.code == Code::MissingDataAction));
        e.rbac = Some(RbacVerdict::Unknown {
            findings: vec![f(Code::AbacCondition)],
        });
        assert_eq!(
            verdict_and_first(&e),
            (Verdict::Inconclusive, Code::Throttled)
        );
    }

    #[test]
    fn a_throttled_call_passes_only_on_an_in_force_listed_grant() {
        let mut e = evidence(throttled());
        e.rbac = Some(listed_grant());
        let d = diagnose(&e);
        assert_eq!(d.verdict, Verdict::Pass);
        assert_eq!(d.findings[0].code, Code::Throttled);
        assert_eq!(d.findings[0].severity, Severity::Info);
        assert!(d.met);

        // The permissions API fallback sees no deny assignments or conditions.
        e.rbac = Some(RbacVerdict::Allowed {
            grant: crate::arm::rbac::Grant::default(),
        });
        assert_eq!(diagnose(&e).verdict, Verdict::Inconclusive);

        // A grant still propagating is not in force.
        e.rbac = Some(listed_grant());
        e.grant_is_fresh = true;
        assert_eq!(diagnose(&e).verdict, Verdict::Inconclusive);
        e.grant_is_fresh = false;

        // The resource's network rules were not read: a firewall may stand in the way.
        e.preflight = None;
        assert_eq!(diagnose(&e).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn a_network_or_claim_cause_wins_over_a_throttled_call() {
        let mut e = evidence(throttled());
        e.rbac = Some(listed_grant());
        // The caller's address is unknown: the firewall may block it.
        e.preflight = Some(vec![
            f(Code::FirewallBlocked).with_severity(Severity::Warning),
        ]);
        assert_eq!(
            verdict_and_first(&e),
            (Verdict::Inconclusive, Code::Throttled)
        );
        e.preflight = Some(vec![
            f(Code::FirewallBlocked).with_severity(Severity::Error),
        ]);
        assert_eq!(
            verdict_and_first(&e),
            (Verdict::Fail, Code::FirewallBlocked)
        );
        e.preflight = Some(vec![
            f(Code::PublicAccessDisabled).with_severity(Severity::Error),
        ]);
        e.rbac = None;
        assert_eq!(
            verdict_and_first(&e),
            (Verdict::Fail, Code::PublicAccessDisabled)
        );
        let mut e = evidence(throttled());
        e.rbac = Some(listed_grant());
        e.claims = vec![f(Code::WrongAudience).with_severity(Severity::Error)];
        assert_eq!(verdict_and_first(&e), (Verdict::Fail, Code::WrongAudience));
    }

    #[test]
    fn a_throttled_call_never_meets_an_expected_denial() {
        let mut e = evidence(throttled());
        e.expected = Expectation::Deny;
        e.rbac = Some(RbacVerdict::Denied {
            findings: vec![f(Code::MissingDataAction)],
        });
        assert!(!diagnose(&e).met);
    }

    #[test]
    fn waiting_fixes_time_not_configuration() {
        for code in [
            Code::RolePropagationPending,
            Code::Throttled,
            Code::Timeout,
            Code::ServerError,
        ] {
            assert!(waiting_can_fix(code), "{code:?}");
        }
        for code in [
            Code::WrongAudience,
            Code::MissingDataAction,
            Code::ManagementRoleOnly,
            Code::FirewallBlocked,
            Code::PublicAccessDisabled,
            Code::RegionalEndpoint,
            Code::SearchAadDisabled,
            Code::EndpointNotAzure,
        ] {
            assert!(!waiting_can_fix(code), "{code:?}");
        }
    }
}
