//! The data-plane operations the emulator serves: which path and api-version each service
//! answers, the action each needs (reference/data-actions.md §2), and the success bodies
//! (reference/azure-wire.md §7).

use serde_json::{Value, json};

use crate::arm::actions::ActionKind;
use crate::emulator::scenario::{AccountKind, AccountSpec};
use crate::service::ServiceKind;

/// Which family of host a request arrived on; each serves a different set of paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFamily {
    /// `{sub}.cognitiveservices.azure.com`
    CustomDomain,
    /// `{sub}.openai.azure.com`
    OpenAiDomain,
    /// `{region}.api.cognitive.microsoft.com`
    Regional,
    /// `{region}.tts.speech.microsoft.com`
    SpeechRegional,
    /// `api.cognitive.microsofttranslator.com`
    TranslatorGlobal,
    /// `{sub}.services.ai.azure.com`: Foundry projects, Foundry Models, OpenAI v1.
    ServicesAi,
}

/// What a matched operation answers with once every check has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Responder {
    OpenAiModels,
    OpenAiV1Models,
    OpenAiDeployments,
    ChatCompletions { deployment: String },
    VisionModels,
    AnalyzeText,
    TextAnalyticsLanguages,
    Translate,
    DocumentIntelligenceInfo,
    Blocklists,
    Voices,
    ProjectAgents { project: String },
    ModelsChat,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub service: ServiceKind,
    pub action: &'static str,
    pub kind: ActionKind,
    /// `METHOD /path` as Azure's PermissionDenied message names the operation.
    pub display: String,
    pub responder: Responder,
}

const OPENAI_VERSIONS: &[&str] = &[
    "2022-12-01",
    "2023-05-15",
    "2023-06-01-preview",
    "2023-12-01-preview",
    "2024-02-01",
    "2024-02-15-preview",
    "2024-03-01-preview",
    "2024-04-01-preview",
    "2024-05-01-preview",
    "2024-06-01",
    "2024-07-01-preview",
    "2024-08-01-preview",
    "2024-09-01-preview",
    "2024-10-01-preview",
    "2024-10-21",
    "2024-12-01-preview",
    "2025-01-01-preview",
    "2025-03-01-preview",
    "2025-04-01-preview",
];
/// The deployments listing was removed from the inference API after these (openai-python#460).
const OPENAI_DEPLOYMENT_LIST_VERSIONS: &[&str] = &["2022-12-01", "2023-03-15-preview"];
const VISION_VERSIONS: &[&str] = &["v1.0", "v2.0", "v2.1", "v3.0", "v3.1", "v3.2"];
const LANGUAGE_VERSIONS: &[&str] = &[
    "2022-05-01",
    "2023-04-01",
    "2023-11-15-preview",
    "2024-11-01",
    "2024-11-15-preview",
    "2025-05-15-preview",
];
const TEXT_ANALYTICS_VERSIONS: &[&str] = &["v3.0", "v3.1"];
const DOCUMENT_INTELLIGENCE_VERSIONS: &[&str] = &[
    "2023-10-31-preview",
    "2024-02-29-preview",
    "2024-07-31-preview",
    "2024-11-30",
];
const FORM_RECOGNIZER_VERSIONS: &[&str] = &["2022-08-31", "2023-07-31"];
const CONTENT_SAFETY_VERSIONS: &[&str] = &["2023-10-01", "2024-09-01"];
const TRANSLATOR_VERSIONS: &[&str] = &["3.0"];
/// Azure AI Model Inference (`/models`): the preview the SDKs send and the stable spec's.
const MODELS_VERSIONS: &[&str] = &["2024-05-01-preview", "2025-04-01", "2025-05-01"];

fn version_in(list: &[&str], version: Option<&str>) -> bool {
    version.is_some_and(|v| list.contains(&v))
}

/// The service a path belongs to, before api-version and method are judged (for counting and
/// for the throttling body).
pub fn service_of(family: HostFamily, path: &str) -> Option<ServiceKind> {
    let p = path.to_ascii_lowercase();
    let service = if p.starts_with("/api/projects/") {
        ServiceKind::FoundryProject
    } else if p.starts_with("/models/") {
        ServiceKind::ModelInference
    } else if p.starts_with("/openai/") {
        ServiceKind::Openai
    } else if p.starts_with("/vision/") {
        ServiceKind::Vision
    } else if p.starts_with("/language/") || p.starts_with("/text/analytics/") {
        ServiceKind::Language
    } else if p.starts_with("/translator/") || (family == HostFamily::TranslatorGlobal) {
        ServiceKind::Translator
    } else if p.starts_with("/documentintelligence/") || p.starts_with("/formrecognizer/") {
        ServiceKind::DocumentIntelligence
    } else if p.starts_with("/contentsafety/") {
        ServiceKind::ContentSafety
    } else if p.starts_with("/tts/") || family == HostFamily::SpeechRegional {
        ServiceKind::Speech
    } else {
        return None;
    };
    Some(service)
}

