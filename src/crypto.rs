//! What `storage.secret_key` protects: agents' refresh tokens sealed at rest (ChaCha20-Poly1305
//! from `ring`, a fresh random nonce per seal) and OAuth `state` values signed with HMAC-SHA256.
//! Both keys are derived from the secret with HKDF, each for its own purpose, so the secret
//! itself is never used directly.

use base64::Engine as _;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::{hkdf, hmac};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("cannot derive keys from storage.secret_key")]
    Derive,
    #[error("no randomness available")]
    Random,
    #[error("sealed value is damaged or was sealed with another storage.secret_key")]
    Open,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The keys derived from `storage.secret_key`.
pub struct Keys {
    seal: LessSafeKey,
    sign: hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(…)")
    }
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl Keys {
    pub fn derive(secret: &[u8]) -> Result<Keys, CryptoError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"deskcliq/v1").extract(secret);
        let mut seal_key = [0u8; 32];
        prk.expand(&[b"agent-token-encryption"], Len(32))
            .and_then(|okm| okm.fill(&mut seal_key))
            .map_err(|_| CryptoError::Derive)?;
        let mut sign_key = [0u8; 32];
        prk.expand(&[b"oauth-state-signing"], Len(32))
            .and_then(|okm| okm.fill(&mut sign_key))
            .map_err(|_| CryptoError::Derive)?;
        let unbound = UnboundKey::new(&aead::CHACHA20_POLY1305, &seal_key)
            .map_err(|_| CryptoError::Derive)?;
        Ok(Keys {
            seal: LessSafeKey::new(unbound),
            sign: hmac::Key::new(hmac::HMAC_SHA256, &sign_key),
            rng: SystemRandom::new(),
        })
    }

    /// Random bytes, as lowercase hex.
    pub fn random_hex(&self, bytes: usize) -> Result<String, CryptoError> {
        let mut b = vec![0u8; bytes];
        self.rng.fill(&mut b).map_err(|_| CryptoError::Random)?;
        Ok(b.iter().map(|x| format!("{x:02x}")).collect())
    }

    /// `plain` sealed and bound to `context` (which must be given again to open it):
    /// base64url of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut data = plain.to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| CryptoError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(B64.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let raw = B64.decode(sealed.trim()).map_err(|_| CryptoError::Open)?;
        if raw.len() < aead::NONCE_LEN + aead::CHACHA20_POLY1305.tag_len() {
            return Err(CryptoError::Open);
        }
        let (nonce, data) = raw.split_at(aead::NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
        let mut data = data.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| CryptoError::Open)?;
        Ok(plain.to_vec())
    }

    /// `payload` with its signature: `base64url(payload).base64url(hmac)`.
    pub fn sign(&self, payload: &[u8]) -> String {
        let tag = hmac::sign(&self.sign, payload);
        format!("{}.{}", B64.encode(payload), B64.encode(tag.as_ref()))
    }

    /// The payload of a value made by [`Keys::sign`], if its signature holds.
    pub fn verify(&self, signed: &str) -> Option<Vec<u8>> {
        let (p, t) = signed.trim().split_once('.')?;
        let payload = B64.decode(p).ok()?;
        let tag = B64.decode(t).ok()?;
        hmac::verify(&self.sign, &payload, &tag).ok()?;
        Some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> Keys {
        Keys::derive(secret.as_bytes()).unwrap()
    }

    #[test]
    fn sealed_tokens_open_only_with_the_same_key_and_context() {
        let k = keys("0123456789abcdef0123456789abcdef-one");
        let sealed = k.seal(b"1000.refresh-token", "agent:1").unwrap();
        assert!(!sealed.contains("refresh"));
        assert_eq!(k.open(&sealed, "agent:1").unwrap(), b"1000.refresh-token");
        assert_eq!(k.open(&sealed, "agent:2"), Err(CryptoError::Open));
        let other = keys("0123456789abcdef0123456789abcdef-two");
        assert_eq!(other.open(&sealed, "agent:1"), Err(CryptoError::Open));
        // Each seal uses a fresh nonce.
        assert_ne!(sealed, k.seal(b"1000.refresh-token", "agent:1").unwrap());
        let mut damaged = sealed.clone();
        damaged.replace_range(20..21, if &sealed[20..21] == "A" { "B" } else { "A" });
        assert_eq!(k.open(&damaged, "agent:1"), Err(CryptoError::Open));
    }

    #[test]
    fn signed_values_verify_only_unaltered_and_with_the_same_key() {
        let k = keys("0123456789abcdef0123456789abcdef-one");
        let s = k.sign(br#"{"u":"1"}"#);
        assert_eq!(k.verify(&s).unwrap(), br#"{"u":"1"}"#);
        let (p, t) = s.split_once('.').unwrap();
        let forged = format!("{}.{t}", B64.encode(br#"{"u":"2"}"#));
        assert!(k.verify(&forged).is_none());
        assert!(k.verify(p).is_none());
        assert!(
            keys("0123456789abcdef0123456789abcdef-two")
                .verify(&s)
                .is_none()
        );
    }
}
