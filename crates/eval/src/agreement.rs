//! How closely one face pipeline agrees with another on the same images:
//! which images have a face, whether the boxes overlap, how far apart the
//! landmarks are, and how similar the descriptors are.
//!
//! Inputs are the JSON lines `limen face embed --json` and the reference's
//! `peer_embed.py` both print: `{"path", "faces": [{"box", "landmarks5",
//! "embedding"}]}`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct FaceRecord {
    #[serde(rename = "box")]
    pub rect: [i64; 4],
    pub landmarks5: Vec<[f64; 2]>,
    pub embedding: Vec<f32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImageRecord {
    pub path: String,
    pub faces: Vec<FaceRecord>,
}

fn area(b: &[i64; 4]) -> i64 {
    (b[2] - b[0] + 1).max(0) * (b[3] - b[1] + 1).max(0)
}

/// Intersection over union of inclusive boxes.
pub fn iou(a: &[i64; 4], b: &[i64; 4]) -> f64 {
    let inter = area(&[
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ]);
    let union = area(a) + area(b) - inter;
    if union <= 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

fn largest(faces: &[FaceRecord]) -> Option<&FaceRecord> {
    faces.iter().max_by_key(|f| area(&f.rect))
}

/// Detection agreement over the images both runs saw.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DetectionAgreement {
    pub images: usize,
    pub reference_images_with_face: usize,
    pub ours_images_with_face: usize,
    pub both_with_face: usize,
    /// Of `both_with_face`: the reference's largest box is overlapped by one
    /// of ours with IoU ≥ 0.5.
    pub largest_box_overlapped: usize,
    pub identical_box_lists: usize,
    /// Images where the reference finds a face and we find none.
    pub missed: Vec<String>,
}

pub fn detection(reference: &[ImageRecord], ours: &[ImageRecord]) -> DetectionAgreement {
    let ours: HashMap<&str, &ImageRecord> = ours.iter().map(|r| (r.path.as_str(), r)).collect();
    let mut out = DetectionAgreement {
        images: 0,
        reference_images_with_face: 0,
        ours_images_with_face: 0,
        both_with_face: 0,
        largest_box_overlapped: 0,
        identical_box_lists: 0,
        missed: Vec::new(),
    };
    for theirs in reference {
        let Some(mine) = ours.get(theirs.path.as_str()) else {
            continue;
        };
        out.images += 1;
        let (t, m) = (!theirs.faces.is_empty(), !mine.faces.is_empty());
        out.reference_images_with_face += usize::from(t);
        out.ours_images_with_face += usize::from(m);
        if t && !m {
            out.missed.push(theirs.path.clone());
        }
        if t && m {
            out.both_with_face += 1;
            if let Some(big) = largest(&theirs.faces) {
                let best = mine
                    .faces
                    .iter()
                    .map(|f| iou(&big.rect, &f.rect))
                    .fold(0.0, f64::max);
                out.largest_box_overlapped += usize::from(best >= 0.5);
            }
        }
        let boxes = |r: &ImageRecord| {
            let mut b: Vec<[i64; 4]> = r.faces.iter().map(|f| f.rect).collect();
            b.sort_unstable();
            b
        };
        out.identical_box_lists += usize::from(boxes(theirs) == boxes(mine));
    }
    out
}

/// Landmark and descriptor agreement, ours computed on the reference's boxes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DescriptorAgreement {
    pub faces: usize,
    pub cosine_median: f64,
    pub cosine_p1: f64,
    pub cosine_min: f64,
    pub share_cosine_at_least_0_99: f64,
    pub landmark_error_mean_px: f64,
    pub landmark_error_median_px: f64,
    pub landmark_error_max_px: f64,
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

