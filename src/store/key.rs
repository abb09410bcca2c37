//! How the store's keys are written: in bytes that sort as the keys do.

/// A key that orders in the tree as it orders in Rust.
pub trait Key: Sized {
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Option<Self>;
}

impl Key for u64 {
    fn encode(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(u64::from_be_bytes(bytes.try_into().ok()?))
    }
}

impl Key for String {
    fn encode(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

/// `(text, number)`: groups by the text, then orders by the number (e.g. ticket id, due time).
impl Key for (String, u64) {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 9);
        out.extend_from_slice(self.0.as_bytes());
        out.push(0);
        out.extend_from_slice(&self.1.to_be_bytes());
        out
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let split = bytes.len().checked_sub(9)?;
        if bytes[split] != 0 {
            return None;
        }
        let text = String::from_utf8(bytes[..split].to_vec()).ok()?;
        let num = u64::from_be_bytes(bytes[split + 1..].try_into().ok()?);
        Some((text, num))
    }
}
