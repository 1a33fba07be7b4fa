//! Emulated Microsoft Entra ID: OIDC discovery, JWKS, instance discovery and the token endpoint
//! (client secret, certificate assertion, federated assertion), with the real AADSTS bodies of
//! reference/azure-wire.md §1.3–1.4.
//!
//! The token functions (`issue_app_token`, `issue_user_token`) are shared with the managed
//! identity endpoints and the fake CLIs, so every surface mints the same v1.0 claims.

use super::scenario::{CertificateSpec, IdentitySpec, IdentityType, TenantCloud};
use super::{EmuRequest, EmuResponse, World};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// Host names of the Entra authorities of the three clouds (and their aliases).
pub const LOGIN_HOSTS: &[&str] = &[
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.windows.net",
    "sts.windows.net",
    "login.microsoftonline.us",
    "login.usgovcloudapi.net",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
];

pub fn is_login_host(host: &str) -> bool {
    LOGIN_HOSTS.contains(&host)
}

/// The Azure CLI's public client id; azd signs in with the same application.
pub const AZURE_CLI_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Service principal tokens live about an hour; managed identity tokens a day (azure-wire.md §2).
pub const APP_TOKEN_LIFETIME: i64 = 3599;
pub const MANAGED_IDENTITY_TOKEN_LIFETIME: i64 = 86399;
pub const USER_TOKEN_LIFETIME: i64 = 3599;
const FIC_DOC: &str = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

/// Resources a token can be requested for. Anything else is AADSTS500011, as Entra answers a
/// typo in a resource URI.
const KNOWN_RESOURCES: &[&str] = &[
    "https://cognitiveservices.azure.com",
    "https://ai.azure.com",
    "https://search.azure.com",
    "https://management.azure.com",
    "https://management.core.windows.net",
    "https://graph.microsoft.com",
    "https://vault.azure.net",
    "https://storage.azure.com",
    "https://cognitiveservices.azure.us",
    "https://search.azure.us",
    "https://management.usgovcloudapi.net",
    "https://management.core.usgovcloudapi.net",
    "https://cognitiveservices.azure.cn",
    "https://search.azure.cn",
    "https://management.chinacloudapi.cn",
    "https://management.core.chinacloudapi.cn",
    "https://graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
    "api://AzureADTokenExchange",
];

pub fn is_known_resource(resource: &str) -> bool {
    let trimmed = resource.trim_end_matches('/');
    KNOWN_RESOURCES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(trimmed))
}

/// Does the tenant have a service principal for `resource`? A known resource of a cloud the
/// tenant lives in: another cloud's resource has none in this tenant (AADSTS500011), whichever
/// way the token is asked for (token endpoint, IMDS, App Service, the CLIs).
pub fn resource_in_tenant(world: &World, resource: &str) -> bool {
    let foreign = resource.starts_with("https://")
        && !world
            .scenario
            .tenant
            .lives_in(TenantCloud::of_host(resource));
    is_known_resource(resource) && !foreign
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The `iss` of v1.0 tokens for the cloud whose authority host issued them.
fn sts_issuer(authority_host: &str, tenant_id: &str) -> String {
    format!(
        "https://{}/{tenant_id}/",
        TenantCloud::of_host(authority_host).sts_host()
    )
}

/// How an application proved who it is: becomes `appidacr` and, for managed identities,
/// `xms_mirid`.
#[derive(Debug, Clone)]
pub enum AppAuth {
    Secret,
    Certificate,
    Federated,
    ManagedIdentity { resource_id: String },
}

/// A minted access token and the lifetime numbers the endpoints report beside it.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub issued_at: i64,
    pub expires_on: i64,
    pub expires_in: i64,
}

fn random_opaque(bytes: usize) -> String {
    let mut out = Vec::with_capacity(bytes);
    while out.len() < bytes {
        out.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out.truncate(bytes);
    URL_SAFE_NO_PAD.encode(out)
}

fn base_claims(
    authority_host: &str,
    tenant_id: &str,
    audience: &str,
    lifetime: i64,
) -> (serde_json::Map<String, Value>, i64) {
    let now = now_secs();
    let iss = sts_issuer(authority_host, tenant_id);
    let mut claims = serde_json::Map::new();
    claims.insert("aud".into(), json!(audience));
    claims.insert("iss".into(), json!(iss));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(now + lifetime));
    claims.insert("aio".into(), json!(format!("{}==", random_opaque(48))));
    claims.insert("idp".into(), json!(iss));
    claims.insert("rh".into(), json!(format!("0.{}.", random_opaque(36))));
    claims.insert("tid".into(), json!(tenant_id));
    claims.insert("uti".into(), json!(random_opaque(16)));
    claims.insert("ver".into(), json!("1.0"));
    (claims, now)
}

