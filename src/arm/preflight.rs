//! Preflight of a target through ARM: find the account or Search service behind an endpoint and
//! read what decides Entra ID access before any data-plane call (custom subdomain, network
//! rules, Search auth options, tenant, local auth). Pure over what the ARM reads returned.
//!
//! Findings come in the order the data plane checks (network first, then the token's tenant,
//! then the endpoint form), so the first one is what the live call would fail on.

pub use crate::arm::model::SearchAuth;
use crate::arm::model::{Account, SearchService, Subscription};
use crate::arm::scope;
use crate::diagnosis::{Code, Finding, Severity};
use crate::service::{ServiceCloud, ServiceKind, Target};
use std::net::IpAddr;

/// What preflight learned about the resource behind a target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceFacts {
    pub resource_id: String,
    /// The account kind (`OpenAI`, `SpeechServices`, …) or `SearchService`.
    pub kind: String,
    /// The subscription's tenant (see [`tenant_of`]); `find_resource` leaves it `None`.
    pub tenant_id: Option<String>,
    pub custom_subdomain: Option<String>,
    pub endpoint: Option<String>,
    pub disable_local_auth: bool,
    pub public_network_access_disabled: bool,
    /// Only listed addresses get through (accounts: `networkAcls.defaultAction` Deny; Search:
    /// a non-empty `ipRules` list).
    pub network_default_deny: bool,
    pub ip_rules: Vec<String>,
    /// Approved private endpoint connections.
    pub private_endpoints: usize,
    pub search_auth: Option<SearchAuth>,
}

pub const SEARCH_KIND: &str = "SearchService";

/// Host suffixes under which the first label is an account's custom subdomain.
const CUSTOM_DOMAIN_SUFFIXES: &[&str] = &[
    ".cognitiveservices.azure.com",
    ".openai.azure.com",
    ".services.ai.azure.com",
    ".cognitiveservices.azure.us",
    ".openai.azure.us",
    ".cognitiveservices.azure.cn",
    ".openai.azure.cn",
];

/// Regional hosts shared by every account of a region: Entra ID tokens are refused there
/// (azure-wire.md §7, "Regional endpoints do not support Microsoft Entra authentication").
const REGIONAL_SUFFIXES: &[&str] = &[
    ".api.cognitive.microsoft.com",
    ".api.cognitive.microsoft.us",
    ".api.cognitive.azure.cn",
];

/// Speech's own regional hosts take `aad#{resourceId}#{token}` (data-actions.md §4), and the
/// Translator global host takes a token with `Ocp-Apim-ResourceId`: not "regional" in the sense
/// that matters here, provided the account has a custom subdomain.
const TOKEN_CAPABLE_SHARED_HOSTS: &[&str] = &[
    ".tts.speech.microsoft.com",
    ".stt.speech.microsoft.com",
    "api.cognitive.microsofttranslator.com",
];

fn host_of(endpoint: &str) -> Option<String> {
    url::Url::parse(endpoint.trim())
        .ok()?
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
}

fn ends_with_any(host: &str, suffixes: &[&str]) -> bool {
    suffixes
        .iter()
        .any(|s| host.ends_with(s) || host == s.trim_start_matches('.'))
}

fn is_regional_host(host: &str) -> bool {
    ends_with_any(host, REGIONAL_SUFFIXES)
}

fn account_facts(account: &Account) -> ResourceFacts {
    let p = &account.properties;
    let acls = p.network_acls.as_ref();
    ResourceFacts {
        resource_id: account.id.clone(),
        kind: account.kind.clone(),
        tenant_id: None,
        custom_subdomain: p
            .custom_sub_domain_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        endpoint: p.endpoint.clone(),
        disable_local_auth: p.disable_local_auth.unwrap_or(false),
        public_network_access_disabled: p
            .public_network_access
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("disabled")),
        network_default_deny: acls.is_some_and(|a| a.default_action.eq_ignore_ascii_case("deny")),
        ip_rules: acls
            .map(|a| a.ip_rules.iter().map(|r| r.value.clone()).collect())
            .unwrap_or_default(),
        private_endpoints: p
            .private_endpoint_connections
            .iter()
            .filter(|c| c.status().is_empty() || c.status().eq_ignore_ascii_case("approved"))
            .count(),
        search_auth: None,
    }
}

