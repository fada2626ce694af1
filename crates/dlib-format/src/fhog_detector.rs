//! dlib's `object_detector<scan_fhog_pyramid<pyramid_down<6>>>`, the HOG +
//! linear SVM detector behind `get_frontal_face_detector()`.
//!
//! File layout (`object_detector.h`, `scan_fhog_pyramid.h`,
//! `box_overlap_testing.h`): detector version 2; the scanner (version 1, an
//! empty feature pyramid, cell size, padding, detection window size, pyramid
//! limits, nuclear-norm strength, feature dimensions); the overlap tester
//! used for non-maximum suppression; then one weight vector per detector
//! (frontal, left and right profile, two rotations for the stock model). Each
//! weight vector holds 31 filter planes of `filter_rows x filter_cols`
//! values, row-major, followed by the detection threshold (bias).

use crate::shape_predictor::read_matrix_dims;
use crate::{FormatError, Reader};

/// Number of fHOG feature planes (18 signed + 9 unsigned orientations + 4 texture).
pub const FHOG_PLANES: usize = 31;

/// The scanner's settings as saved.
#[derive(Debug, Clone, PartialEq)]
pub struct ScannerSettings {
    pub cell_size: usize,
    pub padding: usize,
    pub window_width: usize,
    pub window_height: usize,
    pub max_pyramid_levels: usize,
    pub min_pyramid_layer_width: usize,
    pub min_pyramid_layer_height: usize,
    pub nuclear_norm_regularization_strength: f64,
}

/// Non-maximum suppression rule: two boxes clash when intersection over the
/// bounding box of both exceeds `match_thresh`, or the intersection covers
/// more than `overlap_thresh` of either box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlapTester {
    pub match_thresh: f64,
    pub overlap_thresh: f64,
}

/// One linear filter bank: 31 planes and a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct FhogFilter {
    /// `FHOG_PLANES` planes of `rows * cols` weights, row-major.
    pub planes: Vec<Vec<f64>>,
    /// A window is a detection when its score reaches this value.
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FhogDetectorModel {
    pub scanner: ScannerSettings,
    pub overlap: OverlapTester,
    /// Filter height and width in HOG cells.
    pub filter_rows: usize,
    pub filter_cols: usize,
    pub filters: Vec<FhogFilter>,
}

impl FhogDetectorModel {
    /// Parses a whole `.svm` file.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut r = Reader::new(bytes);
        expect_version(&mut r, "object_detector version", 2)?;
        expect_version(&mut r, "scan_fhog_pyramid version", 1)?;
        // The saved feature pyramid is always empty (an array's max size, then size).
        let _max_size = r.usize("feature pyramid max size")?;
        if r.usize("feature pyramid size")? != 0 {
            return Err(FormatError::Unsupported {
                what: "scan_fhog_pyramid",
                found: "a saved feature pyramid".into(),
            });
        }
        let scanner = ScannerSettings {
            cell_size: r.usize("cell size")?,
            padding: r.usize("padding")?,
            window_width: r.usize("window width")?,
            window_height: r.usize("window height")?,
            max_pyramid_levels: r.usize("max pyramid levels")?,
            min_pyramid_layer_width: r.usize("min pyramid layer width")?,
            min_pyramid_layer_height: r.usize("min pyramid layer height")?,
            nuclear_norm_regularization_strength: r.f64("nuclear norm strength")?,
        };
        let dims_offset = r.offset();
        let dims = r.i64("feature dimensions")?;
        let (filter_rows, filter_cols) = filter_size(&scanner).ok_or(FormatError::Malformed {
            offset: dims_offset,
            what: "scanner settings",
        })?;
        let plane = filter_rows * filter_cols;
        if u64::try_from(dims).ok() != (plane * FHOG_PLANES).try_into().ok() {
            return Err(FormatError::Malformed {
                offset: dims_offset,
                what: "feature dimensions",
            });
        }
        let overlap = OverlapTester {
            match_thresh: r.f64("overlap match threshold")?,
            overlap_thresh: r.f64("overlap threshold")?,
        };
        let filters = r.vec("weight vectors", |r| {
            let offset = r.offset();
            let (rows, cols) = read_matrix_dims(r, "weight vector")?;
            if cols != 1 || rows != plane * FHOG_PLANES + 1 {
                return Err(FormatError::Malformed {
                    offset,
                    what: "weight vector size",
                });
            }
            let mut planes = Vec::with_capacity(FHOG_PLANES);
            for _ in 0..FHOG_PLANES {
                planes.push(
                    (0..plane)
                        .map(|_| r.f64("weight"))
                        .collect::<Result<_, _>>()?,
                );
            }
            Ok(FhogFilter {
                planes,
                threshold: r.f64("detection threshold")?,
            })
        })?;
        if filters.is_empty() {
            return Err(FormatError::Malformed {
                offset: r.offset(),
                what: "detector count",
            });
        }
        r.finish("trailing bytes after object_detector")?;
        Ok(FhogDetectorModel {
            scanner,
            overlap,
            filter_rows,
            filter_cols,
            filters,
        })
    }
}