/// An app-only token (service principal or managed identity) with v1.0 claims.
pub fn issue_app_token(
    world: &World,
    authority_host: &str,
    identity: &IdentitySpec,
    tenant_id: &str,
    audience: &str,
    auth: &AppAuth,
) -> Issued {
    let lifetime = match auth {
        AppAuth::ManagedIdentity { .. } => MANAGED_IDENTITY_TOKEN_LIFETIME,
        _ if identity.kind == IdentityType::ManagedIdentity => MANAGED_IDENTITY_TOKEN_LIFETIME,
        _ => APP_TOKEN_LIFETIME,
    };
    let (mut claims, now) = base_claims(authority_host, tenant_id, audience, lifetime);
    let oid = identity.object_id();
    claims.insert("appid".into(), json!(identity.client_id()));
    let appidacr = match auth {
        AppAuth::Secret => "1",
        _ => "2",
    };
    claims.insert("appidacr".into(), json!(appidacr));
    claims.insert("idtyp".into(), json!("app"));
    claims.insert("oid".into(), json!(oid));
    claims.insert("sub".into(), json!(oid));
    match auth {
        AppAuth::ManagedIdentity { resource_id } => {
            claims.insert("xms_mirid".into(), json!(resource_id));
        }
        _ if identity.kind == IdentityType::ManagedIdentity => {
            claims.insert(
                "xms_mirid".into(),
                json!(user_assigned_resource_id(world, identity.name())),
            );
        }
        _ => {}
    }
    let token = world.signer.sign(&Value::Object(claims));
    Issued {
        token,
        issued_at: now,
        expires_on: now + lifetime,
        expires_in: lifetime,
    }
}

/// A delegated token for a user signed in to `client_app_id` (the Azure CLI, azd).
pub fn issue_user_token(
    world: &World,
    identity: &IdentitySpec,
    tenant_id: &str,
    audience: &str,
    client_app_id: &str,
) -> Issued {
    let (mut claims, now) = base_claims(
        world.scenario.tenant.cloud().login_host(),
        tenant_id,
        audience,
        USER_TOKEN_LIFETIME,
    );
    let upn = identity
        .upn
        .clone()
        .unwrap_or_else(|| format!("{}@contoso.com", identity.name()));
    let display = display_name(identity.name());
    // A user's `sub` is pairwise (per app), unlike app tokens where it equals `oid`.
    let pairwise = Sha256::digest(format!("{}/{client_app_id}", identity.object_id()).as_bytes());
    claims.insert("acr".into(), json!("1"));
    claims.insert("amr".into(), json!(["pwd", "mfa"]));
    claims.insert("appid".into(), json!(client_app_id));
    claims.insert("appidacr".into(), json!("0"));
    claims.insert("family_name".into(), json!(display.1));
    claims.insert("given_name".into(), json!(display.0));
    claims.insert(
        "ipaddr".into(),
        json!(world.scenario.machine.source_ip().to_string()),
    );
    claims.insert("name".into(), json!(format!("{} {}", display.0, display.1)));
    claims.insert("oid".into(), json!(identity.object_id()));
    claims.insert("puid".into(), json!("10032001A2B3C4D5"));
    claims.insert("scp".into(), json!("user_impersonation"));
    claims.insert("sub".into(), json!(URL_SAFE_NO_PAD.encode(&pairwise[..32])));
    claims.insert("unique_name".into(), json!(upn));
    claims.insert("upn".into(), json!(upn));
    // A guest signs in at home: `idp` names the home tenant's issuer, not the resource tenant's.
    let home = identity.tenant_id(&world.scenario.tenant);
    if !home.eq_ignore_ascii_case(tenant_id) {
        claims.insert(
            "idp".into(),
            json!(sts_issuer("login.microsoftonline.com", home)),
        );
    }
    let token = world.signer.sign(&Value::Object(claims));
    Issued {
        token,
        issued_at: now,
        expires_on: now + USER_TOKEN_LIFETIME,
        expires_in: USER_TOKEN_LIFETIME,
    }
}

fn display_name(name: &str) -> (String, String) {
    let mut parts = name
        .split(['-', '_', '.', ' '])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        });
    let given = parts.next().unwrap_or_else(|| "User".into());
    let family = parts.collect::<Vec<_>>().join(" ");
    (
        given,
        if family.is_empty() {
            "Contoso".into()
        } else {
            family
        },
    )
}

