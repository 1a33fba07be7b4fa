//! A Foundry project (`https://ACCOUNT.services.ai.azure.com/api/projects/PROJECT`): list its
//! agents, one at most. Side-effect free, and it checks the data action the project's agent
//! routes need.
//!
//! Route and list shape are documented and observed (reference/foundry.md §3.1); that
//! `GET {P}/agents` checks `AIServices/agents/read` is inferred [I] from the classic
//! `/assistants` and `/threads` routes, whose PermissionDenied bodies name it [O]. A denial
//! quotes the action the service names, so the diagnosis stays true either way.

use super::endpoint::ServiceCloud;
use super::{ActionKind, ProbeRequest, RequiredAction, Target, accept_json};
use crate::diagnosis::{Code, Finding};

pub const API_VERSION: &str = "v1";
pub const OPERATION: &str = "GET /api/projects/{projectName}/agents";
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/AIServices/agents/read",
    kind: ActionKind::DataAction,
};

/// The project name of a project endpoint's path (`/api/projects/NAME`), if it is one.
pub fn project_of_path(path: &str) -> Option<&str> {
    let rest = path.trim_end_matches('/').strip_prefix("/api/projects/")?;
    let valid = !rest.is_empty()
        && rest.len() <= 64
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    valid.then_some(rest)
}

pub fn request(
    target: &Target,
    endpoint: &url::Url,
    cloud: &ServiceCloud,
) -> Result<ProbeRequest, Vec<Finding>> {
    let Some(project) = project_of_path(endpoint.path()) else {
        return Err(vec![not_a_project_endpoint(target, cloud)]);
    };
    let port = endpoint.port().map(|p| format!(":{p}")).unwrap_or_default();
    let host = endpoint.host_str().unwrap_or_default();
    Ok(ProbeRequest {
        method: "GET",
        url: format!(
            "{}://{host}{port}/api/projects/{project}/agents?api-version={API_VERSION}&limit=1",
            endpoint.scheme()
        ),
        headers: accept_json(),
        body: None,
        auth: super::AuthHeader::Bearer,
        api_version: API_VERSION,
    })
}

pub(crate) fn not_a_project_endpoint(target: &Target, cloud: &ServiceCloud) -> Finding {
    let remedy = match cloud.project_endpoint("ACCOUNT", "PROJECT") {
        Some(project) => format!(
            "Give the project endpoint, `{project}` (the project's `properties.endpoints[\"AI \
             Foundry API\"]`: `az cognitiveservices account project show -n ACCOUNT -g RG \
             --project-name PROJECT`)."
        ),
        None => format!(
            "entraprobe knows no Foundry project host in the {} cloud; probe the account's \
             own APIs instead.",
            cloud.name
        ),
    };
    Finding::new(
        Code::EndpointNotAzure,
        format!(
            "`{}` is configured as a Foundry project, but its endpoint ({}) is not a project \
             endpoint; no token was sent.",
            target.name,
            super::endpoint::short(&target.endpoint)
        ),
        remedy,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ServiceKind;
    use crate::service::test_support::*;

    #[test]
    fn lists_one_agent_of_the_project() {
        for endpoint in [
            "https://fdy.services.ai.azure.com/api/projects/agents",
            "https://fdy.services.ai.azure.com/api/projects/agents/",
        ] {
            let request = build(&target(ServiceKind::FoundryProject, endpoint));
            assert_eq!(
                request.url,
                "https://fdy.services.ai.azure.com/api/projects/agents/agents?api-version=v1&limit=1"
            );
            assert_eq!(request.method, "GET");
            assert_eq!(request.body, None);
        }
        let cloud = crate::service::ServiceCloud::PUBLIC;
        let t = target(
            ServiceKind::FoundryProject,
            "https://fdy.services.ai.azure.com/api/projects/agents",
        );
        assert_eq!(t.scope(&cloud), "https://ai.azure.com/.default");
        assert_eq!(
            ServiceKind::FoundryProject.accepted_audiences(&t, &cloud),
            ["https://ai.azure.com"]
        );
    }

    #[test]
    fn an_account_endpoint_is_not_a_project() {
        let err = crate::service::build_request(&target(
            ServiceKind::FoundryProject,
            "https://fdy.services.ai.azure.com/",
        ))
        .expect_err("not a project");
        assert_eq!(err[0].code, Code::EndpointNotAzure);
        assert!(err[0].remedy.contains("/api/projects/PROJECT"));
        assert_eq!(project_of_path("/api/projects/a/b"), None);
        // Outside the public cloud no Foundry host is known: no public one is suggested.
        let err = crate::service::build_request(&target(
            ServiceKind::FoundryProject,
            "https://fdy.cognitiveservices.azure.us/",
        ))
        .expect_err("not a project");
        assert!(err[0].remedy.contains("usgov cloud"), "{}", err[0].remedy);
        assert!(
            crate::service::endpoint::public_cloud_hosts(&err[0].remedy).is_empty(),
            "{}",
            err[0].remedy
        );
    }
}