fn expect_version(r: &mut Reader<'_>, what: &'static str, want: i64) -> Result<(), FormatError> {
    let found = r.i64(what)?;
    if found == want {
        Ok(())
    } else {
        Err(FormatError::Unsupported {
            what,
            found: found.to_string(),
        })
    }
}

/// The filter size in cells: the detection window mapped to HOG space and
/// grown by the padding (dlib's `compute_fhog_window_size`). `None` for
/// settings no detector can use.
fn filter_size(s: &ScannerSettings) -> Option<(usize, usize)> {
    let cell = i64::try_from(s.cell_size).ok()?;
    if cell == 0
        || s.window_width == 0
        || s.window_height == 0
        || s.window_width > 1 << 16
        || s.window_height > 1 << 16
        || s.padding > 1 << 8
    {
        return None;
    }
    // A window centred at 0 spans [-w/2, -w/2 + w - 1]; a pixel p sits in
    // cell (p - 1) / cell - 1 (integer division truncating toward zero).
    let cells = |w: usize| {
        let w = w as i64;
        let lo = -(w / 2);
        let hi = lo + w - 1;
        let to_cell = |p: i64| (p - 1) / cell - 1;
        (to_cell(hi) - to_cell(lo) + 1 + 2 * s.padding as i64) as usize
    };
    Some((cells(s.window_height), cells(s.window_width)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_bytes() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/dlib_frontal_face_detector_hog.svm"
        );
        std::fs::read(path).expect("model present")
    }

    #[test]
    fn parses_the_frontal_face_detector() {
        let m = FhogDetectorModel::parse(&model_bytes()).expect("parses");
        assert_eq!(m.scanner.cell_size, 8);
        assert_eq!(m.scanner.padding, 0);
        assert_eq!((m.scanner.window_width, m.scanner.window_height), (80, 80));
        assert_eq!((m.filter_rows, m.filter_cols), (10, 10));
        assert_eq!(m.scanner.nuclear_norm_regularization_strength, 9.0);
        assert_eq!(m.filters.len(), 5);
        assert!(m.filters.iter().all(|f| f.planes.len() == FHOG_PLANES));
        assert!((m.overlap.match_thresh - 0.330_082_121_880_564_5).abs() < 1e-15);
        assert!((m.filters[0].threshold - 3.274_495_776_699_651).abs() < 1e-12);
    }

    #[test]
    fn truncated_model_is_an_error() {
        let bytes = model_bytes();
        for len in [0, 1, 5, 30, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                FhogDetectorModel::parse(&bytes[..len]).is_err(),
                "length {len}"
            );
        }
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(FhogDetectorModel::parse(&[]).is_err());
        assert!(FhogDetectorModel::parse(&[0x01, 0x02, 0x01, 0x01]).is_err());
        assert!(FhogDetectorModel::parse(&[0x01, 0x03]).is_err());
    }
}