fn search_facts(service: &SearchService) -> ResourceFacts {
    let p = &service.properties;
    let ip_rules: Vec<String> = p
        .network_rule_set
        .as_ref()
        .map(|n| n.ip_rules.iter().map(|r| r.value.clone()).collect())
        .unwrap_or_default();
    ResourceFacts {
        resource_id: service.id.clone(),
        kind: SEARCH_KIND.into(),
        tenant_id: None,
        custom_subdomain: None,
        endpoint: p
            .endpoint
            .clone()
            .or_else(|| Some(format!("https://{}.search.windows.net", service.name))),
        disable_local_auth: p.disable_local_auth.unwrap_or(false),
        public_network_access_disabled: p
            .public_network_access
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("disabled")),
        // Search has no default action: a non-empty ipRules list admits only those addresses.
        network_default_deny: !ip_rules.is_empty(),
        ip_rules,
        private_endpoints: p
            .private_endpoint_connections
            .iter()
            .filter(|c| c.status().is_empty() || c.status().eq_ignore_ascii_case("approved"))
            .count(),
        search_auth: Some(p.search_auth()),
    }
}

fn account_serves_host(account: &Account, host: &str) -> bool {
    if account
        .properties
        .endpoint_urls()
        .iter()
        .filter_map(|u| host_of(u))
        .any(|h| h == host)
    {
        return true;
    }
    let Some(sub) = account.properties.custom_sub_domain_name.as_deref() else {
        return false;
    };
    ends_with_any(host, CUSTOM_DOMAIN_SUFFIXES)
        && host
            .split('.')
            .next()
            .is_some_and(|label| label.eq_ignore_ascii_case(sub.trim()))
}

/// The resource behind a target: by resource id when given, otherwise by the endpoint's host
/// (custom subdomain host, OpenAI host, Search host). A shared regional host names an account
/// only when exactly one visible account lists it.
pub fn find_resource(
    target: &Target,
    accounts: &[Account],
    search: &[SearchService],
) -> Option<ResourceFacts> {
    if let Some(id) = target
        .resource_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        // An index id still names its service.
        let service_id = match id.to_ascii_lowercase().find("/indexes/") {
            Some(cut) => &id[..cut],
            None => id,
        };
        return accounts
            .iter()
            .find(|a| scope::same(&a.id, id))
            .map(account_facts)
            .or_else(|| {
                search
                    .iter()
                    .find(|s| scope::same(&s.id, service_id))
                    .map(search_facts)
            });
    }
    let host = host_of(&target.endpoint)?;
    if target.kind == ServiceKind::Search || host.contains(".search.") {
        let name = host.split('.').next().unwrap_or_default();
        if let Some(service) = search.iter().find(|s| {
            s.name.eq_ignore_ascii_case(name)
                || s.properties
                    .endpoint
                    .as_deref()
                    .and_then(host_of)
                    .is_some_and(|h| h == host)
        }) {
            return Some(search_facts(service));
        }
        if target.kind == ServiceKind::Search {
            return None;
        }
    }
    let matching: Vec<&Account> = accounts
        .iter()
        .filter(|a| account_serves_host(a, &host))
        .collect();
    match matching.as_slice() {
        [one] => Some(account_facts(one)),
        _ => None,
    }
}

/// The tenant of the subscription that holds `resource_id`, from the subscriptions listing.
pub fn tenant_of(subscriptions: &[Subscription], resource_id: &str) -> Option<String> {
    let wanted = scope::subscription_of(resource_id)?;
    subscriptions
        .iter()
        .find(|s| {
            s.subscription_id.eq_ignore_ascii_case(wanted)
                || scope::subscription_of(&s.id).is_some_and(|x| x.eq_ignore_ascii_case(wanted))
        })
        .map(|s| s.tenant_id.clone())
        .filter(|t| !t.is_empty())
}

/// Is `ip` admitted by one of the rules (`203.0.113.0/24` or a single address)?
pub fn ip_admitted(ip: IpAddr, rules: &[String]) -> bool {
    rules.iter().any(|rule| {
        let rule = rule.trim();
        rule.parse::<ipnet::IpNet>()
            .map(|net| net.contains(&ip))
            .or_else(|_| rule.parse::<IpAddr>().map(|single| single == ip))
            .unwrap_or(false)
    })
}

