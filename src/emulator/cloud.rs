//! The Azure clouds as the emulator names them: which host names each cloud's services answer
//! on, and which audiences its tokens carry.
//!
//! The emulator's own table, written from the published host names of each cloud (not from
//! the tool's `crate::cloud` / `crate::service::ServiceCloud` profiles, which it checks). The
//! sovereign names follow Microsoft's published patterns but were not checked against live
//! services from this project [L]. tests/sovereign.rs fails when the two tables drift apart.
//!
//! The handlers are written with the public cloud's names; a request on a sovereign host is
//! handed to them under its public twin ([`TenantCloud::public_host`]), and the URLs they put in
//! bodies are turned into the scenario cloud's names on the way out ([`TenantCloud::url_in`]).

use serde::Deserialize;

/// An Azure cloud (`[tenant] cloud` in a scenario, design §5.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TenantCloud {
    #[default]
    Public,
    UsGov,
    China,
}

/// What a host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostRole {
    /// `{subdomain}.cognitiveservices…`: an account's custom subdomain.
    CustomSubdomain,
    /// `{subdomain}.openai…`
    OpenAi,
    /// `{subdomain}.services.ai.azure.com`: Foundry.
    Foundry,
    /// `{region}.api.cognitive…`: an account without a custom subdomain.
    Regional,
    /// `{region}.tts.speech…`
    SpeechTts,
    /// `{region}.stt.speech…`
    SpeechStt,
    /// Translator's one global host.
    TranslatorGlobal,
    /// `{service}.search…`
    Search,
    /// Azure Resource Manager (and Resource Graph on it).
    Arm,
    /// Microsoft Graph.
    Graph,
}

/// One kind of host, named in each cloud. A name starting with `.` is a suffix under which a
/// label (subdomain, region, service name) makes the host; any other name is the whole host.
/// `None`: the cloud has no such host.
#[derive(Debug, Clone, Copy)]
pub struct HostShape {
    pub role: HostRole,
    pub public: &'static str,
    pub usgov: Option<&'static str>,
    pub china: Option<&'static str>,
}

/// Every host the emulator serves after Entra ID and IMDS.
pub const HOSTS: &[HostShape] = &[
    HostShape {
        role: HostRole::CustomSubdomain,
        public: ".cognitiveservices.azure.com",
        usgov: Some(".cognitiveservices.azure.us"),
        china: Some(".cognitiveservices.azure.cn"),
    },
    HostShape {
        role: HostRole::OpenAi,
        public: ".openai.azure.com",
        usgov: Some(".openai.azure.us"),
        china: Some(".openai.azure.cn"),
    },
    // [L] No reference names a Foundry host (or the audience of its project routes) in the
    // sovereign clouds, and the tool knows none either: there, a Foundry name is a name nothing
    // answers, as a host without a DNS record.
    HostShape {
        role: HostRole::Foundry,
        public: ".services.ai.azure.com",
        usgov: None,
        china: None,
    },
    HostShape {
        role: HostRole::Regional,
        public: ".api.cognitive.microsoft.com",
        usgov: Some(".api.cognitive.microsoft.us"),
        china: Some(".api.cognitive.azure.cn"),
    },
    HostShape {
        role: HostRole::SpeechTts,
        public: ".tts.speech.microsoft.com",
        usgov: Some(".tts.speech.azure.us"),
        china: Some(".tts.speech.azure.cn"),
    },
    HostShape {
        role: HostRole::SpeechStt,
        public: ".stt.speech.microsoft.com",
        usgov: Some(".stt.speech.azure.us"),
        china: Some(".stt.speech.azure.cn"),
    },
    HostShape {
        role: HostRole::TranslatorGlobal,
        public: "api.cognitive.microsofttranslator.com",
        usgov: Some("api.cognitive.microsofttranslator.us"),
        china: Some("api.translator.azure.cn"),
    },
    HostShape {
        role: HostRole::Search,
        public: ".search.windows.net",
        usgov: Some(".search.azure.us"),
        china: Some(".search.azure.cn"),
    },
    HostShape {
        role: HostRole::Arm,
        public: "management.azure.com",
        usgov: Some("management.usgovcloudapi.net"),
        china: Some("management.chinacloudapi.cn"),
    },
    // [L] The US Government DoD cloud's Graph (`dod-graph.microsoft.us`) is left out.
    HostShape {
        role: HostRole::Graph,
        public: "graph.microsoft.com",
        usgov: Some("graph.microsoft.us"),
        china: Some("microsoftgraph.chinacloudapi.cn"),
    },
];

