//! Foundry on the emulated data plane: which token audiences each surface accepts and the 401
//! it sends otherwise (reference/foundry.md §2), and the projects behind project routes.
//!
//! Written from the reference, not from the tool's service table: the emulator is the oracle.

use crate::emulator::World;
use crate::emulator::scenario::{AccountKind, AccountSpec, ProjectSpec};
use crate::service::ServiceKind;

/// The audiences a gateway accepts (both spellings appear in real tokens) and its answer to any
/// other token (the same body for a missing, invalid, wrong-audience or expired token).
pub struct Audiences {
    pub accepted: &'static [&'static str],
    pub rejection: &'static str,
}

/// Every classic Cognitive Services surface: the historic audience only (§8.2 of azure-wire.md).
pub const COGNITIVE: Audiences = Audiences {
    accepted: &[
        "https://cognitiveservices.azure.com",
        "https://cognitiveservices.azure.com/",
    ],
    rejection: r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}"#,
};

/// Project routes (`/api/projects/…`): `https://ai.azure.com` only [D+O], body verbatim from
/// microsoft/agent-framework#7201.
pub const PROJECT: Audiences = Audiences {
    accepted: &["https://ai.azure.com", "https://ai.azure.com/"],
    rejection: r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://ai.azure.com), or have expired."}"#,
};

/// Account-level Foundry surfaces (`/models`, OpenAI on an AIServices account): either audience
/// [O, live 2026]; the body is the `/models` one from Azure/azure-sdk-for-net#50872. That the
/// OpenAI routes answer with the same wording is inferred [I].
pub const EITHER: Audiences = Audiences {
    accepted: &[
        "https://cognitiveservices.azure.com",
        "https://cognitiveservices.azure.com/",
        "https://ai.azure.com",
        "https://ai.azure.com/",
    ],
    rejection: r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com/ or https://ai.azure.com/), or have expired."}"#,
};

/// Which audiences the surface of `service` accepts on an account of `kind`. Whether a
/// `kind: OpenAI` account, or Speech, Language and the others, accept `https://ai.azure.com` is
/// open (reference/foundry.md §8 item 2): the emulator keeps them to the historic audience.
pub fn accepted_audiences(service: ServiceKind, kind: Option<AccountKind>) -> &'static Audiences {
    match (service, kind) {
        (ServiceKind::FoundryProject, _) => &PROJECT,
        (ServiceKind::ModelInference, _) => &EITHER,
        (ServiceKind::Openai, Some(AccountKind::AIServices)) => &EITHER,
        _ => &COGNITIVE,
    }
}

/// The project a project route names: its own name, or `_project` for the account's default
/// (the first declared) project [D].
pub fn project_of<'w>(
    world: &'w World,
    account: &AccountSpec,
    name: &str,
) -> Option<&'w ProjectSpec> {
    let mut projects = world.scenario.projects_of(account.name());
    if name == "_project" {
        return projects.next();
    }
    projects.find(|p| p.name().eq_ignore_ascii_case(name))
}