/// The resource id of a user-assigned managed identity. The scenario does not model where the
/// identity lives, so it sits in a fixed resource group `rg-identity`.
pub fn user_assigned_resource_id(world: &World, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourcegroups/rg-identity/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
        world.subscription()
    )
}

// ---------------------------------------------------------------------------------------------
// Error bodies

fn timestamp(at: time::OffsetDateTime) -> String {
    at.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

fn iso7(at: time::OffsetDateTime) -> String {
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    ))
    .unwrap_or_default()
}

fn from_secs(secs: f64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// An Entra error body: `error`, `error_description` (`AADSTS{code}: {message}` then the trace
/// lines, `\r\n`-separated as the real service writes them), `error_codes`, `timestamp`,
/// `trace_id`, `correlation_id`, `error_uri`, in that order.
pub fn aadsts_error(
    status: u16,
    error: &str,
    code: u64,
    message: &str,
    correlation_id: Option<&str>,
) -> EmuResponse {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = correlation_id
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let ts = timestamp(time::OffsetDateTime::now_utc());
    let description = format!(
        "AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {ts}"
    );
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let body = format!(
        "{{\"error\":{},\"error_description\":{},\"error_codes\":[{code}],\"timestamp\":{},\"trace_id\":{},\"correlation_id\":{},\"error_uri\":{}}}",
        s(error),
        s(&description),
        s(&ts),
        s(&trace_id),
        s(&correlation_id),
        s(&format!(
            "https://login.microsoftonline.com/error?code={code}"
        )),
    );
    with_sts_headers(EmuResponse::raw_json(status, body), &trace_id)
}

fn with_sts_headers(resp: EmuResponse, request_id: &str) -> EmuResponse {
    resp.with_header("cache-control", "no-store, no-cache")
        .with_header("pragma", "no-cache")
        .with_header("expires", "-1")
        .with_header(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        )
        .with_header("x-content-type-options", "nosniff")
        .with_header("p3p", "CP=\"DSP CUR OTPi IND OTRi ONL FIN\"")
        .with_header("x-ms-request-id", request_id)
        .with_header("x-ms-ests-server", "2.1.0 - EMU ProdSlices")
}

fn tenant_not_found(tenant: &str, corr: Option<&str>) -> EmuResponse {
    aadsts_error(
        400,
        "invalid_tenant",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
        corr,
    )
}

fn missing_parameter(name: &str, corr: Option<&str>) -> EmuResponse {
    aadsts_error(
        400,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
        corr,
    )
}

// ---------------------------------------------------------------------------------------------
// Routing

/// What a tenant path segment names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TenantRef {
    /// A tenant this scenario knows (its own, or an identity's home tenant).
    Id(String),
    /// `organizations` / `common`: resolved to the application's home tenant.
    AnyOrganization,
    Unknown,
}

fn resolve_tenant(world: &World, host: &str, segment: &str) -> TenantRef {
    // A tenant lives in one cloud; the other clouds' authorities do not know it.
    if !world.scenario.tenant.lives_in(TenantCloud::of_host(host)) {
        return TenantRef::Unknown;
    }
    let lower = segment.to_ascii_lowercase();
    if lower == "organizations" || lower == "common" {
        return TenantRef::AnyOrganization;
    }
    let known = std::iter::once(world.tenant_id().to_string()).chain(
        world
            .scenario
            .identities
            .iter()
            .filter_map(|i| i.home_tenant.clone())
            .filter(|t| !t.is_empty()),
    );
    for tenant in known {
        if tenant.eq_ignore_ascii_case(segment) {
            return TenantRef::Id(tenant);
        }
    }
    // A verified domain names the scenario's tenant; the scenario does not list domains, so any
    // `*.onmicrosoft.com` is taken as it [L].
    if lower.ends_with(".onmicrosoft.com") {
        return TenantRef::Id(world.tenant_id().to_string());
    }
    TenantRef::Unknown
}

/// `https://host[:port]` of the request, as discovery documents and assertion audiences use it.
fn origin(req: &EmuRequest) -> String {
    let default_port = if req.scheme == "https" { 443 } else { 80 };
    if req.port == 0 || req.port == default_port {
        format!("{}://{}", req.scheme, req.host)
    } else {
        format!("{}://{}:{}", req.scheme, req.host, req.port)
    }
}

