//! Cloud profiles: where Entra ID and ARM live in each Azure cloud, which audiences the AI
//! services take, and which host names a bearer token may be sent to (design §7).

use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    #[default]
    Public,
    UsGov,
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 3] = [Cloud::Public, Cloud::UsGov, Cloud::China];

    pub fn profile(self) -> &'static CloudProfile {
        match self {
            Cloud::Public => &PUBLIC,
            Cloud::UsGov => &US_GOV,
            Cloud::China => &CHINA,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.profile().name
    }
}

impl FromStr for Cloud {
    type Err = crate::UsageError;

    fn from_str(text: &str) -> Result<Cloud, crate::UsageError> {
        let wanted = text.trim().to_ascii_lowercase();
        Cloud::ALL
            .into_iter()
            .find(|c| c.as_str() == wanted)
            .ok_or_else(|| {
                crate::UsageError::new(format!(
                    "unknown cloud '{text}': expected one of public, usgov, china"
                ))
            })
    }
}

impl std::fmt::Display for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that differs between clouds. All URLs without a trailing slash.
#[derive(Debug, PartialEq, Eq)]
pub struct CloudProfile {
    /// `public`, `usgov`, `china` (the `--cloud` value and the report's `cloud` field).
    pub name: &'static str,
    pub authority_host: &'static str,
    pub arm: &'static str,
    pub arm_scope: &'static str,
    pub cognitive_audience: &'static str,
    pub search_audience: &'static str,
    /// A host may receive a bearer token when it ends with one of these (entries starting with
    /// `.`) or equals one (entries without a leading dot).
    pub allowed_host_suffixes: &'static [&'static str],
}

impl CloudProfile {
    /// `{audience}/.default`, the scope form Entra ID and azure_identity expect.
    pub fn scope_for(audience: &str) -> String {
        format!("{}/.default", audience.trim_end_matches('/'))
    }
    pub fn cognitive_scope(&self) -> String {
        CloudProfile::scope_for(self.cognitive_audience)
    }
    pub fn search_scope(&self) -> String {
        CloudProfile::scope_for(self.search_audience)
    }
}

static PUBLIC: CloudProfile = CloudProfile {
    name: "public",
    authority_host: "https://login.microsoftonline.com",
    arm: "https://management.azure.com",
    arm_scope: "https://management.azure.com/.default",
    cognitive_audience: "https://cognitiveservices.azure.com",
    search_audience: "https://search.azure.com",
    allowed_host_suffixes: &[
        ".cognitiveservices.azure.com",
        ".openai.azure.com",
        ".services.ai.azure.com",
        ".api.cognitive.microsoft.com",
        ".tts.speech.microsoft.com",
        ".stt.speech.microsoft.com",
        ".cognitive.microsofttranslator.com",
        "api.cognitive.microsofttranslator.com",
        ".search.windows.net",
    ],
};

// [L] The sovereign values below follow the published naming patterns (login.microsoftonline.us,
// management.usgovcloudapi.net, cognitiveservices.azure.us, openai.azure.us, search.windows.us,
// and the China equivalents) but were not checked against live services from this project.
static US_GOV: CloudProfile = CloudProfile {
    name: "usgov",
    authority_host: "https://login.microsoftonline.us",
    arm: "https://management.usgovcloudapi.net",
    arm_scope: "https://management.usgovcloudapi.net/.default",
    cognitive_audience: "https://cognitiveservices.azure.us",
    search_audience: "https://search.azure.us",
    allowed_host_suffixes: &[
        ".cognitiveservices.azure.us",
        ".openai.azure.us",
        ".api.cognitive.microsoft.us",
        ".tts.speech.azure.us",
        ".stt.speech.azure.us",
        "api.cognitive.microsofttranslator.us",
        ".search.windows.us",
    ],
};