/// Sovereign audiences and their public twins, so the handlers' audience lists (written with
/// the public names) serve every cloud.
const AUDIENCE_TWINS: &[(&str, &str, &str)] = &[
    (
        "https://cognitiveservices.azure.com",
        "https://cognitiveservices.azure.us",
        "https://cognitiveservices.azure.cn",
    ),
    (
        "https://search.azure.com",
        "https://search.azure.us",
        "https://search.azure.cn",
    ),
    (
        "https://management.azure.com",
        "https://management.usgovcloudapi.net",
        "https://management.chinacloudapi.cn",
    ),
    (
        "https://management.core.windows.net",
        "https://management.core.usgovcloudapi.net",
        "https://management.core.chinacloudapi.cn",
    ),
    (
        "https://graph.microsoft.com",
        "https://graph.microsoft.us",
        "https://microsoftgraph.chinacloudapi.cn",
    ),
];

/// `host` is `name` (a whole host) or a label under `name` (a suffix starting with `.`); the
/// label is returned (empty for a whole host).
fn matches<'h>(host: &'h str, name: &str) -> Option<&'h str> {
    if name.starts_with('.') {
        host.strip_suffix(name).filter(|label| !label.is_empty())
    } else {
        (host == name).then_some("")
    }
}

impl TenantCloud {
    pub const ALL: [TenantCloud; 3] = [TenantCloud::Public, TenantCloud::UsGov, TenantCloud::China];

