//! Collections with a hard element bound that holds while decoding untrusted bytes.
//!
//! serde's `Vec` preallocates from the length the input claims (up to 1 MiB). A [`BoundedVec`]
//! never reserves more than its bound and refuses an element past it, so a forged length
//! prefix costs nothing and an oversized list is a decode error, not an allocation.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A `Vec` of at most `N` elements.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BoundedVec<T, const N: usize>(Vec<T>);

/// The list would hold more elements than its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("list holds more than {max} elements")]
pub struct TooManyElements {
    pub max: usize,
}

impl<T, const N: usize> BoundedVec<T, N> {
    /// The bound.
    pub const MAX: usize = N;

    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends `item`, or refuses it when the list is full.
    pub fn push(&mut self, item: T) -> Result<(), TooManyElements> {
        if self.0.len() >= N {
            return Err(TooManyElements { max: N });
        }
        self.0.push(item);
        Ok(())
    }

    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T, const N: usize> Default for BoundedVec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> TryFrom<Vec<T>> for BoundedVec<T, N> {
    type Error = TooManyElements;
    fn try_from(v: Vec<T>) -> Result<Self, Self::Error> {
        if v.len() > N {
            return Err(TooManyElements { max: N });
        }
        Ok(Self(v))
    }
}

impl<T, const N: usize> Deref for BoundedVec<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for BoundedVec<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Serialize, const N: usize> Serialize for BoundedVec<T, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for BoundedVec<T, N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(BoundedVisitor::<T, N>(PhantomData))
    }
}

/// Reads a sequence of at most `N` elements; reserves no more than the input claims, within
/// the bound (and at most 64 Ki elements, for the unbounded byte strings below).
struct BoundedVisitor<T, const N: usize>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for BoundedVisitor<T, N> {
    type Value = BoundedVec<T, N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of at most {N} elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let claimed = seq.size_hint().unwrap_or(0);
        if claimed > N {
            return Err(A::Error::invalid_length(claimed, &self));
        }
        let mut items = Vec::with_capacity(claimed.min(64 * 1024));
        while let Some(item) = seq.next_element()? {
            if items.len() >= N {
                return Err(A::Error::invalid_length(N + 1, &self));
            }
            items.push(item);
        }
        Ok(BoundedVec(items))
    }
}

/// Byte strings: `#[serde(with = "crate::bounded::bytes")]` on a `BoundedVec<u8, N>` field.
///
/// postcard writes a byte string exactly as it writes a sequence of `u8` (the length, then the
/// bytes), so the encoding does not change; it is only written and read as one slice instead of
/// one element at a time, which was most of the cost of decoding a large envelope.
pub mod bytes {
    use super::*;

    pub fn serialize<S: Serializer, const N: usize>(
        value: &BoundedVec<u8, N>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&value.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<BoundedVec<u8, N>, D::Error> {
        deserializer
            .deserialize_bytes(ByteVisitor::<N>)
            .map(BoundedVec)
    }
}

/// Reads a byte string of at most `N` bytes, given as bytes (postcard) or as a sequence of
/// numbers (JSON); never reserves more than it has been given.
pub(crate) struct ByteVisitor<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for ByteVisitor<N> {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at most {N} bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        if v.len() > N {
            return Err(E::invalid_length(v.len(), &self));
        }
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        if v.len() > N {
            return Err(E::invalid_length(v.len(), &self));
        }
        Ok(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<u8>, A::Error> {
        BoundedVisitor::<u8, N>(PhantomData)
            .visit_seq(seq)
            .map(BoundedVec::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct AsBytes(#[serde(with = "bytes")] BoundedVec<u8, 8>);

    /// The byte-string path writes what the element-by-element one wrote, and reads it back
    /// with the same bound, from postcard and from JSON.
    #[test]
    fn byte_strings_encode_as_the_sequence_did_and_keep_the_bound() {
        for len in [0usize, 1, 7, 8] {
            let raw: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37)).collect();
            let as_seq: BoundedVec<u8, 8> = raw.clone().try_into().unwrap();
            let seq_bytes = postcard::to_allocvec(&as_seq).unwrap();
            let as_bytes = AsBytes(raw.clone().try_into().unwrap());
            assert_eq!(
                postcard::to_allocvec(&as_bytes).unwrap(),
                seq_bytes,
                "{len}"
            );
            assert_eq!(
                postcard::from_bytes::<AsBytes>(&seq_bytes).unwrap(),
                as_bytes
            );
            let blob = crate::record::Blob(raw.clone());
            assert_eq!(postcard::to_allocvec(&blob).unwrap(), seq_bytes, "{len}");
            assert_eq!(
                postcard::from_bytes::<crate::record::Blob>(&seq_bytes).unwrap(),
                blob
            );
            let json = serde_json::to_string(&as_bytes).unwrap();
            assert_eq!(json, serde_json::to_string(&raw).unwrap());
            assert_eq!(serde_json::from_str::<AsBytes>(&json).unwrap(), as_bytes);
        }
        let nine = postcard::to_allocvec(&(0u8..9).collect::<Vec<u8>>()).unwrap();
        assert!(postcard::from_bytes::<AsBytes>(&nine).is_err());
        assert!(serde_json::from_str::<AsBytes>("[0,1,2,3,4,5,6,7,8]").is_err());
        // A forged length with nothing behind it costs nothing.
        let forged = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(postcard::from_bytes::<AsBytes>(&forged).is_err());
    }

    #[test]
    fn forged_length_prefix_is_refused_before_allocating() {
        // postcard: a varint length of u32::MAX followed by nothing.
        let bytes = [0xff, 0xff, 0xff, 0xff, 0x0f];
        let (result, peak) =
            crate::testing::peak_alloc(|| postcard::from_bytes::<BoundedVec<u64, 8>>(&bytes));
        assert!(result.is_err());
        assert!(peak < 1024, "peak allocation {peak} bytes");
    }

    #[test]
    fn round_trip_and_bound() {
        let v: BoundedVec<u32, 3> = vec![1, 2, 3].try_into().unwrap();
        let bytes = postcard::to_allocvec(&v).unwrap();
        assert_eq!(
            postcard::from_bytes::<BoundedVec<u32, 3>>(&bytes).unwrap(),
            v
        );
        assert!(postcard::from_bytes::<BoundedVec<u32, 2>>(&bytes).is_err());
        let mut w: BoundedVec<u32, 1> = BoundedVec::new();
        assert!(w.push(1).is_ok());
        assert_eq!(w.push(2), Err(TooManyElements { max: 1 }));
        assert!(BoundedVec::<u32, 2>::try_from(vec![1, 2, 3]).is_err());
    }
}