/// `--name X --resource-group RG` for the az commands in remedies.
fn az_names(facts: &ResourceFacts) -> String {
    let name = scope::leaf(&facts.resource_id)
        .map(|(_, n)| n)
        .unwrap_or("<name>");
    let group = scope::resource_group_of(&facts.resource_id).unwrap_or("<resource-group>");
    format!("--name {name} --resource-group {group}")
}

/// `private-endpoint-required`: public access disabled, approved private endpoints. A warning
/// before the call (this machine may be inside that network); the cell makes it the deciding
/// error when the call is refused.
fn private_endpoint_finding(
    target: &Target,
    facts: &ResourceFacts,
    host: &str,
    cloud: &ServiceCloud,
) -> Finding {
    let zone = cloud.private_dns_zone(host, facts.kind == SEARCH_KIND);
    Finding::new(
        Code::PrivateEndpointRequired,
        format!(
            "{} has public network access disabled and {} approved private endpoint(s): {} answers only inside the endpoint's network, where {host} resolves to its private address through the {zone} zone",
            scope::describe(&facts.resource_id),
            facts.private_endpoints,
            target.name
        ),
        format!(
            "Run from inside the private endpoint's virtual network (or one peered or connected to it by VPN/ExpressRoute) and link the private DNS zone there: az network private-dns link vnet create -g <rg> -z {zone} -n <link-name> -v <vnet-id> -e false; then `nslookup {host}` must answer a private address"
        ),
    )
    .with_severity(Severity::Warning)
}

