//! The demo-sized scenario two benchmarks share (e2e and peer): three identities (a service
//! principal, a managed identity, a CLI user), seven account kinds and a Search service, every
//! identity granted everything, every response delayed by [`LATENCY_MS`].

pub const LATENCY_MS: u64 = 100;

pub fn scenario() -> String {
    let mut s = String::from(
        "[[identity]]\nname = \"sp\"\ntype = \"service_principal\"\nsecret = \"bench-secret-value-1\"\n\
         [[identity]]\nname = \"mi\"\ntype = \"managed_identity\"\n\
         [[identity]]\nname = \"alice\"\ntype = \"user\"\nupn = \"alice@contoso.com\"\n",
    );
    let kinds = [
        "OpenAI",
        "SpeechServices",
        "ComputerVision",
        "TextAnalytics",
        "FormRecognizer",
        "ContentSafety",
        "TextTranslation",
    ];
    for (i, kind) in kinds.iter().enumerate() {
        s += &format!(
            "[[account]]\nname = \"acct{i}\"\nkind = \"{kind}\"\ncustom_subdomain = \"bench-acct{i}\"\n"
        );
    }
    s += "[[search_service]]\nname = \"srch\"\n";
    for p in ["sp", "mi", "alice"] {
        for role in [
            "Reader",
            "Cognitive Services User",
            "Search Service Contributor",
        ] {
            s += &format!(
                "[[role_assignment]]\nprincipal = \"{p}\"\nrole = \"{role}\"\nscope = \"subscription\"\n"
            );
        }
    }
    s += &format!(
        "[machine]\nenvironment = \"sp\"\nmanaged_identities = [\"mi\"]\nazure_cli_user = \"alice\"\n[faults]\nlatency_ms = {LATENCY_MS}\n"
    );
    s
}