static CHINA: CloudProfile = CloudProfile {
    name: "china",
    authority_host: "https://login.chinacloudapi.cn",
    arm: "https://management.chinacloudapi.cn",
    arm_scope: "https://management.chinacloudapi.cn/.default",
    cognitive_audience: "https://cognitiveservices.azure.cn",
    search_audience: "https://search.azure.cn",
    allowed_host_suffixes: &[
        ".cognitiveservices.azure.cn",
        ".openai.azure.cn",
        ".api.cognitive.azure.cn",
        ".tts.speech.azure.cn",
        ".stt.speech.azure.cn",
        "api.translator.azure.cn",
        ".search.azure.cn",
        ".search.chinacloudapi.cn",
    ],
};

/// May a bearer token for this cloud be sent to `host`? `host` is a bare host name (no scheme,
/// no port); comparison ignores case and a trailing dot. `extra_allowed` holds `--allow-host`
/// values, matched exactly.
pub fn host_allowed(profile: &CloudProfile, host: &str, extra_allowed: &[String]) -> bool {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return false;
    }
    if extra_allowed
        .iter()
        .any(|h| h.trim().trim_end_matches('.').eq_ignore_ascii_case(&host))
    {
        return true;
    }
    profile.allowed_host_suffixes.iter().any(|entry| {
        if entry.starts_with('.') {
            // The label before the suffix must exist: ".openai.azure.com" alone is not a host.
            host.len() > entry.len() && host.ends_with(entry)
        } else {
            host == *entry
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_names_parse_and_unknown_names_are_rejected_by_name() {
        assert_eq!("public".parse::<Cloud>().unwrap(), Cloud::Public);
        assert_eq!("USGov".parse::<Cloud>().unwrap(), Cloud::UsGov);
        assert_eq!("china".parse::<Cloud>().unwrap(), Cloud::China);
        let err = "azurecloud".parse::<Cloud>().unwrap_err().to_string();
        assert!(
            err.contains("'azurecloud'") && err.contains("usgov"),
            "{err}"
        );
    }

    #[test]
    fn public_cloud_allows_ai_hosts_and_refuses_everything_else() {
        let p = Cloud::Public.profile();
        for ok in [
            "contoso.cognitiveservices.azure.com",
            "Contoso.OpenAI.Azure.com",
            "westeurope.api.cognitive.microsoft.com",
            "westeurope.tts.speech.microsoft.com",
            "api.cognitive.microsofttranslator.com",
            "contoso-search.search.windows.net",
            "contoso-search.search.windows.net.",
        ] {
            assert!(host_allowed(p, ok, &[]), "{ok} should be allowed");
        }
        for bad in [
            "",
            "openai.azure.com",
            ".openai.azure.com",
            "contoso.openai.azure.com.evil.example",
            "evilopenai.azure.com",
            "contoso-apim.azure-api.net",
            "login.microsoftonline.com",
            "contoso.cognitiveservices.azure.us",
        ] {
            assert!(!host_allowed(p, bad, &[]), "{bad} should be refused");
        }
    }

    #[test]
    fn allow_host_admits_exactly_the_named_host() {
        let p = Cloud::Public.profile();
        let extra = vec!["contoso-apim.azure-api.net".to_string()];
        assert!(host_allowed(p, "CONTOSO-APIM.azure-api.net", &extra));
        assert!(!host_allowed(p, "other.azure-api.net", &extra));
    }

    #[test]
    fn sovereign_clouds_do_not_accept_public_hosts() {
        let gov = Cloud::UsGov.profile();
        assert!(host_allowed(gov, "x.cognitiveservices.azure.us", &[]));
        assert!(!host_allowed(gov, "x.cognitiveservices.azure.com", &[]));
        let cn = Cloud::China.profile();
        assert!(host_allowed(cn, "x.openai.azure.cn", &[]));
        assert!(!host_allowed(cn, "x.openai.azure.com", &[]));
    }

    #[test]
    fn scopes_are_built_without_double_slashes() {
        let p = Cloud::Public.profile();
        assert_eq!(
            p.cognitive_scope(),
            "https://cognitiveservices.azure.com/.default"
        );
        assert_eq!(
            CloudProfile::scope_for("https://search.azure.com/"),
            "https://search.azure.com/.default"
        );
    }
}