pub fn handle(world: &World, req: &EmuRequest) -> EmuResponse {
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let corr = req.header("client-request-id");
    match segments.as_slice() {
        ["common", "discovery", "instance"] => {
            world.counters.bump("entra.instance_discovery");
            instance_discovery(req)
        }
        [tenant, "v2.0", ".well-known", "openid-configuration"] => {
            world.counters.bump("entra.openid_configuration");
            openid_configuration(world, req, tenant, true)
        }
        [tenant, ".well-known", "openid-configuration"] => {
            world.counters.bump("entra.openid_configuration");
            openid_configuration(world, req, tenant, false)
        }
        [tenant, "discovery", "v2.0", "keys"] | [tenant, "discovery", "keys"] => {
            world.counters.bump("entra.keys");
            match resolve_tenant(world, &req.host, tenant) {
                TenantRef::Unknown => tenant_not_found(tenant, corr),
                _ => jwks(world),
            }
        }
        [tenant, "oauth2", "v2.0", "token"] => token_endpoint(world, req, tenant, false),
        [tenant, "oauth2", "token"] => token_endpoint(world, req, tenant, true),
        _ => EmuResponse::text(
            404,
            format!("entraprobe emulator: no Entra route for {}", req.path),
        ),
    }
}

fn jwks(world: &World) -> EmuResponse {
    EmuResponse::json(
        200,
        &json!({"keys": [{
            "kty": "RSA",
            "use": "sig",
            "kid": world.signer.kid,
            "x5t": world.signer.kid,
            "n": world.signer.modulus_b64,
            "e": world.signer.exponent_b64,
        }]}),
    )
}

fn cloud_names(host: &str) -> (&'static str, &'static str, &'static str) {
    // (cloud_instance_name, msgraph_host, cloud_graph_host_name)
    let cloud = TenantCloud::of_host(host);
    let (instance, aad_graph) = match cloud {
        TenantCloud::UsGov => ("microsoftonline.us", "graph.windows.net"),
        TenantCloud::China => ("partner.microsoftonline.cn", "graph.chinacloudapi.cn"),
        TenantCloud::Public => ("microsoftonline.com", "graph.windows.net"),
    };
    (instance, cloud.graph_host(), aad_graph)
}