    /// `public | usgov | china`, as scenarios and `--cloud` spell them.
    pub fn name(self) -> &'static str {
        match self {
            TenantCloud::Public => "public",
            TenantCloud::UsGov => "usgov",
            TenantCloud::China => "china",
        }
    }

    /// The name the Azure CLI and Azure PowerShell give the cloud (`az cloud list`).
    pub fn environment_name(self) -> &'static str {
        match self {
            TenantCloud::Public => "AzureCloud",
            TenantCloud::UsGov => "AzureUSGovernment",
            TenantCloud::China => "AzureChinaCloud",
        }
    }

    /// The authority host tokens of this cloud are issued by.
    pub fn login_host(self) -> &'static str {
        match self {
            TenantCloud::Public => "login.microsoftonline.com",
            TenantCloud::UsGov => "login.microsoftonline.us",
            TenantCloud::China => "login.chinacloudapi.cn",
        }
    }

    pub fn authority(self) -> String {
        format!("https://{}/", self.login_host())
    }

    /// The host in the `iss` of this cloud's v1.0 tokens: US Government keeps the public
    /// cloud's `sts.windows.net`, China has its own.
    pub fn sts_host(self) -> &'static str {
        match self {
            TenantCloud::China => "sts.chinacloudapi.cn",
            TenantCloud::Public | TenantCloud::UsGov => "sts.windows.net",
        }
    }

    /// The authority ARM names in its challenges and messages: `login.windows.net` in the
    /// public cloud, the cloud's own authority elsewhere [L].
    pub fn arm_authority_host(self) -> &'static str {
        match self {
            TenantCloud::Public => "login.windows.net",
            sovereign => sovereign.login_host(),
        }
    }

    /// The resource the Azure CLI and Azure PowerShell ask a token for when told none: the
    /// cloud's `activeDirectoryResourceId` (`az cloud show`), with its trailing slash.
    pub fn default_cli_resource(self) -> &'static str {
        match self {
            TenantCloud::Public => "https://management.core.windows.net/",
            TenantCloud::UsGov => "https://management.core.usgovcloudapi.net/",
            TenantCloud::China => "https://management.core.chinacloudapi.cn/",
        }
    }

    /// azd's default scope: the cloud's ARM endpoint with `/.default`, as azd spells it (with
    /// the doubled slash of its `{endpoint}/` + `/.default`).
    pub fn default_azd_scope(self) -> String {
        format!("https://{}//.default", self.arm_host())
    }

    fn pick(self, shape: &HostShape) -> Option<&'static str> {
        match self {
            TenantCloud::Public => Some(shape.public),
            TenantCloud::UsGov => shape.usgov,
            TenantCloud::China => shape.china,
        }
    }

    fn shape(role: HostRole) -> &'static HostShape {
        HOSTS
            .iter()
            .find(|s| s.role == role)
            .expect("every role has a row in HOSTS")
    }

    /// This cloud's name for a kind of host (`None`: the cloud has none).
    pub fn host_name(self, role: HostRole) -> Option<&'static str> {
        self.pick(Self::shape(role))
    }

    /// Azure Resource Manager's host in this cloud.
    pub fn arm_host(self) -> &'static str {
        self.host_name(HostRole::Arm)
            .unwrap_or("management.azure.com")
    }

    /// Microsoft Graph's host in this cloud.
    pub fn graph_host(self) -> &'static str {
        self.host_name(HostRole::Graph)
            .unwrap_or("graph.microsoft.com")
    }

    /// The cloud a host name (or an `https://host` audience) belongs to.
    pub fn of_host(host: &str) -> TenantCloud {
        let host = host
            .trim()
            .trim_start_matches("https://")
            .split(['/', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if host.ends_with(".us") || host.ends_with(".usgovcloudapi.net") {
            TenantCloud::UsGov
        } else if host.ends_with(".cn") {
            TenantCloud::China
        } else {
            TenantCloud::Public
        }
    }

    /// Which cloud's which kind of host `host` (lower case, no port) is, if any.
    pub fn classify(host: &str) -> Option<(TenantCloud, HostRole)> {
        TenantCloud::ALL.into_iter().find_map(|cloud| {
            HOSTS.iter().find_map(|shape| {
                let name = cloud.pick(shape)?;
                matches(host, name).map(|_| (cloud, shape.role))
            })
        })
    }

    /// A host of this cloud as the public-cloud host the handlers know; `None` for a host this
    /// cloud does not name (another cloud's, or one it has no such service for).
    pub fn public_host(self, host: &str) -> Option<String> {
        HOSTS.iter().find_map(|shape| {
            let own = self.pick(shape)?;
            let label = matches(host, own)?;
            Some(format!("{label}{}", shape.public))
        })
    }

    /// A public-cloud host's twin in this cloud; `None` when this cloud has no such host.
    /// A host outside the table is its own twin.
    pub fn host_in(self, public_host: &str) -> Option<String> {
        for shape in HOSTS {
            if let Some(label) = matches(public_host, shape.public) {
                return self.pick(shape).map(|own| format!("{label}{own}"));
            }
        }
        Some(public_host.to_string())
    }

    /// A public-cloud service URL (`https://x.openai.azure.com/`) in this cloud; `None` when
    /// the cloud has no host of that kind (Foundry in the sovereign clouds [L]).
    pub fn url_in(self, public_url: &str) -> Option<String> {
        let Ok(mut url) = url::Url::parse(public_url) else {
            return Some(public_url.to_string());
        };
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return Some(public_url.to_string());
        };
        let own = self.host_in(&host)?;
        if own != host && url.set_host(Some(&own)).is_err() {
            return None;
        }
        // `Url` adds a `/` to a bare origin; keep the spelling the caller gave.
        let mut text = url.to_string();
        if !public_url.ends_with('/') && text.ends_with('/') && url.path() == "/" {
            text.pop();
        }
        Some(text)
    }

    /// [`url_in`](Self::url_in) for URLs every cloud has a twin for (an account's or a Search
    /// service's endpoint); one without is left as it is.
    pub fn service_url(self, public_url: &str) -> String {
        self.url_in(public_url)
            .unwrap_or_else(|| public_url.to_string())
    }

    /// A sovereign cloud's audience as its public-cloud twin (`https://search.azure.us` →
    /// `https://search.azure.com`), so the handlers' audience lists serve every cloud. Entra
    /// issues a tenant tokens for its own cloud's resources only, so a token's audience names
    /// the scenario's cloud.
    pub fn public_audience(aud: &str) -> String {
        let (base, slash) = match aud.strip_suffix('/') {
            Some(base) => (base, "/"),
            None => (aud, ""),
        };
        AUDIENCE_TWINS
            .iter()
            .find(|(_, us, cn)| us.eq_ignore_ascii_case(base) || cn.eq_ignore_ascii_case(base))
            .map(|(public, _, _)| format!("{public}{slash}"))
            .unwrap_or_else(|| aud.to_string())
    }

    /// A public-cloud audience in this cloud (`https://cognitiveservices.azure.com` →
    /// `https://cognitiveservices.azure.us`); one without a known twin is left as it is.
    pub fn audience_in(self, public: &str) -> String {
        let (base, slash) = match public.strip_suffix('/') {
            Some(base) => (base, "/"),
            None => (public, ""),
        };
        AUDIENCE_TWINS
            .iter()
            .find(|(p, _, _)| p.eq_ignore_ascii_case(base))
            .map(|(p, us, cn)| {
                let own = match self {
                    TenantCloud::Public => p,
                    TenantCloud::UsGov => us,
                    TenantCloud::China => cn,
                };
                format!("{own}{slash}")
            })
            .unwrap_or_else(|| public.to_string())
    }

    /// A body written with the public cloud's audiences and hosts, in this cloud's names: the
    /// gateways' 401s name the audience they want, and a sovereign gateway wants its own [L].
    pub fn localize(self, public_text: &str) -> String {
        if self == TenantCloud::Public {
            return public_text.to_string();
        }
        let mut text = public_text.to_string();
        for (public, _, _) in AUDIENCE_TWINS {
            text = text.replace(public, &self.audience_in(public));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_map_to_their_public_twins_and_back() {
        let gov = TenantCloud::UsGov;
        assert_eq!(
            gov.public_host("contoso.openai.azure.us").as_deref(),
            Some("contoso.openai.azure.com")
        );
        assert_eq!(
            gov.public_host("usgovvirginia.api.cognitive.microsoft.us")
                .as_deref(),
            Some("usgovvirginia.api.cognitive.microsoft.com")
        );
        assert_eq!(
            TenantCloud::China
                .public_host("api.translator.azure.cn")
                .as_deref(),
            Some("api.cognitive.microsofttranslator.com")
        );
        // Another cloud's host, and a Foundry host no sovereign cloud has.
        assert_eq!(gov.public_host("contoso.openai.azure.com"), None);
        assert_eq!(gov.public_host("contoso.services.ai.azure.us"), None);
        assert_eq!(gov.public_host("openai.azure.us"), None);
        assert_eq!(
            gov.url_in("https://x.services.ai.azure.com/api/projects/p"),
            None
        );
        assert_eq!(
            gov.url_in("https://srch.search.windows.net").as_deref(),
            Some("https://srch.search.azure.us")
        );
        assert_eq!(
            TenantCloud::China
                .url_in("https://api.cognitive.microsofttranslator.com/")
                .as_deref(),
            Some("https://api.translator.azure.cn/")
        );
        assert_eq!(
            gov.url_in("https://example.org/x").as_deref(),
            Some("https://example.org/x")
        );
    }

    #[test]
    fn every_host_belongs_to_the_cloud_its_row_names() {
        for shape in HOSTS {
            for cloud in TenantCloud::ALL {
                let Some(name) = cloud.pick(shape) else {
                    continue;
                };
                let host = format!("x{name}");
                let host = if name.starts_with('.') { &host } else { name };
                assert_eq!(TenantCloud::of_host(host), cloud, "{host}");
                assert_eq!(
                    TenantCloud::classify(host),
                    Some((cloud, shape.role)),
                    "{host}"
                );
            }
        }
    }

    /// ARM bodies name the tenant's cloud's hosts only; Foundry's, which no sovereign cloud has
    /// [L], are left out rather than named in the public cloud.
    #[test]
    fn arm_bodies_name_the_tenants_cloud() {
        use crate::emulator::World;
        use crate::emulator::arm::resources::{account_json, project_json, search_json};
        let text = r#"
[tenant]
cloud = "china"
[[account]]
name = "fdy"
kind = "AIServices"
custom_subdomain = "fdy"
allow_project_management = true
[[account]]
name = "tr"
kind = "TextTranslation"
location = "chinaeast2"
[[project]]
name = "p"
account = "fdy"
[[search_service]]
name = "srch"
"#;
        let world = World::new(crate::emulator::Scenario::parse(text, "t.toml").unwrap()).unwrap();
        let s = &world.scenario;
        let fdy = account_json(&world, &s.accounts[0]);
        let tr = account_json(&world, &s.accounts[1]);
        let project = project_json(&world, &s.accounts[0], &s.projects[0]);
        let search = search_json(&world, &s.search_services[0]);
        assert_eq!(
            fdy["properties"]["endpoint"],
            "https://fdy.cognitiveservices.azure.cn/"
        );
        assert_eq!(
            fdy["properties"]["endpoints"]["OpenAI Language Model Instance API"],
            "https://fdy.openai.azure.cn/"
        );
        assert!(
            fdy["properties"]["endpoints"]
                .get("AI Foundry API")
                .is_none()
        );
        assert_eq!(
            tr["properties"]["endpoint"],
            "https://chinaeast2.api.cognitive.azure.cn/"
        );
        assert_eq!(
            tr["properties"]["endpoints"]["TextTranslation"],
            "https://api.translator.azure.cn/"
        );
        assert_eq!(project["properties"]["endpoints"], serde_json::json!({}));
        assert_eq!(
            search["properties"]["endpoint"],
            "https://srch.search.azure.cn"
        );
        for body in [&fdy, &tr, &project, &search] {
            let text = body.to_string();
            assert!(
                !text.contains(".azure.com")
                    && !text.contains(".windows.net")
                    && !text.contains("microsoft.com"),
                "{text}"
            );
        }
    }

    #[test]
    fn audiences_have_twins_both_ways() {
        assert_eq!(
            TenantCloud::public_audience("https://search.azure.cn/"),
            "https://search.azure.com/"
        );
        assert_eq!(
            TenantCloud::UsGov.audience_in("https://graph.microsoft.com"),
            "https://graph.microsoft.us"
        );
        assert_eq!(
            TenantCloud::China
                .localize("audience is incorrect (https://cognitiveservices.azure.com)"),
            "audience is incorrect (https://cognitiveservices.azure.cn)"
        );
    }
}
