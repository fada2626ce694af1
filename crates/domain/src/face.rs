//! A face as Limen keeps it: a small set of vectors per person, each
//! tagged with the model that made it. Never an image.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::values::InvalidValue;

/// The most vectors one person holds (several captures of one sitting).
pub const MAX_VECTORS_PER_PERSON: usize = 5;

/// Which model made a vector. Vectors of different models live in
/// different spaces: they are never compared with each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ModelVersion(String);

impl ModelVersion {
    pub fn new(tag: impl Into<String>) -> ModelVersion {
        ModelVersion(tag.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One facial vector: a non-empty list of finite numbers, wiped from
/// memory when dropped. Its length is the model's business.
#[derive(Clone, PartialEq)]
pub struct FaceVector(Zeroizing<Vec<f32>>);

impl FaceVector {
    pub fn new(values: Vec<f32>) -> Result<FaceVector, InvalidValue> {
        let values = Zeroizing::new(values);
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return Err(InvalidValue::Vector);
        }
        Ok(FaceVector(values))
    }

    pub fn from_slice(values: &[f32]) -> Result<FaceVector, InvalidValue> {
        FaceVector::new(values.to_vec())
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }
}

impl fmt::Debug for FaceVector {
    // The count only: the numbers are biometric data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaceVector(<{} numbers>)", self.0.len())
    }
}

/// As a list of numbers: only ever serialised for the person's own export.
impl Serialize for FaceVector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_finite_and_non_empty() {
        assert!(FaceVector::new(vec![0.5; 128]).is_ok());
        assert_eq!(FaceVector::new(vec![]), Err(InvalidValue::Vector));
        assert_eq!(
            FaceVector::new(vec![0.0, f32::NAN]),
            Err(InvalidValue::Vector)
        );
        assert_eq!(
            FaceVector::new(vec![f32::INFINITY]),
            Err(InvalidValue::Vector)
        );
        let debug = format!("{:?}", FaceVector::new(vec![0.25; 3]).expect("valid"));
        assert!(!debug.contains("0.25"), "{debug}");
    }
}
