//! dlib's `shape_predictor`: a cascade of forests of regression trees
//! (Kazemi & Sullivan's "ensemble of regression trees" landmark model).
//!
//! File layout (`shape_predictor.h`): version 1; the initial (mean) shape as
//! a column vector `x0 y0 x1 y1 …` in the unit box; the forests, one per
//! cascade level, each a list of complete binary trees (split nodes in
//! breadth-first order, then the leaves' shape deltas); then, per level, the
//! anchor landmark index and the offset of every feature pixel.

use crate::{FormatError, Reader};

/// A split node: go left when `pixel[idx1] - pixel[idx2] > threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub idx1: usize,
    pub idx2: usize,
    pub threshold: f32,
}

/// A complete binary regression tree: `splits.len() + 1 == leaves.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionTree {
    pub splits: Vec<Split>,
    /// Each leaf adds this delta (one value per shape coordinate) to the shape.
    pub leaves: Vec<Vec<f32>>,
}

/// The whole model, validated: every index it holds is in range.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapePredictorModel {
    /// Mean shape in the unit box, `2 * num_parts` values.
    pub initial_shape: Vec<f32>,
    /// One forest per cascade level.
    pub forests: Vec<Vec<RegressionTree>>,
    /// Per level, per feature pixel: the landmark it is anchored to.
    pub anchor_idx: Vec<Vec<usize>>,
    /// Per level, per feature pixel: its offset from the anchor in the unit box.
    pub deltas: Vec<Vec<[f32; 2]>>,
}

impl ShapePredictorModel {
    pub fn num_parts(&self) -> usize {
        self.initial_shape.len() / 2
    }

    /// Parses a whole `.dat` file.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes);
        let version = r.i64("shape_predictor version")?;
        if version != 1 {
            return Err(FormatError::Unsupported {
                what: "shape_predictor version",
                found: version.to_string(),
            });
        }
        let initial_shape = read_column_vector(&mut r, "initial shape")?;
        let forests = r.vec("forests", |r| r.vec("forest", read_tree))?;
        let anchor_idx = r.vec("anchor levels", |r| r.vec("anchors", |r| r.usize("anchor")))?;
        let deltas = r.vec("delta levels", |r| {
            r.vec("deltas", |r| Ok([r.f32("delta x")?, r.f32("delta y")?]))
        })?;
        let offset = r.offset();
        r.finish("trailing bytes after shape_predictor")?;
        let model = ShapePredictorModel {
            initial_shape,
            forests,
            anchor_idx,
            deltas,
        };
        model.validate(offset)?;
        Ok(model)
    }

    fn validate(&self, offset: usize) -> Result<(), FormatError> {
        let bad = |what| Err(FormatError::Malformed { offset, what });
        let coords = self.initial_shape.len();
        if coords == 0 || !coords.is_multiple_of(2) {
            return bad("initial shape size");
        }
        let levels = self.forests.len();
        if self.anchor_idx.len() != levels || self.deltas.len() != levels {
            return bad("number of cascade levels");
        }
        for level in 0..levels {
            let pixels = self.deltas[level].len();
            if self.anchor_idx[level].len() != pixels {
                return bad("anchor and delta counts");
            }
            if self.anchor_idx[level].iter().any(|&a| a >= coords / 2) {
                return bad("anchor index");
            }
            for tree in &self.forests[level] {
                if tree.leaves.len() != tree.splits.len() + 1 {
                    return bad("tree leaf count");
                }
                if tree.leaves.iter().any(|l| l.len() != coords) {
                    return bad("leaf size");
                }
                if tree
                    .splits
                    .iter()
                    .any(|s| s.idx1 >= pixels || s.idx2 >= pixels)
                {
                    return bad("split pixel index");
                }
            }
        }
        Ok(())
    }
}

fn read_tree(r: &mut Reader<'_>) -> Result<RegressionTree, FormatError> {
    let splits = r.vec("splits", |r| {
        Ok(Split {
            idx1: r.usize("split idx1")?,
            idx2: r.usize("split idx2")?,
            threshold: r.f32("split threshold")?,
        })
    })?;
    let leaves = r.vec("leaves", |r| read_column_vector(r, "leaf values"))?;
    Ok(RegressionTree { splits, leaves })
}

/// A dlib `matrix<float,0,1>`: rows and columns (negated by newer dlib
/// versions to mark the format), then the values row by row.
pub(crate) fn read_column_vector(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Vec<f32>, FormatError> {
    let (rows, cols) = read_matrix_dims(r, what)?;
    if cols != 1 {
        return Err(FormatError::Malformed {
            offset: r.offset(),
            what,
        });
    }
    (0..rows).map(|_| r.f32(what)).collect()
}

/// The dimensions of a serialised dlib matrix, bounded by the bytes left
/// (every element takes at least two bytes).
pub(crate) fn read_matrix_dims(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<(usize, usize), FormatError> {
    let rows = r.i64(what)?.unsigned_abs();
    let cols = r.i64(what)?.unsigned_abs();
    let count = rows.checked_mul(cols);
    match count {
        Some(n) if n <= r.remaining() as u64 => Ok((rows as usize, cols as usize)),
        _ => Err(FormatError::Malformed {
            offset: r.offset(),
            what,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_bytes() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/shape_predictor_5_face_landmarks.dat"
        );
        std::fs::read(path).expect("model present")
    }

    #[test]
    fn parses_the_5_point_model() {
        let m = ShapePredictorModel::parse(&model_bytes()).expect("parses");
        assert_eq!(m.num_parts(), 5);
        assert_eq!(m.forests.len(), 15);
        assert!(m.forests.iter().all(|f| f.len() == 500));
        let tree = &m.forests[0][0];
        assert_eq!((tree.splits.len(), tree.leaves.len()), (15, 16));
        assert_eq!(m.deltas[0].len(), 800);
        assert!((m.initial_shape[0] - 0.776_251_7).abs() < 1e-6);
    }

    #[test]
    fn truncated_model_is_an_error() {
        let bytes = model_bytes();
        for len in [0, 1, 5, 100, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                ShapePredictorModel::parse(&bytes[..len]).is_err(),
                "length {len}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ShapePredictorModel::parse(&longer).is_err());
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(ShapePredictorModel::parse(&[]).is_err());
        assert!(ShapePredictorModel::parse(&[0x01, 0x02]).is_err());
        assert!(ShapePredictorModel::parse(&[0x01, 0x01, 0x84, 0xff, 0xff, 0xff, 0x7f]).is_err());
    }
}
