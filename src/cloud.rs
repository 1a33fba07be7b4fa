//! Cloud profiles: where Entra ID and ARM live in each Azure cloud, which audiences the AI
//! services take, and which host names a bearer token may be sent to (design §7).

use crate::service::ServiceCloud;
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
///
/// The AI services' audiences and host shapes live in [`ServiceCloud`] (the service layer
/// judges endpoints with them); this profile adds where Entra ID and ARM are.
#[derive(Debug, PartialEq, Eq)]
pub struct CloudProfile {
    /// `public`, `usgov`, `china` (the `--cloud` value and the report's `cloud` field).
    pub name: &'static str,
    pub authority_host: &'static str,
    pub arm: &'static str,
    pub arm_scope: &'static str,
    /// Audiences and the host names a bearer token may be sent to.
    pub services: ServiceCloud,
}

impl CloudProfile {
    /// `{audience}/.default`, the scope form Entra ID and azure_identity expect.
    pub fn scope_for(audience: &str) -> String {
        format!("{}/.default", audience.trim_end_matches('/'))
    }
    pub fn cognitive_audience(&self) -> &'static str {
        self.services.cognitive_audience
    }
    pub fn cognitive_scope(&self) -> String {
        CloudProfile::scope_for(self.services.cognitive_audience)
    }
    pub fn search_scope(&self) -> String {
        CloudProfile::scope_for(self.services.search_audience)
    }
}

static PUBLIC: CloudProfile = CloudProfile {
    name: "public",
    authority_host: "https://login.microsoftonline.com",
    arm: "https://management.azure.com",
    arm_scope: "https://management.azure.com/.default",
    services: ServiceCloud::PUBLIC,
};

// [L] The sovereign values follow the published naming patterns (login.microsoftonline.us,
// management.usgovcloudapi.net, and the China equivalents) but were not checked against live
// services from this project.
static US_GOV: CloudProfile = CloudProfile {
    name: "usgov",
    authority_host: "https://login.microsoftonline.us",
    arm: "https://management.usgovcloudapi.net",
    arm_scope: "https://management.usgovcloudapi.net/.default",
    services: ServiceCloud::USGOV,
};

static CHINA: CloudProfile = CloudProfile {
    name: "china",
    authority_host: "https://login.chinacloudapi.cn",
    arm: "https://management.chinacloudapi.cn",
    arm_scope: "https://management.chinacloudapi.cn/.default",
    services: ServiceCloud::CHINA,
};

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
