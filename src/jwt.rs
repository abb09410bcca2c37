//! RS256 JWTs and RSA keys: verifying Desk's `X-ZDesk-JWT` against a JWKS, and (for the
//! simulator) signing them. ring does the cryptography; this module does the encoding.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("malformed JWT: {0}")]
    Malformed(&'static str),
    #[error("unsupported JWT algorithm {0} (only RS256)")]
    Algorithm(String),
    #[error("no key with kid {0:?} in the JWKS")]
    UnknownKey(Option<String>),
    #[error("bad JWT signature")]
    Signature,
    #[error("bad key: {0}")]
    Key(String),
    #[error("JWT claim {claim}: {reason}")]
    Claim { claim: &'static str, reason: String },
}

/// One RSA key of a JWKS (`kty = RSA`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default = "rsa")]
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Modulus, base64url without padding.
    pub n: String,
    /// Exponent, base64url without padding.
    pub e: String,
}

fn rsa() -> String {
    "RSA".to_string()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The RSA keys; a key of another type (`EC`, `oct`…) or one this module cannot read is
    /// left out, not a reason to refuse the whole set (RFC 7517 §5).
    #[serde(deserialize_with = "readable_keys")]
    pub keys: Vec<Jwk>,
}

fn readable_keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Jwk>, D::Error> {
    let keys = Vec::<serde_json::Value>::deserialize(d)?;
    Ok(keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .collect())
}

/// The body of a PEM block (any label) as DER.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, JwtError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|_| JwtError::Key("PEM body is not base64".into()))
}

/// Reads one DER TLV at the start of `input`: (tag, value, rest).
fn der_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), JwtError> {
    let bad = || JwtError::Key("truncated DER".into());
    let (&tag, rest) = input.split_first().ok_or_else(bad)?;
    let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(bad());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` → (n, e) without
/// leading zero bytes.
pub fn rsa_components_from_pkcs1(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    let (tag, seq, _) = der_tlv(der)?;
    if tag != 0x30 {
        return Err(JwtError::Key("RSAPublicKey is not a SEQUENCE".into()));
    }
    let (t1, n, rest) = der_tlv(seq)?;
    let (t2, e, _) = der_tlv(rest)?;
    if t1 != 0x02 || t2 != 0x02 {
        return Err(JwtError::Key("RSAPublicKey fields are not INTEGERs".into()));
    }
    let strip = |b: &[u8]| {
        let i = b.iter().position(|x| *x != 0).unwrap_or(b.len());
        b[i..].to_vec()
    };
    Ok((strip(n), strip(e)))
}

/// `SubjectPublicKeyInfo` (a `-----BEGIN PUBLIC KEY-----` PEM) → the inner `RSAPublicKey` DER.
pub fn pkcs1_from_spki(der: &[u8]) -> Result<Vec<u8>, JwtError> {
    let (tag, spki, _) = der_tlv(der)?;
    if tag != 0x30 {
        return Err(JwtError::Key(
            "SubjectPublicKeyInfo is not a SEQUENCE".into(),
        ));
    }
    let (_, _alg, rest) = der_tlv(spki)?;
    let (tag, bits, _) = der_tlv(rest)?;
    match (tag, bits.split_first()) {
        (0x03, Some((0, key))) => Ok(key.to_vec()),
        _ => Err(JwtError::Key(
            "SubjectPublicKeyInfo has no key BIT STRING".into(),
        )),
    }
}

/// An RSA public key from a PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`), as (n, e).
pub fn rsa_public_from_pem(pem: &str) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    let der = pem_to_der(pem)?;
    if pem.contains("BEGIN RSA PUBLIC KEY") {
        rsa_components_from_pkcs1(&der)
    } else {
        rsa_components_from_pkcs1(&pkcs1_from_spki(&der)?)
    }
}

