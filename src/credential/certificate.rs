//! Certificate credentials: the tool signs the client assertion itself (azure_identity's
//! certificate credential needs OpenSSL). RS256, header `x5t` = base64url SHA-1 of the
//! certificate DER, `aud` = the token endpoint, `iss` = `sub` = client id, fresh `jti`, 10-minute
//! lifetime. Signed anew for every token request.

use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;
use base64::Engine;
use sha1::{Digest, Sha1};
use std::path::Path;

pub struct CertificateSigner {
    key: jsonwebtoken::EncodingKey,
    /// base64url SHA-1 of the certificate DER.
    x5t: String,
    thumbprint_hex: String,
    audience: String,
    client_id: String,
}

impl std::fmt::Debug for CertificateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateSigner")
            .field("thumbprint", &self.thumbprint_hex)
            .finish_non_exhaustive()
    }
}

impl CertificateSigner {
    /// Read a PEM file holding the certificate and its private key, or a PFX (PKCS#12) file
    /// opened with `password`. Errors are plain sentences
    /// naming the file; they never quote its content.
    pub fn load(
        path: &Path,
        password: Option<&str>,
        authority_host: &str,
        tenant: &str,
        client_id: &str,
    ) -> Result<CertificateSigner, String> {
        let shown = path.display();
        let bytes = crate::input::read_file(
            path,
            "AZURE_CLIENT_CERTIFICATE_PATH",
            crate::input::FILE_LIMIT,
        )?;
        let looks_like_pem = bytes.windows(11).any(|w| w == b"-----BEGIN ");
        let (cert_der, key_pem) = if looks_like_pem {
            split_pem(&bytes, &shown.to_string())?
        } else {
            read_pfx(&bytes, password.unwrap_or_default(), &shown.to_string())?
        };
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes())
            .map_err(|e| format!("the private key in {shown} is not a usable RSA key: {e}"))?;
        let digest = Sha1::digest(&cert_der);
        let signer = CertificateSigner {
            key,
            x5t: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest),
            thumbprint_hex: hex::encode_upper(digest),
            audience: format!(
                "{}/{}/oauth2/v2.0/token",
                authority_host.trim_end_matches('/'),
                tenant
            ),
            client_id: client_id.to_string(),
        };
        // jsonwebtoken reads the key only when it signs: a damaged key (found by fuzzing) would
        // load, then fail at the token request and be reported as the token endpoint's failure
        // instead of this file's.
        signer
            .sign()
            .map_err(|e| format!("the private key in {shown} is not a usable RSA key: {e}"))?;
        Ok(signer)
    }

    pub fn thumbprint_hex(&self) -> String {
        self.thumbprint_hex.clone()
    }

    pub fn sign(&self) -> Result<String, String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.x5t = Some(self.x5t.clone());
        let claims = serde_json::json!({
            "aud": self.audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("signing the client assertion failed: {e}"))
    }
}

/// The leaf certificate (DER) and private key (PEM text) of a PFX/PKCS#12 file.
fn read_pfx(bytes: &[u8], password: &str, shown: &str) -> Result<(Vec<u8>, String), String> {
    let store = p12_keystore::KeyStore::from_pkcs12(
        bytes,
        password,
        p12_keystore::Pkcs12ImportPolicy::Strict,
    )
    .map_err(|e| {
        format!(
            "{shown} is neither PEM nor a PFX this password opens ({e}); check AZURE_CLIENT_CERTIFICATE_PASSWORD"
        )
    })?;
    let (_, chain) = store
        .private_key_chain()
        .ok_or_else(|| format!("{shown} holds no private key with its certificate"))?;
    let cert = chain
        .certs()
        .first()
        .ok_or_else(|| format!("{shown} holds a private key without its certificate"))?;
    Ok((
        cert.as_der().to_vec(),
        pem_text("PRIVATE KEY", chain.key().as_der()),
    ))
}

/// The first certificate (as DER) and the private key (as PEM text) in a PEM file.
fn split_pem(bytes: &[u8], shown: &str) -> Result<(Vec<u8>, String), String> {
    let mut cert = None;
    let mut key = None;
    let mut reader = std::io::BufReader::new(bytes);
    for item in rustls_pemfile::read_all(&mut reader) {
        let item = item.map_err(|e| format!("{shown} is not a valid PEM file: {e}"))?;
        match item {
            rustls_pemfile::Item::X509Certificate(der) if cert.is_none() => {
                cert = Some(der.as_ref().to_vec())
            }
            rustls_pemfile::Item::Pkcs1Key(k) if key.is_none() => {
                key = Some(pem_text("RSA PRIVATE KEY", k.secret_pkcs1_der()))
            }
            rustls_pemfile::Item::Pkcs8Key(k) if key.is_none() => {
                key = Some(pem_text("PRIVATE KEY", k.secret_pkcs8_der()))
            }
            rustls_pemfile::Item::Sec1Key(_) => {
                return Err(format!(
                    "{shown} holds an EC key; Entra certificate credentials here need an RSA key"
                ));
            }
            _ => {}
        }
    }
    match (cert, key) {
        (Some(c), Some(k)) => Ok((c, k)),
        (None, _) => Err(format!(
            "{shown} holds no certificate (-----BEGIN CERTIFICATE-----); it must hold the certificate and its private key"
        )),
        (_, None) => Err(format!(
            "{shown} holds no unencrypted private key (-----BEGIN PRIVATE KEY----- or RSA PRIVATE KEY); it must hold the certificate and its private key"
        )),
    }
}