/// Findings from the resource's ARM properties, before any data-plane call.
/// `cloud` is the run's: remedies name its hosts and private DNS zones.
pub fn preflight_findings(
    target: &Target,
    facts: &ResourceFacts,
    caller_ip: Option<IpAddr>,
    token_tenant: Option<&str>,
    cloud: &ServiceCloud,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let is_search = facts.kind == SEARCH_KIND;
    let what = scope::describe(&facts.resource_id);
    let names = az_names(facts);
    let host = host_of(&target.endpoint).unwrap_or_default();

    if facts.public_network_access_disabled && facts.private_endpoints > 0 {
        // This machine may be inside the endpoint's network: a warning until the call says.
        findings.push(private_endpoint_finding(target, facts, &host, cloud));
    } else if facts.public_network_access_disabled {
        let (message, severity) = (
            format!("{what} has public network access disabled and no approved private endpoint"),
            Severity::Error,
        );
        let remedy = if is_search {
            format!(
                "Run from a network with a private endpoint to the service, or allow public access: az search service update {names} --public-access enabled"
            )
        } else {
            format!(
                "Run from a network with a private endpoint to the account, or allow public access: az resource update --ids {} --set properties.publicNetworkAccess=Enabled",
                facts.resource_id
            )
        };
        findings.push(
            Finding::new(Code::PublicAccessDisabled, message, remedy).with_severity(severity),
        );
    } else if facts.network_default_deny {
        let rules = if facts.ip_rules.is_empty() {
            "none".to_string()
        } else {
            facts.ip_rules.join(", ")
        };
        match caller_ip {
            Some(ip) if ip_admitted(ip, &facts.ip_rules) => {}
            Some(ip) => {
                let remedy = if is_search {
                    format!("Add this address to the service's IP rules: az search service update {names} --ip-rules \"{}\"",
                        facts.ip_rules.iter().cloned().chain([ip.to_string()]).collect::<Vec<_>>().join(","))
                } else {
                    format!("Add this address to the account's firewall: az cognitiveservices account network-rule add {names} --ip-address {ip}")
                };
                findings.push(Finding::new(
                    Code::FirewallBlocked,
                    format!("{what} admits only listed networks and this machine's address {ip} is not among its IP rules ({rules})"),
                    remedy,
                ));
            }
            None => findings.push(
                Finding::new(
                    Code::FirewallBlocked,
                    format!("{what} admits only listed networks (IP rules: {rules}); this machine's public address is unknown, so it may be blocked"),
                    format!("Check the address the service sees against the rules, then add it: az cognitiveservices account network-rule add {names} --ip-address <your-public-ip>"),
                )
                .with_severity(Severity::Warning),
            ),
        }
    }

    if let (Some(token), Some(resource)) = (token_tenant, facts.tenant_id.as_deref())
        && !token.trim().is_empty()
        && !token.trim().eq_ignore_ascii_case(resource.trim())
    {
        findings.push(Finding::new(
            Code::TenantMismatch,
            format!("the token was issued by tenant {token} but {what} belongs to tenant {resource}"),
            format!("Request the token from the resource's tenant: set AZURE_TENANT_ID={resource}, or `az login --tenant {resource}`; a guest user must be invited into that tenant"),
        ));
    }

    if !is_search {
        match facts.custom_subdomain.as_deref() {
            None => findings.push(Finding::new(
                Code::RegionalEndpoint,
                format!("{what} has no custom subdomain, only the regional endpoint; Entra ID tokens are accepted only on a custom subdomain"),
                format!("Give the account a custom subdomain (it cannot be changed or removed later): az cognitiveservices account update {names} --custom-domain <globally-unique-name>"),
            )),
            Some(sub) if is_regional_host(&host) && !ends_with_any(&host, TOKEN_CAPABLE_SHARED_HOSTS) => {
                let endpoint = if facts.kind.eq_ignore_ascii_case("OpenAI") { cloud.openai_endpoint(sub) } else { cloud.account_endpoint(sub) };
                findings.push(Finding::new(
                    Code::RegionalEndpoint,
                    format!("the target uses the regional host {host}, which refuses Entra ID tokens; {what} has the custom subdomain {sub}"),
                    format!("Use the custom-subdomain endpoint {endpoint} for {}", target.name),
                ));
            }
            Some(_) => {}
        }
    }

    if facts.search_auth == Some(SearchAuth::ApiKeyOnly) {
        findings.push(Finding::new(
            Code::SearchAadDisabled,
            format!("{what} accepts API keys only (authOptions apiKeyOnly), so every bearer token is refused"),
            format!("Enable role-based access: az search service update {names} --auth-options aadOrApiKey --aad-auth-failure-mode http401WithBearerChallenge"),
        ));
    }

    let keys_work = if is_search {
        facts.search_auth != Some(SearchAuth::AadOnly)
    } else {
        !facts.disable_local_auth
    };
    if keys_work {
        let remedy = if is_search {
            format!(
                "Once every client uses Entra ID: az search service update {names} --disable-local-auth true"
            )
        } else {
            format!(
                "Once every client uses Entra ID: az resource update --ids {} --set properties.disableLocalAuth=true",
                facts.resource_id
            )
        };
        findings.push(Finding::new(
            Code::LocalAuthEnabled,
            format!("{what} still accepts API keys; anyone with a key bypasses Entra ID and RBAC"),
            remedy,
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::model::{
        AccountProperties, IpRule, NetworkAcls, PrivateEndpointConnection, SearchNetworkRuleSet,
        SearchServiceProperties,
    };

    const RG: &str = "/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/resourceGroups/rg-ai";

    fn account(name: &str, kind: &str, subdomain: Option<&str>) -> Account {
        let endpoint = match subdomain {
            Some(s) if kind == "OpenAI" => format!("https://{s}.openai.azure.com/"),
            Some(s) => format!("https://{s}.cognitiveservices.azure.com/"),
            None => "https://westeurope.api.cognitive.microsoft.com/".into(),
        };
        Account {
            id: format!("{RG}/providers/Microsoft.CognitiveServices/accounts/{name}"),
            name: name.into(),
            kind: kind.into(),
            location: "westeurope".into(),
            properties: AccountProperties {
                endpoint: Some(endpoint),
                custom_sub_domain_name: subdomain.map(str::to_string),
                disable_local_auth: Some(true),
                public_network_access: Some("Enabled".into()),
                ..Default::default()
            },
        }
    }

    fn search(name: &str, auth: &str) -> SearchService {
        SearchService {
            id: format!("{RG}/providers/Microsoft.Search/searchServices/{name}"),
            name: name.into(),
            location: "westeurope".into(),
            properties: SearchServiceProperties {
                auth_options: Some(serde_json::from_str(auth).unwrap()),
                public_network_access: Some("enabled".into()),
                ..Default::default()
            },
        }
    }

    fn target(kind: ServiceKind, endpoint: &str) -> Target {
        Target {
            name: "t".into(),
            kind,
            endpoint: endpoint.into(),
            resource_id: None,
            region: None,
            index: None,
            audience: None,
        }
    }

    fn codes(findings: &[Finding]) -> Vec<(Code, Severity)> {
        findings.iter().map(|f| (f.code, f.severity)).collect()
    }

    #[test]
    fn resources_are_found_by_id_or_by_host() {
        let accounts = [
            account("oai-prod", "OpenAI", Some("oai-prod")),
            account("speech", "SpeechServices", Some("contoso-speech")),
            account("old-1", "TextAnalytics", None),
            account("old-2", "TextAnalytics", None),
        ];
        let services = [search("srch", r#"{"aadOrApiKey":{}}"#)];
        let found = |t: &Target| find_resource(t, &accounts, &services).map(|f| f.resource_id);

        let oai = target(ServiceKind::Openai, "https://OAI-PROD.openai.azure.com/");
        assert_eq!(found(&oai), Some(accounts[0].id.clone()));
        // The same account answers on its cognitiveservices host too.
        let oai_cs = target(
            ServiceKind::Openai,
            "https://oai-prod.cognitiveservices.azure.com",
        );
        assert_eq!(found(&oai_cs), Some(accounts[0].id.clone()));
        let speech = target(
            ServiceKind::Speech,
            "https://contoso-speech.cognitiveservices.azure.com/",
        );
        assert_eq!(found(&speech), Some(accounts[1].id.clone()));
        // Two accounts share the regional host: ambiguous without a resource id.
        let regional = target(
            ServiceKind::Language,
            "https://westeurope.api.cognitive.microsoft.com/",
        );
        assert_eq!(found(&regional), None);
        let mut by_id = regional.clone();
        by_id.resource_id = Some(accounts[3].id.to_uppercase());
        assert_eq!(found(&by_id), Some(accounts[3].id.clone()));
        let srch = target(ServiceKind::Search, "https://srch.search.windows.net");
        let facts = find_resource(&srch, &accounts, &services).unwrap();
        assert_eq!(
            (facts.kind.as_str(), facts.search_auth),
            (SEARCH_KIND, Some(SearchAuth::AadOrApiKey))
        );
        let mut index = srch.clone();
        index.resource_id = Some(format!("{}/indexes/products", services[0].id));
        assert_eq!(found(&index), Some(services[0].id.clone()));
        assert_eq!(
            found(&target(
                ServiceKind::Openai,
                "https://other.openai.azure.com/"
            )),
            None
        );
        assert_eq!(found(&target(ServiceKind::Openai, "not a url")), None);
    }

    #[test]
    fn a_clean_account_has_no_findings() {
        let a = account("oai-prod", "OpenAI", Some("oai-prod"));
        let facts = account_facts(&a);
        let t = target(ServiceKind::Openai, "https://oai-prod.openai.azure.com/");
        assert_eq!(
            preflight_findings(&t, &facts, None, None, &ServiceCloud::PUBLIC),
            vec![]
        );
    }

    #[test]
    fn no_custom_subdomain_or_a_regional_host_is_regional_endpoint() {
        let facts = account_facts(&account("old", "TextAnalytics", None));
        let t = target(
            ServiceKind::Language,
            "https://westeurope.api.cognitive.microsoft.com/",
        );
        let findings = preflight_findings(&t, &facts, None, None, &ServiceCloud::PUBLIC);
        assert_eq!(
            codes(&findings),
            vec![(Code::RegionalEndpoint, Severity::Error)]
        );
        assert!(findings[0].remedy.contains(
            "az cognitiveservices account update --name old --resource-group rg-ai --custom-domain"
        ));

        let facts = account_facts(&account("lang", "TextAnalytics", Some("contoso-lang")));
        let findings = preflight_findings(&t, &facts, None, None, &ServiceCloud::PUBLIC);
        assert_eq!(findings[0].code, Code::RegionalEndpoint);
        assert!(
            findings[0]
                .remedy
                .contains("https://contoso-lang.cognitiveservices.azure.com/")
        );

        // Speech's regional TTS host takes aad#… tokens when the account has a subdomain.
        let facts = account_facts(&account("speech", "SpeechServices", Some("contoso-speech")));
        let tts = target(
            ServiceKind::Speech,
            "https://westeurope.tts.speech.microsoft.com",
        );
        assert_eq!(
            preflight_findings(&tts, &facts, None, None, &ServiceCloud::PUBLIC),
            vec![]
        );
    }

    #[test]
    fn public_access_disabled_and_private_endpoints() {
        let mut a = account("oai-prod", "OpenAI", Some("oai-prod"));
        a.properties.public_network_access = Some("Disabled".into());
        let t = target(ServiceKind::Openai, "https://oai-prod.openai.azure.com/");
        let findings =
            preflight_findings(&t, &account_facts(&a), None, None, &ServiceCloud::PUBLIC);
        assert_eq!(
            codes(&findings),
            vec![(Code::PublicAccessDisabled, Severity::Error)]
        );
        assert!(findings[0].remedy.contains("publicNetworkAccess=Enabled"));
        a.properties.private_endpoint_connections = vec![PrivateEndpointConnection {
            properties: serde_json::json!({"privateLinkServiceConnectionState": {"status": "Approved"}}),
            ..Default::default()
        }];
        let findings =
            preflight_findings(&t, &account_facts(&a), None, None, &ServiceCloud::PUBLIC);
        assert_eq!(
            codes(&findings),
            vec![(Code::PrivateEndpointRequired, Severity::Warning)]
        );
        assert!(findings[0].message.contains("1 approved private endpoint"));
        assert!(
            findings[0]
                .remedy
                .contains("-z privatelink.openai.azure.com")
        );
    }

    #[test]
    fn sovereign_remedies_name_the_clouds_zones_and_hosts() {
        let approved = || {
            vec![PrivateEndpointConnection {
                properties: serde_json::json!({"privateLinkServiceConnectionState": {"status": "Approved"}}),
                ..Default::default()
            }]
        };
        for (cloud, tld) in [(ServiceCloud::USGOV, "us"), (ServiceCloud::CHINA, "cn")] {
            let own = |f: &Finding| {
                let public = crate::service::endpoint::public_cloud_hosts(&f.remedy);
                assert!(public.is_empty(), "{}: {public:?} in {f:#?}", cloud.name);
            };
            // A private endpoint: the zone of the host's kind, in the cloud's names.
            let mut a = account("oai", "OpenAI", Some("oai"));
            a.properties.public_network_access = Some("Disabled".into());
            a.properties.private_endpoint_connections = approved();
            for (kind, host, zone) in [
                (
                    ServiceKind::Openai,
                    format!("oai.openai.azure.{tld}"),
                    "openai",
                ),
                (
                    ServiceKind::Vision,
                    format!("oai.cognitiveservices.azure.{tld}"),
                    "cognitiveservices",
                ),
            ] {
                let t = target(kind, &format!("https://{host}/"));
                let findings = preflight_findings(&t, &account_facts(&a), None, None, &cloud);
                assert_eq!(findings[0].code, Code::PrivateEndpointRequired);
                let zone = format!("privatelink.{zone}.azure.{tld}");
                assert!(
                    findings[0].message.contains(&zone),
                    "{}",
                    findings[0].message
                );
                assert!(findings[0].remedy.contains(&format!("-z {zone} ")));
                own(&findings[0]);
            }
            let mut srch = search("srch", r#"{"aadOrApiKey":{}}"#);
            srch.properties.public_network_access = Some("disabled".into());
            srch.properties.private_endpoint_connections = approved();
            let t = target(
                ServiceKind::Search,
                &format!("https://srch.search.azure.{tld}"),
            );
            let findings = preflight_findings(&t, &search_facts(&srch), None, None, &cloud);
            assert!(
                findings[0]
                    .remedy
                    .contains(&format!("-z privatelink.search.azure.{tld} ")),
                "{}",
                findings[0].remedy
            );
            own(&findings[0]);

            // A regional host of an account that has a custom subdomain.
            let regional = target(
                ServiceKind::Language,
                &format!("https://region.{}/", cloud.regional_suffix),
            );
            for (kind, expected) in [
                ("TextAnalytics", cloud.account_endpoint("lang")),
                ("OpenAI", cloud.openai_endpoint("lang")),
            ] {
                let facts = account_facts(&account("lang", kind, Some("lang")));
                let findings = preflight_findings(&regional, &facts, None, None, &cloud);
                assert_eq!(findings[0].code, Code::RegionalEndpoint);
                assert!(
                    findings[0]
                        .remedy
                        .contains(&format!("endpoint {expected} for")),
                    "{}",
                    findings[0].remedy
                );
                own(&findings[0]);
            }
        }
    }

    #[test]
    fn the_firewall_names_the_callers_address() {
        let mut a = account("oai-prod", "OpenAI", Some("oai-prod"));
        a.properties.network_acls = Some(NetworkAcls {
            default_action: "Deny".into(),
            ip_rules: vec![
                IpRule {
                    value: "203.0.113.0/24".into(),
                },
                IpRule {
                    value: "192.0.2.5".into(),
                },
            ],
            ..Default::default()
        });
        let facts = account_facts(&a);
        let t = target(ServiceKind::Openai, "https://oai-prod.openai.azure.com/");
        let blocked = preflight_findings(
            &t,
            &facts,
            Some("198.51.100.7".parse().unwrap()),
            None,
            &ServiceCloud::PUBLIC,
        );
        assert_eq!(
            codes(&blocked),
            vec![(Code::FirewallBlocked, Severity::Error)]
        );
        assert!(blocked[0].message.contains("198.51.100.7"));
        assert!(blocked[0].message.contains("203.0.113.0/24, 192.0.2.5"));
        assert!(blocked[0].remedy.ends_with("--ip-address 198.51.100.7"));
        for inside in ["203.0.113.77", "192.0.2.5"] {
            assert_eq!(
                preflight_findings(
                    &t,
                    &facts,
                    Some(inside.parse().unwrap()),
                    None,
                    &ServiceCloud::PUBLIC
                ),
                vec![]
            );
        }
        let unknown = preflight_findings(&t, &facts, None, None, &ServiceCloud::PUBLIC);
        assert_eq!(
            codes(&unknown),
            vec![(Code::FirewallBlocked, Severity::Warning)]
        );
    }

    #[test]
    fn search_with_api_keys_only_and_its_ip_rules() {
        let mut s = search("srch", r#"{"apiKeyOnly":{}}"#);
        let t = target(ServiceKind::Search, "https://srch.search.windows.net");
        let findings = preflight_findings(&t, &search_facts(&s), None, None, &ServiceCloud::PUBLIC);
        assert_eq!(
            codes(&findings),
            vec![
                (Code::SearchAadDisabled, Severity::Error),
                (Code::LocalAuthEnabled, Severity::Warning)
            ]
        );
        assert!(findings[0].remedy.contains("--auth-options aadOrApiKey"));
        s.properties.auth_options = None;
        s.properties.disable_local_auth = Some(true);
        s.properties.network_rule_set = Some(SearchNetworkRuleSet {
            ip_rules: vec![IpRule {
                value: "203.0.113.0/24".into(),
            }],
            ..Default::default()
        });
        let findings = preflight_findings(
            &t,
            &search_facts(&s),
            Some("198.51.100.7".parse().unwrap()),
            None,
            &ServiceCloud::PUBLIC,
        );
        assert_eq!(
            codes(&findings),
            vec![(Code::FirewallBlocked, Severity::Error)]
        );
        assert!(
            findings[0]
                .remedy
                .contains("--ip-rules \"203.0.113.0/24,198.51.100.7\"")
        );
    }

    #[test]
    fn tenant_mismatch_and_local_auth() {
        let mut a = account("oai-prod", "OpenAI", Some("oai-prod"));
        a.properties.disable_local_auth = None;
        let mut facts = account_facts(&a);
        let subs = [Subscription {
            id: "/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f".into(),
            subscription_id: "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f".into(),
            tenant_id: "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11".into(),
            ..Default::default()
        }];
        facts.tenant_id = tenant_of(&subs, &facts.resource_id);
        assert_eq!(
            facts.tenant_id.as_deref(),
            Some("0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11")
        );
        let t = target(ServiceKind::Openai, "https://oai-prod.openai.azure.com/");
        let findings = preflight_findings(
            &t,
            &facts,
            None,
            Some("aaaabbbb-0000-cccc-1111-dddd2222eeee"),
            &ServiceCloud::PUBLIC,
        );
        assert_eq!(
            codes(&findings),
            vec![
                (Code::TenantMismatch, Severity::Error),
                (Code::LocalAuthEnabled, Severity::Warning)
            ]
        );
        assert!(
            findings[0]
                .remedy
                .contains("AZURE_TENANT_ID=0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11")
        );
        assert!(findings[1].remedy.contains("disableLocalAuth=true"));
        let same = preflight_findings(
            &t,
            &facts,
            None,
            Some("0F6C6A2E-1b1e-4d7a-9a7e-3f2a5d0c8b11"),
            &ServiceCloud::PUBLIC,
        );
        assert_eq!(
            codes(&same),
            vec![(Code::LocalAuthEnabled, Severity::Warning)]
        );
    }
}
