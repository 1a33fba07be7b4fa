//! The emulator's token authority: one RSA key, RS256 JWTs with the claims Entra issues.
//!
//! Signing and verification are only ever done here, so every emulated service judges a token
//! the same way Entra minted it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;
use sha1::{Digest, Sha1};

pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// `kid` and `x5t` of issued tokens (Entra sets both to the key's thumbprint).
    pub kid: String,
    /// Base64url modulus and exponent, for the JWKS document.
    pub modulus_b64: String,
    pub exponent_b64: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// Not three dot-separated base64url parts with JSON inside.
    Malformed,
    /// Well-formed, but not signed by this emulator's key.
    BadSignature,
}

impl TokenSigner {
    pub fn generate() -> anyhow::Result<TokenSigner> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?;
        let encoding = EncodingKey::from_rsa_pem(key.serialize_pem().as_bytes())?;
        let public_pkcs1 = key.public_key_raw();
        let decoding = DecodingKey::from_rsa_der(public_pkcs1);
        let (n, e) = rsa_public_components(public_pkcs1)
            .ok_or_else(|| anyhow::anyhow!("generated RSA public key is not PKCS#1 DER"))?;
        let kid = URL_SAFE_NO_PAD.encode(Sha1::digest(public_pkcs1));
        Ok(TokenSigner {
            encoding,
            decoding,
            kid,
            modulus_b64: URL_SAFE_NO_PAD.encode(n),
            exponent_b64: URL_SAFE_NO_PAD.encode(e),
        })
    }

    /// Sign a claims object as `{"typ":"JWT","alg":"RS256","x5t":kid,"kid":kid}`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.kid = Some(self.kid.clone());
        header.x5t = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .expect("RS256 signing with a valid key cannot fail")
    }

    /// Check the signature only and return the claims. Lifetime, audience and tenant are the
    /// caller's to judge, because each emulated service answers them with its own error body.
    pub fn verify(&self, token: &str) -> Result<Value, VerifyError> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        match jsonwebtoken::decode::<Value>(token, &self.decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                    Err(VerifyError::BadSignature)
                }
                _ => Err(VerifyError::Malformed),
            },
        }
    }
}

/// Split a PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
pub fn rsa_public_components(der: &[u8]) -> Option<(&[u8], &[u8])> {
    fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = input.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((&rest[..len], &rest[len..]))
    }
    let (seq, _) = tlv(der, 0x30)?;
    let (n, rest) = tlv(seq, 0x02)?;
    let (e, _) = tlv(rest, 0x02)?;
    let n = n.strip_prefix(&[0u8]).unwrap_or(n);
    Some((n, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_rejects_foreign_signatures() {
        let a = TokenSigner::generate().unwrap();
        let b = TokenSigner::generate().unwrap();
        let claims = serde_json::json!({"aud": "https://cognitiveservices.azure.com", "exp": 1});
        let token = a.sign(&claims);
        assert_eq!(a.verify(&token).unwrap(), claims);
        assert_eq!(b.verify(&token), Err(VerifyError::BadSignature));
        assert_eq!(a.verify("not.a.jwt"), Err(VerifyError::Malformed));
    }
}
