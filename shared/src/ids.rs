//! Identifiers: spaces, devices, records and operations, with their hex text forms.
//!
//! A [`DeviceId`] is the device's 32-byte Ed25519 public key. A [`RecordId`] is derived from the
//! operation that creates the record, so two devices can never create the same record id.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a text form of an identifier was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdParseError {
    #[error("identifier must be {expected} hexadecimal characters, got {got}")]
    WrongLength { expected: usize, got: usize },
    #[error("identifier contains a character that is not hexadecimal")]
    NotHex,
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], IdParseError> {
    let s = s.trim();
    if s.len() != N * 2 {
        return Err(IdParseError::WrongLength {
            expected: N * 2,
            got: s.chars().count(),
        });
    }
    let mut out = [0u8; N];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hi = (chunk[0] as char)
            .to_digit(16)
            .ok_or(IdParseError::NotHex)?;
        let lo = (chunk[1] as char)
            .to_digit(16)
            .ok_or(IdParseError::NotHex)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Ok(out)
}

macro_rules! byte_id {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
            /// The first four bytes in hex: enough to tell ids apart on a screen.
            pub fn short(&self) -> String {
                self.0[..4].iter().map(|b| format!("{b:02x}")).collect()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex::<$len>(s).map($name)
            }
        }
    };
}

byte_id!(
    /// One staff's shared workspace (a space), 128 random bits chosen at creation.
    SpaceId,
    16
);
byte_id!(
    /// A device: its 32-byte Ed25519 public key.
    DeviceId,
    32
);
byte_id!(
    /// A record (task, report, entry, ...), derived from the operation that created it.
    RecordId,
    16
);

impl RecordId {
    /// The id of the record created by operation `op`. Every creating operation must use it,
    /// which makes record ids unique without coordination.
    pub fn for_create(op: &OpId) -> RecordId {
        let mut h = Sha256::new();
        h.update(b"krizlink/record/v1");
        h.update(op.device.0);
        h.update(op.seq.to_be_bytes());
        let digest = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        RecordId(id)
    }
}

/// An operation's identity: its author device and that device's sequence number in the space.
/// Sequence numbers start at 1 and have no gaps.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId {
    pub device: DeviceId,
    pub seq: u64,
}

impl fmt::Debug for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.device.short(), self.seq)
    }
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.device, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let id = SpaceId([0xab; 16]);
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<SpaceId>(), Ok(id));
        assert_eq!(
            "abc".parse::<SpaceId>(),
            Err(IdParseError::WrongLength {
                expected: 32,
                got: 3
            })
        );
        assert_eq!(
            "zz".repeat(16).parse::<SpaceId>(),
            Err(IdParseError::NotHex)
        );
        // Multi-byte characters never panic the parser.
        assert!("ř".repeat(16).parse::<SpaceId>().is_err());
        assert!("řř".repeat(8).parse::<SpaceId>().is_err());
    }

    #[test]
    fn record_ids_differ_per_creating_op() {
        let d = DeviceId([1; 32]);
        let a = RecordId::for_create(&OpId { device: d, seq: 1 });
        let b = RecordId::for_create(&OpId { device: d, seq: 2 });
        let c = RecordId::for_create(&OpId {
            device: DeviceId([2; 32]),
            seq: 1,
        });
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, RecordId::for_create(&OpId { device: d, seq: 1 }));
    }
}
