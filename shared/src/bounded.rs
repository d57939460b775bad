//! Collections with a hard element bound that holds while decoding untrusted bytes.
//!
//! serde's `Vec` preallocates from the length the input claims (up to 1 MiB). A [`BoundedVec`]
//! never reserves more than its bound and refuses an element past it, so a forged length
//! prefix costs nothing and an oversized list is a decode error, not an allocation.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;

use serde::de::{SeqAccess, Visitor};
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
        struct BoundedVisitor<T, const N: usize>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for BoundedVisitor<T, N> {
            type Value = BoundedVec<T, N>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of at most {N} elements")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let claimed = seq.size_hint().unwrap_or(0);
                if claimed > N {
                    return Err(serde::de::Error::invalid_length(claimed, &self));
                }
                let mut items = Vec::with_capacity(claimed);
                while let Some(item) = seq.next_element()? {
                    if items.len() >= N {
                        return Err(serde::de::Error::invalid_length(N + 1, &self));
                    }
                    items.push(item);
                }
                Ok(BoundedVec(items))
            }
        }

        deserializer.deserialize_seq(BoundedVisitor::<T, N>(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