fn openid_configuration(world: &World, req: &EmuRequest, tenant: &str, v2: bool) -> EmuResponse {
    let resolved = resolve_tenant(world, &req.host, tenant);
    let tid = match &resolved {
        TenantRef::Unknown => return tenant_not_found(tenant, req.header("client-request-id")),
        TenantRef::Id(id) => id.clone(),
        // The real multi-tenant documents carry this literal placeholder in `issuer`.
        TenantRef::AnyOrganization => "{tenantid}".to_string(),
    };
    let base = origin(req);
    let path_tenant = match resolved {
        TenantRef::Id(_) => tid.clone(),
        _ => tenant.to_string(),
    };
    let (cloud_instance, msgraph, graph) = cloud_names(&req.host);
    let (oauth, issuer, keys) = if v2 {
        (
            format!("{base}/{path_tenant}/oauth2/v2.0"),
            format!("{base}/{tid}/v2.0"),
            format!("{base}/{path_tenant}/discovery/v2.0/keys"),
        )
    } else {
        (
            format!("{base}/{path_tenant}/oauth2"),
            sts_issuer(&req.host, &tid),
            format!("{base}/{path_tenant}/discovery/keys"),
        )
    };
    EmuResponse::json(
        200,
        &json!({
            "token_endpoint": format!("{oauth}/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": keys,
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": format!("https://{msgraph}/oidc/userinfo"),
            "authorization_endpoint": format!("{oauth}/authorize"),
            "device_authorization_endpoint": format!("{oauth}/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{oauth}/logout"),
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": format!("{base}/{path_tenant}/kerberos"),
            "tenant_region_scope": "NA",
            "cloud_instance_name": cloud_instance,
            "cloud_graph_host_name": graph,
            "msgraph_host": msgraph,
            "rbac_url": "https://pas.windows.net",
        }),
    )
}

fn instance_discovery(req: &EmuRequest) -> EmuResponse {
    let metadata = json!([
        {"preferred_network": "login.microsoftonline.com", "preferred_cache": "login.windows.net",
         "aliases": ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]},
        {"preferred_network": "login.partner.microsoftonline.cn", "preferred_cache": "login.partner.microsoftonline.cn",
         "aliases": ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"]},
        {"preferred_network": "login.microsoftonline.us", "preferred_cache": "login.microsoftonline.us",
         "aliases": ["login.microsoftonline.us", "login.usgovcloudapi.net"]},
    ]);
    let endpoint = match req.query_param("authorization_endpoint") {
        Some(ep) => {
            let parsed = url::Url::parse(ep).ok();
            let host = parsed
                .as_ref()
                .and_then(|u| u.host_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if !is_login_host(&host) {
                return aadsts_error(
                    400,
                    "invalid_instance",
                    50049,
                    "Unknown or invalid instance.",
                    req.header("client-request-id"),
                );
            }
            let tenant = parsed
                .as_ref()
                .and_then(|u| u.path_segments()?.next().map(str::to_string))
                .unwrap_or_else(|| "common".into());
            format!("https://{host}/{tenant}/v2.0/.well-known/openid-configuration")
        }
        None => format!(
            "{}/common/v2.0/.well-known/openid-configuration",
            origin(req)
        ),
    };
    EmuResponse::json(
        200,
        &json!({
            "tenant_discovery_endpoint": endpoint,
            "api-version": req.query_param("api-version").unwrap_or("1.1"),
            "metadata": metadata,
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// The token endpoint

fn token_endpoint(world: &World, req: &EmuRequest, tenant: &str, v1: bool) -> EmuResponse {
    world
        .counters
        .bump(if v1 { "entra.token.v1" } else { "entra.token" });
    let corr = req.header("client-request-id");
    if !req.method.eq_ignore_ascii_case("POST") {
        return aadsts_error(
            400,
            "invalid_request",
            900561,
            &format!(
                "The endpoint only accepts POST, OPTIONS requests. Received a {} request.",
                req.method
            ),
            corr,
        );
    }
    let resolved = resolve_tenant(world, &req.host, tenant);
    if resolved == TenantRef::Unknown {
        return tenant_not_found(tenant, corr);
    }
    let form = req.form();
    let basic = basic_credentials(req);
    let Some(grant_type) = form.get("grant_type") else {
        return missing_parameter("grant_type", corr);
    };
    if grant_type != "client_credentials" {
        // [L] the text Entra gives for a grant this emulator does not model.
        return aadsts_error(
            400,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
            corr,
        );
    }
    let client_id = match form
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
    {
        Some(c) if !c.is_empty() => c,
        _ => return missing_parameter("client_id", corr),
    };
    let audience = if v1 {
        match form.get("resource") {
            Some(r) if !r.is_empty() => r.clone(),
            _ => return missing_parameter("resource", corr),
        }
    } else {
        let Some(scope) = form.get("scope").filter(|s| !s.trim().is_empty()) else {
            return missing_parameter("scope", corr);
        };
        match audience_of_scope(scope) {
            Ok(aud) => aud,
            Err(resp) => return resp(corr),
        }
    };

    let identity =
        world.scenario.identities.iter().find(|i| {
            i.kind != IdentityType::User && i.client_id().eq_ignore_ascii_case(&client_id)
        });
    let tenant_id = match (&resolved, identity) {
        (TenantRef::Id(t), Some(i))
            if i.tenant_id(&world.scenario.tenant).eq_ignore_ascii_case(t) =>
        {
            t.clone()
        }
        (TenantRef::AnyOrganization, Some(i)) => i.tenant_id(&world.scenario.tenant).to_string(),
        _ => {
            return aadsts_error(
                400,
                "unauthorized_client",
                700016,
                &format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
                corr,
            );
        }
    };
    let identity = identity.expect("matched above");

    let secret = form
        .get("client_secret")
        .cloned()
        .or_else(|| basic.map(|b| b.1));
    let assertion = form.get("client_assertion").cloned();
    let auth = match (secret, assertion) {
        (Some(secret), _) => check_secret(identity, &client_id, &secret, corr),
        (None, Some(assertion)) => {
            match form.get("client_assertion_type").map(String::as_str) {
                Some(JWT_BEARER) => {}
                // [L] Entra's answer to a missing or unknown assertion type.
                _ => return missing_parameter("client_assertion_type", corr),
            }
            check_assertion(
                world, req, identity, &client_id, tenant, &tenant_id, &assertion,
            )
            .map_err(|e| e(corr))
        }
        (None, None) => Err(aadsts_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            corr,
        )),
    };
    let auth = match auth {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    if !resource_in_tenant(world, &audience) {
        return aadsts_error(
            400,
            "invalid_resource",
            500011,
            &format!(
                "The resource principal named {audience} was not found in the tenant named {tenant_id}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
            corr,
        );
    }
    let issued = issue_app_token(world, &req.host, identity, &tenant_id, &audience, &auth);
    let trace = uuid::Uuid::new_v4().to_string();
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let body = if v1 {
        format!(
            "{{\"token_type\":\"Bearer\",\"expires_in\":\"{e}\",\"ext_expires_in\":\"{e}\",\"expires_on\":\"{on}\",\"not_before\":\"{nb}\",\"resource\":{r},\"access_token\":{t}}}",
            e = issued.expires_in,
            on = issued.expires_on,
            nb = issued.issued_at,
            r = s(&audience),
            t = s(&issued.token),
        )
    } else {
        format!(
            "{{\"token_type\":\"Bearer\",\"expires_in\":{e},\"ext_expires_in\":{e},\"access_token\":{t}}}",
            e = issued.expires_in,
            t = s(&issued.token),
        )
    };
    with_sts_headers(EmuResponse::raw_json(200, body), &trace)
}

type ErrorFor = Box<dyn FnOnce(Option<&str>) -> EmuResponse>;

/// `https://x/.default` → `https://x`; one resource per request, `.default` only (client
/// credentials cannot ask for individual scopes).
fn audience_of_scope(scope: &str) -> Result<String, ErrorFor> {
    let scopes: Vec<&str> = scope
        .split_whitespace()
        .filter(|s| !matches!(*s, "openid" | "profile" | "offline_access"))
        .collect();
    let mut audiences = Vec::new();
    for s in &scopes {
        match s.strip_suffix("/.default") {
            Some(aud) if !aud.is_empty() => audiences.push(aud.to_string()),
            _ => {
                let bad = s.to_string();
                return Err(Box::new(move |corr| {
                    aadsts_error(
                        400,
                        "invalid_scope",
                        70011,
                        &format!(
                            "The provided value for the input parameter 'scope' is not valid. The scope {bad} is not valid."
                        ),
                        corr,
                    )
                }));
            }
        }
    }
    audiences.dedup();
    match audiences.len() {
        1 => Ok(audiences.remove(0)),
        0 => Err(Box::new(|corr| missing_parameter("scope", corr))),
        _ => {
            let all = scope.to_string();
            Err(Box::new(move |corr| {
                aadsts_error(
                    400,
                    "invalid_scope",
                    700022,
                    &format!(
                        "The provided value for the input parameter scope isn't valid because it contains more than one resource. Scope {all} is not valid."
                    ),
                    corr,
                )
            }))
        }
    }
}

/// `Authorization: Basic base64(urlencode(client_id):urlencode(secret))`.
fn basic_credentials(req: &EmuRequest) -> Option<(String, String)> {
    let value = req.header("authorization")?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let dec = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((dec(id), dec(secret)))
}

fn check_secret(
    identity: &IdentitySpec,
    client_id: &str,
    secret: &str,
    corr: Option<&str>,
) -> Result<AppAuth, EmuResponse> {
    let accepted = identity.kind == IdentityType::ServicePrincipal
        && identity.secret.as_deref() == Some(secret);
    if !accepted {
        return Err(aadsts_error(
            401,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
            corr,
        ));
    }
    if identity.secret_expired {
        return Err(aadsts_error(
            401,
            "invalid_client",
            7000222,
            &format!(
                "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
            ),
            corr,
        ));
    }
    Ok(AppAuth::Secret)
}

/// A JWT's header and payload, decoded without any verification.
pub fn decode_unverified(jwt: &str) -> Option<(Value, Value)> {
    let mut parts = jwt.trim().split('.');
    let header = parts.next()?;
    let payload = parts.next()?;
    parts.next()?;
    let decode = |p: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok()?).ok()
    };
    Some((decode(header)?, decode(payload)?))
}

fn numeric(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn invalid_client(code: u64, message: String) -> ErrorFor {
    Box::new(move |corr| aadsts_error(401, "invalid_client", code, &message, corr))
}

fn check_lifetime(claims: &Value) -> Result<(), ErrorFor> {
    let now_exact = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let exp = numeric(claims.get("exp"));
    let nbf = numeric(claims.get("nbf"));
    // Entra tolerates a few minutes of skew on the start of the window [L].
    let too_early = nbf.is_some_and(|nbf| nbf > now_exact + 300.0);
    let expired = exp.is_none_or(|exp| exp < now_exact);
    if too_early || expired {
        let message = format!(
            "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials",
            iso7(from_secs(now_exact)),
            iso7(from_secs(nbf.unwrap_or(0.0))),
            iso7(from_secs(exp.unwrap_or(0.0))),
        );
        return Err(invalid_client(700024, message));
    }
    Ok(())
}

fn check_assertion(
    world: &World,
    req: &EmuRequest,
    identity: &IdentitySpec,
    client_id: &str,
    tenant_segment: &str,
    tenant_id: &str,
    assertion: &str,
) -> Result<AppAuth, ErrorFor> {
    let Some((header, claims)) = decode_unverified(assertion) else {
        return Err(Box::new(|corr| {
            aadsts_error(
                400,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed.",
                corr,
            )
        }));
    };
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    // An assertion the application signed itself names the application as issuer and subject;
    // anything else comes from an external identity provider (federation).
    if iss.eq_ignore_ascii_case(client_id) && sub.eq_ignore_ascii_case(client_id) {
        check_certificate_assertion(
            world,
            req,
            identity,
            client_id,
            tenant_segment,
            tenant_id,
            assertion,
            &header,
            &claims,
        )
    } else {
        check_federated_assertion(world, identity, assertion, &claims)
    }
}

#[allow(clippy::too_many_arguments)]
fn check_certificate_assertion(
    world: &World,
    req: &EmuRequest,
    identity: &IdentitySpec,
    client_id: &str,
    tenant_segment: &str,
    tenant_id: &str,
    assertion: &str,
    header: &Value,
    claims: &Value,
) -> Result<AppAuth, ErrorFor> {
    let presented_x5t = header.get("x5t").and_then(Value::as_str);
    let presented_s256 = header.get("x5t#S256").and_then(Value::as_str);
    let presented_hex = presented_x5t
        .or(presented_s256)
        .and_then(|t| {
            URL_SAFE_NO_PAD
                .decode(t.trim_end_matches('=').replace('+', "-").replace('/', "_"))
                .ok()
        })
        .map(hex::encode_upper)
        .unwrap_or_default();
    let graph_hint = format!(
        "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{client_id}'"
    );
    // `not-uploaded`: the machine holds the certificate, the app registration does not.
    let cert = world
        .certificates
        .get(identity.name())
        .filter(|_| identity.kind == IdentityType::ServicePrincipal)
        .filter(|_| identity.certificate != CertificateSpec::NotUploaded);
    // MSAL Python pads its x5t (`base64.urlsafe_b64encode`); Entra compares the bytes.
    let normalize = |t: &str| t.trim_end_matches('=').replace('+', "-").replace('/', "_");
    let matches = cert.filter(|c| {
        presented_x5t.map(normalize).as_deref() == Some(c.x5t.as_str())
            || presented_s256.map(normalize).as_deref() == Some(c.x5t_s256.as_str())
    });
    let Some(cert) = matches else {
        return Err(invalid_client(
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{presented_hex}', {graph_hint}]."
            ),
        ));
    };
    let fmt = time::macros::format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");
    let found_key = format!(
        "Found key 'Start={}, End={}'",
        cert.not_before.format(fmt).unwrap_or_default(),
        cert.not_after.format(fmt).unwrap_or_default(),
    );
    // An expired key is refused before its signature is looked at [M: wording from pastes of
    // AADSTS700027 with "The key used is expired."; not in the reference].
    if cert.not_after < time::OffsetDateTime::now_utc() {
        return Err(invalid_client(
            700027,
            format!(
                "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '{presented_hex}', {found_key}, {graph_hint}]."
            ),
        ));
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("PS256") => jsonwebtoken::Algorithm::PS256,
        _ => jsonwebtoken::Algorithm::RS256,
    };
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let key = jsonwebtoken::DecodingKey::from_rsa_der(&cert.public_key_der);
    if jsonwebtoken::decode::<Value>(assertion, &key, &validation).is_err() {
        return Err(invalid_client(
            700027,
            format!(
                "Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{presented_hex}', {found_key}, {graph_hint}]."
            ),
        ));
    }
    let base = origin(req);
    let accepted_audiences = [
        format!("{base}/{tenant_segment}/oauth2/v2.0/token"),
        format!("{base}/{tenant_id}/oauth2/v2.0/token"),
        format!("{base}/{tenant_segment}/oauth2/token"),
        format!("{base}/{tenant_id}/oauth2/token"),
    ];
    let aud_ok = audiences_of(claims).iter().any(|a| {
        accepted_audiences
            .iter()
            .any(|ok| ok.eq_ignore_ascii_case(a))
    });
    if !aud_ok {
        return Err(invalid_client(
            700023,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .".into(),
        ));
    }
    check_lifetime(claims)?;
    Ok(AppAuth::Certificate)
}

fn audiences_of(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Federated credentials are matched as Entra does: issuer, then signature and lifetime, then
/// subject, then audience, each compared case-sensitively. An identity with no federated
/// credential at all gets the older combined AADSTS70021.
fn check_federated_assertion(
    world: &World,
    identity: &IdentitySpec,
    assertion: &str,
    claims: &Value,
) -> Result<AppAuth, ErrorFor> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let auds = audiences_of(claims);
    let aud_text = auds.join(",");
    if identity.federated.is_empty() || identity.kind == IdentityType::User {
        return Err(Box::new(move |corr| {
            aadsts_error(
                400,
                "invalid_request",
                70021,
                &format!(
                    "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud_text}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
                ),
                corr,
            )
        }));
    }
    let by_issuer: Vec<_> = identity
        .federated
        .iter()
        .filter(|f| f.issuer == iss)
        .collect();
    if by_issuer.is_empty() {
        return Err(invalid_client(
            700211,
            format!(
                "No matching federated identity record found for presented assertion issuer '{iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {FIC_DOC}"
            ),
        ));
    }
    // The emulator's OIDC issuers (GitHub, Pipelines, Kubernetes) all sign with its one key, so
    // "the issuer's JWKS" is the emulator's.
    if world.signer.verify(assertion).is_err() {
        return Err(invalid_client(
            700027,
            "Client assertion failed signature validation.".into(),
        ));
    }
    check_lifetime(claims)?;
    let by_subject: Vec<_> = by_issuer.iter().filter(|f| f.subject == sub).collect();
    if by_subject.is_empty() {
        return Err(invalid_client(
            700213,
            format!(
                "No matching federated identity record found for presented assertion subject '{sub}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. {FIC_DOC}"
            ),
        ));
    }
    if !by_subject.iter().any(|f| auds.contains(&f.audience)) {
        return Err(invalid_client(
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience '{aud_text}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {FIC_DOC}"
            ),
        ));
    }
    Ok(AppAuth::Federated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::Scenario;

    fn world(text: &str) -> World {
        World::new(Scenario::parse(text, "t.toml").unwrap()).unwrap()
    }

    fn post(path: &str, form: &[(&str, &str)]) -> EmuRequest {
        EmuRequest {
            method: "POST".into(),
            host: "login.microsoftonline.com".into(),
            port: 443,
            scheme: "https",
            path: path.into(),
            body: form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish()
                .into_bytes(),
            ..Default::default()
        }
    }

    const SP: &str = "[tenant]\nid = \"0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11\"\n[[identity]]\nname = \"ci-app\"\ntype = \"service_principal\"\nclient_id = \"00001111-aaaa-2222-bbbb-3333cccc4444\"\nsecret = \"s3cret\"\n";

    #[test]
    fn secret_grant_issues_v1_claims() {
        let w = world(SP);
        let resp = handle(
            &w,
            &post(
                "/0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11/oauth2/v2.0/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "00001111-aaaa-2222-bbbb-3333cccc4444"),
                    ("client_secret", "s3cret"),
                    ("scope", "https://cognitiveservices.azure.com/.default"),
                ],
            ),
        );
        assert_eq!(resp.status, 200);
        let body: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["expires_in"], 3599);
        let claims = w
            .signer
            .verify(body["access_token"].as_str().unwrap())
            .unwrap();
        assert_eq!(claims["aud"], "https://cognitiveservices.azure.com");
        assert_eq!(
            claims["iss"],
            "https://sts.windows.net/0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11/"
        );
        assert_eq!(claims["appidacr"], "1");
        assert_eq!(claims["idtyp"], "app");
        assert_eq!(claims["ver"], "1.0");
        assert_eq!(claims["oid"], claims["sub"]);
    }

    #[test]
    fn scope_without_default_is_70011() {
        let w = world(SP);
        let resp = handle(
            &w,
            &post(
                "/organizations/oauth2/v2.0/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "00001111-aaaa-2222-bbbb-3333cccc4444"),
                    ("client_secret", "s3cret"),
                    ("scope", "https://cognitiveservices.azure.com"),
                ],
            ),
        );
        assert_eq!(resp.status, 400);
        let body: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["error"], "invalid_scope");
        assert_eq!(body["error_codes"], json!([70011]));
    }

    #[test]
    fn fractional_lifetimes_are_accepted() {
        let now = now_secs() as f64 + 0.25;
        assert!(check_lifetime(&json!({"exp": now + 600.5, "iat": now})).is_ok());
        assert!(check_lifetime(&json!({"exp": now - 600.5})).is_err());
    }
}