fn pem_text(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[async_trait::async_trait]
impl ClientAssertion for CertificateSigner {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.sign().map_err(|message| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity_pem() -> (String, Vec<u8>, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["ci-app".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pem = format!("{}{}", cert.pem(), key.serialize_pem());
        (pem, cert.der().to_vec(), key)
    }

    #[test]
    fn signs_an_assertion_entra_accepts_the_shape_of() {
        let (pem, der, key) = identity_pem();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ci-app.pem");
        std::fs::write(&path, pem).unwrap();
        let signer = CertificateSigner::load(
            &path,
            None,
            "https://login.microsoftonline.com/",
            "tenant-1",
            "client-1",
        )
        .unwrap();
        let jwt = signer.sign().unwrap();

        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        let expected_x5t =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha1::digest(&der));
        assert_eq!(header.x5t.as_deref(), Some(expected_x5t.as_str()));

        // The signature verifies with the certificate's public key.
        let public =
            jsonwebtoken::DecodingKey::from_rsa_pem(key.public_key_pem().as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&jwt, &public, &validation)
            .expect("valid signature");
        let claims = crate::claims::decode(&jwt).unwrap();
        assert_eq!(
            claims.aud.as_deref(),
            Some("https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token")
        );
        assert_eq!(claims.iss.as_deref(), Some("client-1"));
        assert_eq!(claims.sub.as_deref(), Some("client-1"));
        assert!(claims.other.contains_key("jti"));
        assert_eq!(claims.exp.unwrap() - claims.nbf.unwrap(), 600);
        assert_eq!(signer.thumbprint_hex().len(), 40);
    }

    #[test]
    fn pfx_files_sign_with_the_same_thumbprint_as_their_pem() {
        let (pem, der, key) = identity_pem();
        let dir = tempfile::tempdir().unwrap();
        let pem_path = dir.path().join("id.pem");
        std::fs::write(&pem_path, &pem).unwrap();
        let chain = p12_keystore::PrivateKeyChain::new(
            &b"1"[..],
            p12_keystore::PrivateKey::from_der(&key.serialize_der()).unwrap(),
            [p12_keystore::Certificate::from_der(&der).unwrap()],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry("id", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
        let pfx = store
            .writer("pfx-password")
            .encryption_iterations(100)
            .mac_iterations(100)
            .write()
            .unwrap();
        let pfx_path = dir.path().join("id.pfx");
        std::fs::write(&pfx_path, pfx).unwrap();

        let from_pem = CertificateSigner::load(&pem_path, None, "https://x", "t", "c").unwrap();
        let from_pfx =
            CertificateSigner::load(&pfx_path, Some("pfx-password"), "https://x", "t", "c")
                .unwrap();
        assert_eq!(from_pem.thumbprint_hex(), from_pfx.thumbprint_hex());
        let public =
            jsonwebtoken::DecodingKey::from_rsa_pem(key.public_key_pem().as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&from_pfx.sign().unwrap(), &public, &validation)
            .expect("the PFX key signs");

        let err =
            CertificateSigner::load(&pfx_path, Some("wrong"), "https://x", "t", "c").unwrap_err();
        assert!(
            err.contains("id.pfx") && !err.contains("pfx-password"),
            "{err}"
        );
    }

    #[test]
    fn bad_files_are_named_without_quoting_them() {
        let dir = tempfile::tempdir().unwrap();
        let only_cert = dir.path().join("only-cert.pem");
        let (pem, _, _) = identity_pem();
        let cert_part = pem.split("-----BEGIN PRIVATE KEY-----").next().unwrap();
        std::fs::write(&only_cert, cert_part).unwrap();
        let err = CertificateSigner::load(&only_cert, None, "https://x", "t", "c").unwrap_err();
        assert!(
            err.contains("only-cert.pem") && err.contains("no unencrypted private key"),
            "{err}"
        );

        let pfx = dir.path().join("cert.pfx");
        std::fs::write(&pfx, [0x30, 0x82, 0x01, 0x00]).unwrap();
        let err = CertificateSigner::load(&pfx, Some("pw"), "https://x", "t", "c").unwrap_err();
        assert!(
            err.contains("cert.pfx") && err.contains("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
            "{err}"
        );

        let missing = dir.path().join("missing.pem");
        let err = CertificateSigner::load(&missing, None, "https://x", "t", "c").unwrap_err();
        assert!(err.contains("missing.pem"), "{err}");
    }
}
