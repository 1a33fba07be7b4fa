//! Service kinds (design §4): one file per kind with its audience, required action, minimal
//! request and response classifier.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    Openai,
    Speech,
    Vision,
    Language,
    Translator,
    DocumentIntelligence,
    ContentSafety,
    Search,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 8] = [
        ServiceKind::Openai,
        ServiceKind::Speech,
        ServiceKind::Vision,
        ServiceKind::Language,
        ServiceKind::Translator,
        ServiceKind::DocumentIntelligence,
        ServiceKind::ContentSafety,
        ServiceKind::Search,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Openai => "openai",
            ServiceKind::Speech => "speech",
            ServiceKind::Vision => "vision",
            ServiceKind::Language => "language",
            ServiceKind::Translator => "translator",
            ServiceKind::DocumentIntelligence => "document-intelligence",
            ServiceKind::ContentSafety => "content-safety",
            ServiceKind::Search => "search",
        }
    }
    pub fn parse(text: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl std::fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One configured service to probe (`--service NAME=KIND@URL[,resource=ID][,region=R]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub name: String,
    pub kind: ServiceKind,
    pub endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Search only: an index whose documents to count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
}