/// Verifies an RSASSA-PKCS1-v1_5 SHA-256 signature.
pub fn verify_rsa_sha256(n: &[u8], e: &[u8], message: &[u8], sig: &[u8]) -> bool {
    RsaPublicKeyComponents { n, e }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
        .is_ok()
}

/// A signing key (PKCS#8 RSA) with its key id.
pub struct SigningKey {
    pair: RsaKeyPair,
    pub kid: String,
}

impl SigningKey {
    pub fn from_pkcs8_pem(pem: &str, kid: &str) -> Result<SigningKey, JwtError> {
        let der = pem_to_der(pem)?;
        let pair = RsaKeyPair::from_pkcs8(&der).map_err(|e| JwtError::Key(e.to_string()))?;
        Ok(SigningKey {
            pair,
            kid: kid.to_string(),
        })
    }

    /// The public half as a JWK.
    pub fn jwk(&self) -> Result<Jwk, JwtError> {
        let (n, e) = rsa_components_from_pkcs1(self.pair.public().as_ref())?;
        Ok(Jwk {
            kid: Some(self.kid.clone()),
            kty: "RSA".into(),
            alg: Some("RS256".into()),
            use_: Some("sig".into()),
            n: URL_SAFE_NO_PAD.encode(n),
            e: URL_SAFE_NO_PAD.encode(e),
        })
    }

    /// RSASSA-PKCS1-v1_5 SHA-256 over `message`.
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, JwtError> {
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .map_err(|_| JwtError::Key("signing failed".into()))?;
        Ok(sig)
    }

    /// A compact RS256 JWT with this key's `kid`.
    pub fn sign_jwt(&self, claims: &serde_json::Value) -> Result<String, JwtError> {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.sign_raw(signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// The `kid` of a token's header, without verifying anything (to pick or refetch a JWKS).
pub fn peek_kid(token: &str) -> Result<Option<String>, JwtError> {
    let header = token
        .split('.')
        .next()
        .ok_or(JwtError::Malformed("empty"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("header is not base64url"))?;
    let h: Header =
        serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed("header is not JSON"))?;
    Ok(h.kid)
}

/// Verifies an RS256 token against `jwks` and returns its claims (not yet validated).
pub fn verify(token: &str, jwks: &Jwks) -> Result<serde_json::Value, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three dot-separated parts"));
    };
    let decode = |s: &str, what| {
        URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| JwtError::Malformed(what))
    };
    let header: Header = serde_json::from_slice(&decode(h64, "header is not base64url")?)
        .map_err(|_| JwtError::Malformed("header is not JSON"))?;
    if header.alg != "RS256" {
        return Err(JwtError::Algorithm(header.alg));
    }
    let candidates: Vec<&Jwk> = jwks
        .keys
        .iter()
        .filter(|k| k.kty == "RSA")
        // A key published for encryption, or for another algorithm, signs nothing here.
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == "RS256"))
        .filter(|k| header.kid.is_none() || k.kid == header.kid)
        .collect();
    if candidates.is_empty() {
        return Err(JwtError::UnknownKey(header.kid));
    }
    let sig = decode(s64, "signature is not base64url")?;
    let signing_input = &token.trim()[..h64.len() + 1 + p64.len()];
    let verified = candidates.iter().any(|k| {
        match (URL_SAFE_NO_PAD.decode(&k.n), URL_SAFE_NO_PAD.decode(&k.e)) {
            (Ok(n), Ok(e)) => verify_rsa_sha256(&n, &e, signing_input.as_bytes(), &sig),
            _ => false,
        }
    });
    if !verified {
        return Err(JwtError::Signature);
    }
    serde_json::from_slice(&decode(p64, "payload is not base64url")?)
        .map_err(|_| JwtError::Malformed("payload is not JSON"))
}