/// Match a request to an operation. `None` is Azure's 404 "Resource not found": an unknown
/// path, a wrong method, or an api-version the service does not have.
pub fn match_operation(
    family: HostFamily,
    method: &str,
    path: &str,
    api_version: Option<&str>,
) -> Option<Operation> {
    let service = service_of(family, path)?;
    let host_serves = match family {
        HostFamily::OpenAiDomain => service == ServiceKind::Openai,
        HostFamily::SpeechRegional => service == ServiceKind::Speech,
        HostFamily::TranslatorGlobal => service == ServiceKind::Translator,
        // Regional endpoints predate Azure OpenAI, and the regional translator and speech hosts
        // are separate.
        HostFamily::Regional => !matches!(
            service,
            ServiceKind::Openai | ServiceKind::Translator | ServiceKind::Speech
        ),
        // The services host serves projects, Foundry Models and OpenAI v1; the dated OpenAI
        // routes answered 404 there in 2026 [O] (reference/foundry.md §1.4).
        HostFamily::ServicesAi => match service {
            ServiceKind::Openai => path.to_ascii_lowercase().starts_with("/openai/v1/"),
            ServiceKind::FoundryProject | ServiceKind::ModelInference => true,
            _ => false,
        },
        HostFamily::CustomDomain => !matches!(
            service,
            ServiceKind::FoundryProject | ServiceKind::ModelInference
        ),
    };
    if !host_serves {
        return None;
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let get = method.eq_ignore_ascii_case("GET");
    let post = method.eq_ignore_ascii_case("POST");
    let op = |action: &'static str, responder: Responder| {
        Some(Operation {
            service,
            action,
            kind: ActionKind::DataAction,
            display: format!("{} {}", method.to_ascii_uppercase(), path),
            responder,
        })
    };
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    match lower.as_slice() {
        ["openai", "models"] if get && version_in(OPENAI_VERSIONS, api_version) => op(
            "Microsoft.CognitiveServices/accounts/OpenAI/models/read",
            Responder::OpenAiModels,
        ),
        ["openai", "v1", "models"]
            if get && matches!(api_version, None | Some("preview") | Some("latest")) =>
        {
            op(
                "Microsoft.CognitiveServices/accounts/OpenAI/models/read",
                Responder::OpenAiV1Models,
            )
        }
        ["openai", "deployments"]
            if get && version_in(OPENAI_DEPLOYMENT_LIST_VERSIONS, api_version) =>
        {
            op(
                "Microsoft.CognitiveServices/accounts/OpenAI/deployments/read",
                Responder::OpenAiDeployments,
            )
        }
        ["openai", "deployments", _, "chat", "completions"]
            if post && version_in(OPENAI_VERSIONS, api_version) =>
        {
            Some(Operation {
                service,
                action: "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
                kind: ActionKind::DataAction,
                // Azure names the route template, not the deployment, in PermissionDenied (§8.3).
                display: "POST /openai/deployments/{deployment-id}/chat/completions".into(),
                responder: Responder::ChatCompletions {
                    deployment: segments[2].to_string(),
                },
            })
        }
        // The new Agents API of a project (reference/foundry.md §3.1); the action is inferred
        // from the classic `/assistants` route's PermissionDenied body [I].
        ["api", "projects", _, "agents"] if get && api_version == Some("v1") => Some(Operation {
            service,
            action: "Microsoft.CognitiveServices/accounts/AIServices/agents/read",
            kind: ActionKind::DataAction,
            // Azure names the route template (§3.5).
            display: "GET /api/projects/{projectName}/agents".into(),
            responder: Responder::ProjectAgents {
                project: segments[2].to_string(),
            },
        }),
        ["models", "chat", "completions"] if post && version_in(MODELS_VERSIONS, api_version) => {
            op(
                "Microsoft.CognitiveServices/accounts/MaaS/chat/completions/action",
                Responder::ModelsChat,
            )
        }
        ["vision", v, "models"] if get && VISION_VERSIONS.contains(v) => op(
            "Microsoft.CognitiveServices/accounts/ComputerVision/models/read",
            Responder::VisionModels,
        ),
        ["language", ":analyze-text"] if post && version_in(LANGUAGE_VERSIONS, api_version) => op(
            "Microsoft.CognitiveServices/accounts/Language/analyze-text/action",
            Responder::AnalyzeText,
        ),
        ["text", "analytics", v, "languages"] if post && TEXT_ANALYTICS_VERSIONS.contains(v) => op(
            "Microsoft.CognitiveServices/accounts/TextAnalytics/languages/action",
            Responder::TextAnalyticsLanguages,
        ),
        ["translator", "text", "v3.0", "translate"]
            if post
                && family == HostFamily::CustomDomain
                && version_in(TRANSLATOR_VERSIONS, api_version) =>
        {
            op(
                "Microsoft.CognitiveServices/accounts/TextTranslation/translate/action",
                Responder::Translate,
            )
        }
        ["translate"]
            if post
                && family == HostFamily::TranslatorGlobal
                && version_in(TRANSLATOR_VERSIONS, api_version) =>
        {
            op(
                "Microsoft.CognitiveServices/accounts/TextTranslation/translate/action",
                Responder::Translate,
            )
        }
        // Which of the two FormRecognizer info actions each api-version checks is undocumented
        // (data-actions.md §2 rows 13-14); `info/read` is the likelier one [L].
        ["documentintelligence", "info"]
            if get && version_in(DOCUMENT_INTELLIGENCE_VERSIONS, api_version) =>
        {
            op(
                "Microsoft.CognitiveServices/accounts/FormRecognizer/info/read",
                Responder::DocumentIntelligenceInfo,
            )
        }
        ["formrecognizer", "info"] if get && version_in(FORM_RECOGNIZER_VERSIONS, api_version) => {
            op(
                "Microsoft.CognitiveServices/accounts/FormRecognizer/info/read",
                Responder::DocumentIntelligenceInfo,
            )
        }
        ["contentsafety", "text", "blocklists"]
            if get && version_in(CONTENT_SAFETY_VERSIONS, api_version) =>
        {
            op(
                "Microsoft.CognitiveServices/accounts/ContentSafety/text/blocklists/read",
                Responder::Blocklists,
            )
        }
        // No documented action for the voices list (data-actions.md §2 row 4); the Speech
        // frontend action is the likeliest candidate [L].
        ["tts", "cognitiveservices", "voices", "list"]
            if get && family == HostFamily::CustomDomain =>
        {
            op(
                "Microsoft.CognitiveServices/accounts/SpeechServices/unified-speech/frontend/action",
                Responder::Voices,
            )
        }
        ["cognitiveservices", "voices", "list"] if get && family == HostFamily::SpeechRegional => {
            op(
                "Microsoft.CognitiveServices/accounts/SpeechServices/unified-speech/frontend/action",
                Responder::Voices,
            )
        }
        _ => None,
    }
}