/// Pairs our face on a reference box (the first face of our record) with the
/// reference face of that same box, or the image's largest reference face
/// when no box is identical. `None` when no image pairs up.
pub fn descriptors(reference: &[ImageRecord], ours: &[ImageRecord]) -> Option<DescriptorAgreement> {
    let ours: HashMap<&str, &ImageRecord> = ours.iter().map(|r| (r.path.as_str(), r)).collect();
    let mut cosines = Vec::new();
    let mut errors = Vec::new();
    for theirs in reference {
        let Some(biggest) = largest(&theirs.faces) else {
            continue;
        };
        let Some(mine) = ours.get(theirs.path.as_str()).and_then(|r| r.faces.first()) else {
            // Our pipeline gave nothing on the reference's box: a total miss.
            cosines.push(-1.0);
            continue;
        };
        let face = theirs
            .faces
            .iter()
            .find(|f| f.rect == mine.rect)
            .unwrap_or(biggest);
        cosines.push(cosine(&mine.embedding, &face.embedding));
        let n = face.landmarks5.len().min(mine.landmarks5.len()).max(1);
        let err = face
            .landmarks5
            .iter()
            .zip(&mine.landmarks5)
            .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
            .sum::<f64>()
            / n as f64;
        errors.push(err);
    }
    if cosines.is_empty() {
        return None;
    }
    cosines.sort_by(f64::total_cmp);
    errors.sort_by(f64::total_cmp);
    let at = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q) as usize];
    Some(DescriptorAgreement {
        faces: cosines.len(),
        cosine_median: at(&cosines, 0.5),
        cosine_p1: at(&cosines, 0.01),
        cosine_min: cosines[0],
        share_cosine_at_least_0_99: cosines.iter().filter(|&&c| c >= 0.99).count() as f64
            / cosines.len() as f64,
        landmark_error_mean_px: errors.iter().sum::<f64>() / errors.len().max(1) as f64,
        landmark_error_median_px: errors.get(errors.len() / 2).copied().unwrap_or(0.0),
        landmark_error_max_px: errors.last().copied().unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(path: &str, boxes: &[[i64; 4]], embedding: [f32; 2]) -> ImageRecord {
        ImageRecord {
            path: path.into(),
            faces: boxes
                .iter()
                .map(|&rect| FaceRecord {
                    rect,
                    landmarks5: vec![[10.0, 10.0]; 5],
                    embedding: embedding.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn counts_misses_overlaps_and_identical_lists() {
        let reference = vec![
            image("a", &[[0, 0, 99, 99]], [1.0, 0.0]),
            image("b", &[[0, 0, 99, 99]], [1.0, 0.0]),
            image("c", &[], [1.0, 0.0]),
        ];
        let ours = vec![
            image("a", &[[0, 0, 99, 99]], [1.0, 0.0]),
            image("b", &[[60, 60, 159, 159]], [1.0, 0.0]),
            image("c", &[], [1.0, 0.0]),
        ];
        let d = detection(&reference, &ours);
        assert_eq!(
            (d.images, d.reference_images_with_face, d.both_with_face),
            (3, 2, 2)
        );
        assert_eq!((d.largest_box_overlapped, d.identical_box_lists), (1, 2));
        let d = detection(&reference, &ours[1..]);
        assert_eq!(d.images, 2);
        let mut missing = ours.clone();
        missing[0].faces.clear();
        assert_eq!(
            detection(&reference, &missing).missed,
            vec!["a".to_string()]
        );
    }

    #[test]
    fn descriptor_agreement_uses_cosine_and_landmark_distance() {
        let reference = vec![
            image("a", &[[0, 0, 9, 9]], [1.0, 0.0]),
            image("b", &[[0, 0, 9, 9]], [1.0, 0.0]),
        ];
        let mut ours = vec![
            image("a", &[[0, 0, 9, 9]], [1.0, 0.0]),
            image("b", &[[0, 0, 9, 9]], [0.0, 1.0]),
        ];
        ours[1].faces[0].landmarks5 = vec![[13.0, 14.0]; 5];
        let d = descriptors(&reference, &ours).expect("pairs");
        assert_eq!(d.faces, 2);
        assert_eq!(d.cosine_min, 0.0);
        assert_eq!(d.share_cosine_at_least_0_99, 0.5);
        assert!((d.landmark_error_max_px - 5.0).abs() < 1e-12);
    }
}