/// A numeric claim given as a number or a numeric string.
fn numeric_claim(claims: &serde_json::Value, name: &str) -> Option<i64> {
    match claims.get(name)? {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Epoch seconds from a time claim that Desk may send in seconds or milliseconds.
fn epoch_seconds(v: i64) -> i64 {
    // 10^11 s is the year 5138: anything larger is milliseconds.
    if v.unsigned_abs() >= 100_000_000_000 {
        v / 1000
    } else {
        v
    }
}

/// Checks a Desk webhook JWT's claims: `iss = orgId:<org>`, `aud = webhookId:<id>` when the
/// webhook id is known (a string or an array holding it), `exp` (s or ms) not past, `nbf` and
/// `iat` (s or ms, when present) not in the future, with `leeway_secs` for clock skew.
pub fn validate_desk_claims(
    claims: &serde_json::Value,
    org_id: &str,
    webhook_id: Option<&str>,
    now_secs: i64,
    leeway_secs: i64,
) -> Result<(), JwtError> {
    let iss = claims.get("iss").and_then(|v| v.as_str()).unwrap_or("");
    if iss != format!("orgId:{org_id}") {
        return Err(JwtError::Claim {
            claim: "iss",
            reason: format!("expected orgId:{org_id}"),
        });
    }
    if let Some(id) = webhook_id {
        let want = format!("webhookId:{id}");
        let ok = match claims.get("aud") {
            Some(serde_json::Value::String(s)) => *s == want,
            Some(serde_json::Value::Array(items)) => {
                items.iter().any(|a| a.as_str() == Some(&want))
            }
            _ => false,
        };
        if !ok {
            return Err(JwtError::Claim {
                claim: "aud",
                reason: format!("expected {want}"),
            });
        }
    }
    let exp = numeric_claim(claims, "exp").ok_or(JwtError::Claim {
        claim: "exp",
        reason: "missing".into(),
    })?;
    if epoch_seconds(exp).saturating_add(leeway_secs) < now_secs {
        return Err(JwtError::Claim {
            claim: "exp",
            reason: "expired".into(),
        });
    }
    // A token not valid yet, or issued later than now, is not one Desk signed for this delivery.
    for claim in ["nbf", "iat"] {
        if let Some(t) = numeric_claim(claims, claim)
            && epoch_seconds(t).saturating_sub(leeway_secs) > now_secs
        {
            return Err(JwtError::Claim {
                claim,
                reason: "in the future".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!("sim/keys/desk-jwt.pkcs8.pem");
    const PUBLIC: &str = include_str!("sim/keys/desk-jwt.pub.pem");

    fn key() -> SigningKey {
        SigningKey::from_pkcs8_pem(PRIVATE, "k1").unwrap()
    }

    #[test]
    fn signed_token_verifies_with_the_jwks_and_not_when_tampered() {
        let k = key();
        let jwks = Jwks {
            keys: vec![k.jwk().unwrap()],
        };
        let claims =
            serde_json::json!({"iss": "orgId:1", "aud": "webhookId:2", "exp": 2_000_000_000});
        let token = k.sign_jwt(&claims).unwrap();
        assert_eq!(verify(&token, &jwks).unwrap(), claims);
        assert_eq!(peek_kid(&token).unwrap().as_deref(), Some("k1"));

        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(r#"{"iss":"orgId:666","exp":2000000000}"#);
        assert_eq!(verify(&parts.join("."), &jwks), Err(JwtError::Signature));
        let other = Jwks {
            keys: vec![Jwk {
                kid: Some("k2".into()),
                ..k.jwk().unwrap()
            }],
        };
        assert_eq!(
            verify(&token, &other),
            Err(JwtError::UnknownKey(Some("k1".into())))
        );
    }

    #[test]
    fn a_jwks_holding_keys_of_other_types_still_verifies_with_its_rsa_key() {
        let k = key();
        let rsa = serde_json::to_value(k.jwk().unwrap()).unwrap();
        let set = serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "ec1", "use": "sig",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            rsa,
        ]});
        let jwks: Jwks = serde_json::from_value(set).unwrap();
        assert_eq!(jwks.keys, vec![k.jwk().unwrap()]);
        let claims = serde_json::json!({"iss": "orgId:1", "exp": 2_000_000_000});
        assert_eq!(
            verify(&k.sign_jwt(&claims).unwrap(), &jwks).unwrap(),
            claims
        );
        // Not even one key: still a set (of none), which verifies nothing.
        let none: Jwks = serde_json::from_value(serde_json::json!({"keys": []})).unwrap();
        assert!(none.keys.is_empty());
    }

    #[test]
    fn a_key_published_for_encryption_or_another_algorithm_verifies_nothing() {
        let k = key();
        let claims = serde_json::json!({"iss": "orgId:1", "exp": 2_000_000_000});
        let token = k.sign_jwt(&claims).unwrap();
        for (field, value) in [("use", "enc"), ("alg", "RS512")] {
            let mut jwk = serde_json::to_value(k.jwk().unwrap()).unwrap();
            jwk[field] = value.into();
            let jwks: Jwks = serde_json::from_value(serde_json::json!({"keys": [jwk]})).unwrap();
            assert!(verify(&token, &jwks).is_err(), "{field} = {value}");
        }
        // Without `use` and `alg` (both optional in RFC 7517), the key still verifies.
        let mut jwk = serde_json::to_value(k.jwk().unwrap()).unwrap();
        jwk.as_object_mut()
            .unwrap()
            .retain(|f, _| f != "use" && f != "alg");
        let jwks: Jwks = serde_json::from_value(serde_json::json!({"keys": [jwk]})).unwrap();
        assert_eq!(verify(&token, &jwks).unwrap(), claims);
    }

    #[test]
    fn the_public_pem_matches_the_jwk() {
        let (n, e) = rsa_public_from_pem(PUBLIC).unwrap();
        let jwk = key().jwk().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(n), jwk.n);
        assert_eq!(URL_SAFE_NO_PAD.encode(e), jwk.e);
    }

    #[test]
    fn desk_claims_accept_exp_in_seconds_or_milliseconds() {
        let now = 1_700_000_000;
        let ok_s = serde_json::json!({"iss": "orgId:5", "aud": "webhookId:9", "exp": now + 60});
        let ok_ms =
            serde_json::json!({"iss": "orgId:5", "aud": ["webhookId:9"], "exp": (now + 60) * 1000});
        assert!(validate_desk_claims(&ok_s, "5", Some("9"), now, 0).is_ok());
        assert!(validate_desk_claims(&ok_ms, "5", Some("9"), now, 0).is_ok());
        let expired = serde_json::json!({"iss": "orgId:5", "exp": (now - 600) * 1000});
        assert!(validate_desk_claims(&expired, "5", None, now, 30).is_err());
        assert!(validate_desk_claims(&ok_s, "6", None, now, 0).is_err());
        assert!(validate_desk_claims(&ok_s, "5", Some("8"), now, 0).is_err());
    }

    #[test]
    fn desk_claims_not_valid_yet_or_issued_in_the_future_are_refused() {
        let now = 1_700_000_000;
        let with = |claim: &str, t: i64| {
            let mut c = serde_json::json!({"iss": "orgId:5", "exp": now + 600});
            c[claim] = serde_json::json!(t);
            validate_desk_claims(&c, "5", None, now, 60)
        };
        for claim in ["nbf", "iat"] {
            // Within the leeway, past, in seconds or in milliseconds: taken.
            assert!(with(claim, now + 60).is_ok(), "{claim}");
            assert!(with(claim, (now - 5) * 1000).is_ok(), "{claim}");
            // Beyond the leeway, in seconds or in milliseconds: refused, naming the claim.
            for t in [now + 300, (now + 300) * 1000] {
                assert!(
                    matches!(with(claim, t), Err(JwtError::Claim { claim: c, .. }) if c == claim),
                    "{claim} {t}"
                );
            }
        }
        // Extreme values are refused or taken, never a panic.
        assert!(with("iat", i64::MIN).is_ok());
        assert!(with("nbf", i64::MAX).is_err());
    }
}