/// Does an account of this kind serve this service? Multi-service accounts serve every
/// Cognitive Services API; Azure OpenAI needs an OpenAI or AIServices account. The multi-service
/// coverage is the documented intent; per-API exceptions are unverified [L].
pub fn account_serves(kind: AccountKind, service: ServiceKind) -> bool {
    use AccountKind as K;
    let dedicated = match service {
        ServiceKind::Openai => return matches!(kind, K::OpenAI | K::AIServices),
        ServiceKind::Speech => K::SpeechServices,
        ServiceKind::Vision => K::ComputerVision,
        ServiceKind::Language => K::TextAnalytics,
        ServiceKind::Translator => K::TextTranslation,
        ServiceKind::DocumentIntelligence => K::FormRecognizer,
        ServiceKind::ContentSafety => K::ContentSafety,
        ServiceKind::Search => return false,
        ServiceKind::FoundryProject | ServiceKind::ModelInference => {
            return kind == K::AIServices;
        }
    };
    kind == dedicated || matches!(kind, K::CognitiveServices | K::AIServices)
}

/// The 200 body of an operation, or the status and body of a request that passed
/// authentication and RBAC but names something that does not exist or sends a body the
/// operation does not take.
pub fn success_body(
    responder: &Responder,
    account: &AccountSpec,
    request_body: &[u8],
    target_language: Option<&str>,
) -> Result<Value, (u16, Value)> {
    let bad_request = |body: Value| (400, body);
    Ok(match responder {
        Responder::ProjectAgents { .. } => json!({
            "object": "list", "data": [], "first_id": null, "last_id": null, "has_more": false
        }),
        Responder::ModelsChat => return models_chat(account, request_body),
        Responder::OpenAiModels => json!({
            "data": [
                {"id": "gpt-4o-2024-08-06", "status": "succeeded", "created_at": 1_646_126_127,
                 "capabilities": {"fine_tune": false, "inference": true, "completion": false,
                                  "chat_completion": true, "embeddings": false},
                 "lifecycle_status": "generally-available",
                 "deprecation": {"inference": 1_750_000_000}, "object": "model"},
                {"id": "text-embedding-ada-002", "status": "succeeded", "created_at": 1_646_126_127,
                 "capabilities": {"fine_tune": false, "inference": true, "completion": false,
                                  "chat_completion": false, "embeddings": true},
                 "lifecycle_status": "generally-available",
                 "deprecation": {"inference": 1_750_000_000}, "object": "model"}
            ],
            "object": "list"
        }),
        Responder::OpenAiV1Models => json!({
            "object": "list",
            "data": [
                {"id": "gpt-4o-2024-08-06", "object": "model", "created": 1_646_126_127, "owned_by": "system"},
                {"id": "text-embedding-ada-002", "object": "model", "created": 1_646_126_127, "owned_by": "system"}
            ]
        }),
        Responder::OpenAiDeployments => json!({
            "data": account.deployments.iter().map(|d| json!({
                "scale_settings": {"scale_type": "standard"},
                "model": d,
                "owner": "organization-owner",
                "id": d,
                "status": "succeeded",
                "created_at": 1_646_126_127,
                "updated_at": 1_646_127_311,
                "object": "deployment"
            })).collect::<Vec<_>>(),
            "object": "list"
        }),
        Responder::ChatCompletions { deployment } => {
            if !account.deployments.iter().any(|d| d == deployment) {
                return Err((
                    404,
                    json!({"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}),
                ));
            }
            let parsed: Value = serde_json::from_slice(request_body).unwrap_or(Value::Null);
            if !parsed.get("messages").is_some_and(Value::is_array) {
                return Err(bad_request(
                    json!({"error": {"code": "BadRequest", "message": "'messages' is a required property", "param": Value::Null, "type": Value::Null}}),
                ));
            }
            json!({
                "id": "chatcmpl-emulated",
                "object": "chat.completion",
                "created": 1_718_438_400,
                "model": "gpt-4o-2024-08-06",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "OK"}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            })
        }
        Responder::VisionModels => json!({
            "models": [
                {"name": "celebrities", "categories": ["people_", "人_", "pessoas_", "gente_"]},
                {"name": "landmarks", "categories": ["outdoor_", "户外_", "屋外_", "aoarlivre_", "alairelibre_",
                                                     "building_", "建筑_", "建物_", "edifício_"]}
            ]
        }),
        Responder::AnalyzeText => {
            let ids =
                document_ids(request_body, &["analysisInput", "documents"]).map_err(bad_request)?;
            json!({
                "kind": "LanguageDetectionResults",
                "results": {
                    "documents": ids.iter().map(|id| json!({
                        "id": id,
                        "detectedLanguage": {"name": "English", "iso6391Name": "en", "confidenceScore": 1.0},
                        "warnings": []
                    })).collect::<Vec<_>>(),
                    "errors": [],
                    "modelVersion": "2022-10-01"
                }
            })
        }
        Responder::TextAnalyticsLanguages => {
            let ids = document_ids(request_body, &["documents"]).map_err(bad_request)?;
            json!({
                "documents": ids.iter().map(|id| json!({
                    "id": id,
                    "detectedLanguage": {"name": "English", "iso6391Name": "en", "confidenceScore": 1.0},
                    "warnings": []
                })).collect::<Vec<_>>(),
                "errors": [],
                "modelVersion": "2022-10-01"
            })
        }
        Responder::Translate => {
            let Some(to) = target_language.filter(|t| !t.is_empty()) else {
                return Err(bad_request(
                    json!({"error": {"code": 400036, "message": "The target language is not valid."}}),
                ));
            };
            let items: Vec<Value> = serde_json::from_slice(request_body).map_err(|_| {
                bad_request(json!({"error": {"code": 400074, "message": "The body of the request is not valid JSON."}}))
            })?;
            // The emulator does not translate: it echoes each text as its "translation".
            Value::Array(
                items
                    .iter()
                    .map(|item| {
                        let text = item
                            .get("Text")
                            .or_else(|| item.get("text"))
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        json!({"detectedLanguage": {"language": "en", "score": 1.0},
                               "translations": [{"text": text, "to": to}]})
                    })
                    .collect(),
            )
        }
        Responder::DocumentIntelligenceInfo => {
            json!({"customDocumentModels": {"count": 0, "limit": 250}})
        }
        Responder::Blocklists => json!({"value": []}),
        Responder::Voices => json!([
            {"Name": "Microsoft Server Speech Text to Speech Voice (en-US, JennyNeural)",
             "DisplayName": "Jenny", "LocalName": "Jenny", "ShortName": "en-US-JennyNeural",
             "Gender": "Female", "Locale": "en-US", "LocaleName": "English (United States)",
             "SampleRateHertz": "24000", "VoiceType": "Neural", "Status": "GA", "WordsPerMinute": "152"},
            {"Name": "Microsoft Server Speech Text to Speech Voice (en-US, GuyNeural)",
             "DisplayName": "Guy", "LocalName": "Guy", "ShortName": "en-US-GuyNeural",
             "Gender": "Male", "Locale": "en-US", "LocaleName": "English (United States)",
             "SampleRateHertz": "24000", "VoiceType": "Neural", "Status": "GA", "WordsPerMinute": "154"}
        ]),
    })
}

/// Document ids of a Language request body; an unreadable body is the Language API's 400 [L].
/// `POST /models/chat/completions`: the empty probe body is refused with the wording seen live
/// [O] (reference/foundry.md §3.3); a named Foundry Models deployment gets a one-word answer.
fn models_chat(account: &AccountSpec, request_body: &[u8]) -> Result<Value, (u16, Value)> {
    let body: Value = serde_json::from_slice(request_body).unwrap_or(Value::Null);
    let Some(model) = body.get("model").and_then(Value::as_str) else {
        return Err((
            400,
            json!({"error": {"message": "Missed model deployment"}}),
        ));
    };
    if !account.model_deployments.iter().any(|d| d == model) {
        return Err((
            404,
            json!({"error": {"code": "unknown_model", "message": format!("Unknown model: {model}")}}),
        ));
    }
    Ok(json!({
        "id": "emulated", "object": "chat.completion", "created": 1_646_126_127, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hello."}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    }))
}

fn document_ids(body: &[u8], path: &[&str]) -> Result<Vec<String>, Value> {
    let invalid = || {
        json!({"error": {"code": "InvalidRequest", "message": "Invalid Request.",
                         "innererror": {"code": "InvalidRequestBodyFormat",
                                        "message": "Request body must be present."}}})
    };
    let parsed: Value = serde_json::from_slice(body).map_err(|_| invalid())?;
    let documents = path
        .iter()
        .try_fold(&parsed, |v, key| v.get(key))
        .and_then(Value::as_array)
        .ok_or_else(invalid)?;
    Ok(documents
        .iter()
        .map(|d| match d.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "1".to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_and_methods_are_part_of_the_match() {
        let m = |f, method, path, v| match_operation(f, method, path, v).map(|o| o.action);
        assert_eq!(
            m(
                HostFamily::CustomDomain,
                "GET",
                "/openai/models",
                Some("2024-10-21")
            ),
            Some("Microsoft.CognitiveServices/accounts/OpenAI/models/read")
        );
        assert_eq!(
            m(
                HostFamily::CustomDomain,
                "GET",
                "/openai/models",
                Some("2019-01-01")
            ),
            None
        );
        assert_eq!(
            m(HostFamily::CustomDomain, "GET", "/openai/models", None),
            None
        );
        assert_eq!(
            m(
                HostFamily::CustomDomain,
                "POST",
                "/openai/models",
                Some("2024-10-21")
            ),
            None
        );
        assert_eq!(
            m(HostFamily::CustomDomain, "GET", "/vision/v9.9/models", None),
            None
        );
        assert_eq!(
            m(
                HostFamily::Regional,
                "GET",
                "/openai/models",
                Some("2024-10-21")
            ),
            None
        );
        assert_eq!(
            m(HostFamily::OpenAiDomain, "GET", "/vision/v3.2/models", None),
            None
        );
    }

    #[test]
    fn account_kinds_serve_their_services() {
        assert!(account_serves(AccountKind::AIServices, ServiceKind::Openai));
        assert!(!account_serves(
            AccountKind::CognitiveServices,
            ServiceKind::Openai
        ));
        assert!(account_serves(
            AccountKind::CognitiveServices,
            ServiceKind::Vision
        ));
        assert!(!account_serves(
            AccountKind::TextAnalytics,
            ServiceKind::Vision
        ));
    }
}
