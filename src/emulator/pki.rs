//! The emulator's certificates: a CA clients are told to trust, one TLS leaf per host name the
//! proxy terminates, and the RSA certificates of scenario identities with `certificate = true`.
//!
//! TLS keys are ECDSA P-256 because a CONNECT to a new host waits for its leaf; identity keys are
//! RSA because Entra's client assertions are RS256.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::scenario::{CertificateSpec, Scenario};

/// The CA and the cache of per-host leaves it signed.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
    leaves: Mutex<HashMap<String, Arc<CertifiedKey>>>,
    provider: Arc<CryptoProvider>,
}

impl Authority {
    pub fn generate() -> anyhow::Result<Authority> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name("entraprobe emulator CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params, Duration::from_secs(365 * 24 * 3600));
        let cert = params.self_signed(&key)?;
        Ok(Authority {
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
            leaves: Mutex::new(HashMap::new()),
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        })
    }

    /// The CA certificate, PEM: what `SSL_CERT_FILE` / `REQUESTS_CA_BUNDLE` point at.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn provider(&self) -> &Arc<CryptoProvider> {
        &self.provider
    }

    /// The leaf for `host` (a DNS name or an IP address), made once and then reused.
    pub fn leaf(&self, host: &str) -> anyhow::Result<Arc<CertifiedKey>> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(found) = self.leaves.lock().expect("leaf cache lock").get(&host) {
            return Ok(found.clone());
        }
        // Only names a client could have asked for get a leaf.
        rustls::pki_types::ServerName::try_from(host.as_str())
            .map_err(|_| anyhow::anyhow!("`{host}` is not a host name"))?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name(&host);
        params.subject_alt_names = vec![match host.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(
                host.clone()
                    .try_into()
                    .with_context(|| format!("`{host}` cannot be a certificate name"))?,
            ),
        }];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        set_validity(&mut params, Duration::from_secs(30 * 24 * 3600));
        let cert = params.signed_by(&key, &self.issuer)?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing_key = self
            .provider
            .key_provider
            .load_private_key(key_der)
            .map_err(|e| anyhow::anyhow!("loading a generated leaf key: {e}"))?;
        let certified = Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing_key));
        self.leaves
            .lock()
            .expect("leaf cache lock")
            .insert(host, certified.clone());
        Ok(certified)
    }
}

/// A scenario identity's certificate: what Entra holds (public key, thumbprints) and what the
/// client holds (the PEM with the private key).
pub struct IdentityCertificate {
    /// Base64url SHA-1 of the DER certificate: the `x5t` an assertion header must carry.
    pub x5t: String,
    /// Base64url SHA-256 of the DER certificate: `x5t#S256`.
    pub x5t_s256: String,
    /// Upper-case hex SHA-1, as Entra prints thumbprints in AADSTS700027.
    pub thumbprint_hex: String,
    /// PKCS#1 RSAPublicKey DER, to verify RS256 assertion signatures.
    pub public_key_der: Vec<u8>,
    pub cert_der: Vec<u8>,
    /// Certificate then PKCS#8 private key, as `AZURE_CLIENT_CERTIFICATE_PATH` takes it.
    pub pem_with_key: String,
    /// PKCS#8 private key PEM alone (to sign assertions in tests and tools).
    pub key_pem: String,
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
}

impl IdentityCertificate {
    pub fn generate(common_name: &str) -> anyhow::Result<IdentityCertificate> {
        Self::generate_valid(common_name, false)
    }

    /// `expired`: a certificate whose validity ended yesterday (issued a year before that).
    pub fn generate_valid(common_name: &str, expired: bool) -> anyhow::Result<IdentityCertificate> {
        let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        set_validity(&mut params, Duration::from_secs(365 * 24 * 3600));
        if expired {
            let now = time::OffsetDateTime::now_utc();
            params.not_before = now - time::Duration::days(366);
            params.not_after = now - time::Duration::days(1);
        }
        let cert = params.self_signed(&key)?;
        let der = cert.der().to_vec();
        let sha1 = Sha1::digest(&der);
        Ok(IdentityCertificate {
            x5t: URL_SAFE_NO_PAD.encode(sha1),
            x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
            thumbprint_hex: hex::encode_upper(sha1),
            public_key_der: key.public_key_raw().to_vec(),
            pem_with_key: format!("{}{}", cert.pem(), key.serialize_pem()),
            key_pem: key.serialize_pem(),
            cert_der: der,
            not_before: params.not_before,
            not_after: params.not_after,
        })
    }
}

/// Certificates of every scenario identity with `certificate = true`, by identity name.
#[derive(Default)]
pub struct IdentityCertificates {
    by_name: BTreeMap<String, IdentityCertificate>,
}

impl IdentityCertificates {
    pub fn generate(scenario: &Scenario) -> anyhow::Result<IdentityCertificates> {
        let mut by_name = BTreeMap::new();
        for identity in scenario
            .identities
            .iter()
            .filter(|i| i.certificate.is_present())
        {
            let expired = identity.certificate == CertificateSpec::Expired;
            by_name.insert(
                identity.name().to_string(),
                IdentityCertificate::generate_valid(identity.name(), expired)?,
            );
        }
        Ok(IdentityCertificates { by_name })
    }
    pub fn get(&self, identity_name: &str) -> Option<&IdentityCertificate> {
        self.by_name.get(identity_name)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &IdentityCertificate)> {
        self.by_name.iter()
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Backdated a day so clocks that disagree a little still accept the certificate.
fn set_validity(params: &mut CertificateParams, lifetime: Duration) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + lifetime;
}

/// The CA certificate in DER, from its PEM (for tests and for clients that want DER).
pub fn pem_to_der(pem: &str) -> Option<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes()).next()?.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_cached_and_name_their_host() {
        let ca = Authority::generate().unwrap();
        let a = ca.leaf("Login.MicrosoftOnline.com").unwrap();
        let b = ca.leaf("login.microsoftonline.com").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let ip = ca.leaf("169.254.169.254").unwrap();
        assert!(!Arc::ptr_eq(&a, &ip));
        assert!(ca.leaf("bad host name with spaces").is_err());
    }

    #[test]
    fn identity_certificate_thumbprints_match_its_der() {
        let cert = IdentityCertificate::generate("ci-app").unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&cert.x5t).unwrap(),
            hex::decode(&cert.thumbprint_hex).unwrap()
        );
        assert!(cert.pem_with_key.contains("BEGIN CERTIFICATE"));
        assert!(cert.pem_with_key.contains("BEGIN PRIVATE KEY"));
    }
}
