//! Is this face good enough to enrol or to match? Measurements of one
//! detected face, each compared with a documented threshold, and a verdict
//! with reasons a person in front of a camera can act on.
//!
//! There are two profiles, because a refusal costs differently in each
//! place (measured on lfw-dev with `limen eval lfw`, BENCHMARKS.md):
//!
//! - [`QualityThresholds::enrolment`] is strict. A person's enrolled vectors
//!   are compared with every later passage: enrolled from a blurred or small
//!   face, a person's other photos were accepted about half as often. Heads
//!   turned up to 40° enrolled as well as frontal ones, so only more than
//!   that is refused. A refused enrolment frame costs the person one more
//!   try at the camera.
//! - [`QualityThresholds::entrance`] refuses only faces too small, dark or
//!   flat to describe. At the door a refused frame is a refused passage,
//!   while turned, small or blurred probes that reach the matcher still
//!   match their owner often and strangers no more than sharp ones do (the
//!   threshold, not the gate, keeps strangers out).

use std::fmt;

use crate::{Point, Rect, RgbImage};

/// Limits a face must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityThresholds {
    /// Minimum distance between the eye centres, in pixels. The descriptor
    /// works on a 150×150 chip where the eyes sit about 50 px apart; below
    /// about 30 px the chip is mostly upsampled blur.
    pub min_inter_eye_px: f64,
    /// Minimum sharpness: mean absolute Laplacian of the face's grey levels.
    pub min_sharpness: f64,
    /// Acceptable mean grey level of the face region (0–255).
    pub min_brightness: f64,
    pub max_brightness: f64,
    /// Minimum standard deviation of the face's grey levels.
    pub min_contrast: f64,
    /// Largest head turn (left/right) and tilt (in-plane), in degrees.
    pub max_yaw_deg: f64,
    pub max_roll_deg: f64,
    /// Minimum detector score (the HOG detector's SVM margin above its own
    /// decision boundary). Not applied to a box given by the caller.
    pub min_detector_score: f64,
}

impl QualityThresholds {
    /// For the frames a person enrols with.
    pub fn enrolment() -> QualityThresholds {
        QualityThresholds {
            min_inter_eye_px: 30.0,
            min_sharpness: 4.0,
            min_brightness: 50.0,
            max_brightness: 215.0,
            min_contrast: 20.0,
            max_yaw_deg: 40.0,
            max_roll_deg: 25.0,
            min_detector_score: 0.0,
        }
    }

    /// For the frames an entrance camera sends.
    pub fn entrance() -> QualityThresholds {
        QualityThresholds {
            min_inter_eye_px: 18.0,
            min_sharpness: 2.0,
            min_brightness: 25.0,
            max_brightness: 235.0,
            min_contrast: 10.0,
            max_yaw_deg: 60.0,
            max_roll_deg: 45.0,
            min_detector_score: -0.5,
        }
    }

    /// The issues of `measurements` against these limits.
    pub fn judge(&self, measurements: &QualityMeasurements) -> QualityReport {
        let m = measurements;
        let mut issues = Vec::new();
        let mut check = |failed: bool, issue| {
            if failed {
                issues.push(issue);
            }
        };
        check(
            m.inter_eye_px < self.min_inter_eye_px,
            QualityIssue::TooSmall,
        );
        check(
            m.detector_score
                .is_some_and(|s| s < self.min_detector_score),
            QualityIssue::WeakDetection,
        );
        check(m.yaw_deg.abs() > self.max_yaw_deg, QualityIssue::TurnedAway);
        check(m.roll_deg.abs() > self.max_roll_deg, QualityIssue::Tilted);
        check(m.brightness < self.min_brightness, QualityIssue::TooDark);
        check(m.brightness > self.max_brightness, QualityIssue::TooBright);
        check(m.contrast < self.min_contrast, QualityIssue::LowContrast);
        check(m.sharpness < self.min_sharpness, QualityIssue::Blurred);
        QualityReport {
            measurements: m.clone(),
            passed: issues.is_empty(),
            issues,
        }
    }
}

/// One reason a face fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityIssue {
    TooSmall,
    Blurred,
    TooDark,
    TooBright,
    LowContrast,
    TurnedAway,
    Tilted,
    WeakDetection,
}

impl QualityIssue {
    /// A stable machine-readable code (used in JSON and by the web page).
    pub fn code(self) -> &'static str {
        match self {
            QualityIssue::TooSmall => "too_small",
            QualityIssue::Blurred => "blurred",
            QualityIssue::TooDark => "too_dark",
            QualityIssue::TooBright => "too_bright",
            QualityIssue::LowContrast => "low_contrast",
            QualityIssue::TurnedAway => "turned_away",
            QualityIssue::Tilted => "tilted",
            QualityIssue::WeakDetection => "weak_detection",
        }
    }
}

impl fmt::Display for QualityIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QualityIssue::TooSmall => "face too small: move closer",
            QualityIssue::Blurred => "image blurred: hold still",
            QualityIssue::TooDark => "too dark: add light in front of you",
            QualityIssue::TooBright => "too bright: avoid direct light",
            QualityIssue::LowContrast => "low contrast: face the light",
            QualityIssue::TurnedAway => "head turned: look straight at the camera",
            QualityIssue::Tilted => "head tilted: hold your head upright",
            QualityIssue::WeakDetection => "face not clearly visible",
        })
    }
}

/// What was measured on one face.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityMeasurements {
    pub inter_eye_px: f64,
    pub sharpness: f64,
    pub brightness: f64,
    pub contrast: f64,
    pub yaw_deg: f64,
    pub roll_deg: f64,
    pub detector_score: Option<f64>,
}

/// Measurements of one face and the verdict against one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityReport {
    pub measurements: QualityMeasurements,
    pub passed: bool,
    pub issues: Vec<QualityIssue>,
}

/// The centres of the two eyes from dlib's 5 points (two corners per eye,
/// then the base of the nose).
fn eye_centres(landmarks: &[Point; 5]) -> (Point, Point) {
    let mid = |a: Point, b: Point| Point::new((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
    let first = mid(landmarks[0], landmarks[1]);
    let second = mid(landmarks[2], landmarks[3]);
    // Order them left-to-right in the image.
    if first.x <= second.x {
        (first, second)
    } else {
        (second, first)
    }
}

/// Measures one face.
pub fn measure(
    image: &RgbImage,
    face: Rect,
    landmarks: &[Point; 5],
    detector_score: Option<f64>,
) -> QualityMeasurements {
    let (left_eye, right_eye) = eye_centres(landmarks);
    let (dx, dy) = (right_eye.x - left_eye.x, right_eye.y - left_eye.y);
    let inter_eye_px = dx.hypot(dy);
    let roll_deg = dy.atan2(dx).to_degrees();
    let yaw_deg = yaw_estimate(left_eye, right_eye, landmarks[4], inter_eye_px);
    let region = FaceRegion::grey(image, face);
    let (brightness, contrast) = region.mean_and_deviation();
    let sharpness = region.mean_abs_laplacian();
    QualityMeasurements {
        inter_eye_px,
        sharpness,
        brightness,
        contrast,
        yaw_deg,
        roll_deg,
        detector_score,
    }
}

/// Head turn from how far the nose base sits off the perpendicular through
/// the middle of the eyes, relative to the eye distance. On a frontal face
/// the offset is ~0; at 90° it approaches the nose's depth, which on adult
/// faces is roughly 0.6 of the eye distance.
fn yaw_estimate(left_eye: Point, right_eye: Point, nose: Point, inter_eye: f64) -> f64 {
    if inter_eye <= f64::EPSILON {
        return 90.0;
    }
    let (ux, uy) = (
        (right_eye.x - left_eye.x) / inter_eye,
        (right_eye.y - left_eye.y) / inter_eye,
    );
    let mid = Point::new(
        (left_eye.x + right_eye.x) / 2.0,
        (left_eye.y + right_eye.y) / 2.0,
    );
    let along = (nose.x - mid.x) * ux + (nose.y - mid.y) * uy;
    const NOSE_DEPTH_RATIO: f64 = 0.6;
    (along / (inter_eye * NOSE_DEPTH_RATIO))
        .clamp(-1.0, 1.0)
        .asin()
        .to_degrees()
}

/// The grey levels inside the face box (clipped to the image).
struct FaceRegion {
    width: usize,
    height: usize,
    grey: Vec<f32>,
}

impl FaceRegion {
    fn grey(image: &RgbImage, face: Rect) -> FaceRegion {
        let clip = face.intersect(&Rect::new(
            0,
            0,
            image.width() as i64 - 1,
            image.height() as i64 - 1,
        ));
        if clip.is_empty() {
            return FaceRegion {
                width: 0,
                height: 0,
                grey: Vec::new(),
            };
        }
        let (width, height) = (clip.width() as usize, clip.height() as usize);
        let mut grey = Vec::with_capacity(width * height);
        for y in clip.top as usize..=clip.bottom as usize {
            for x in clip.left as usize..=clip.right as usize {
                let [r, g, b] = image.pixel(x, y);
                grey.push(0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b));
            }
        }
        FaceRegion {
            width,
            height,
            grey,
        }
    }

    fn mean_and_deviation(&self) -> (f64, f64) {
        if self.grey.is_empty() {
            return (0.0, 0.0);
        }
        let n = self.grey.len() as f64;
        let mean = self.grey.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = self
            .grey
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        (mean, var.sqrt())
    }

    /// Mean absolute 4-neighbour Laplacian: high where edges are crisp.
    fn mean_abs_laplacian(&self) -> f64 {
        if self.width < 3 || self.height < 3 {
            return 0.0;
        }
        let w = self.width;
        let mut sum = 0.0f64;
        for y in 1..self.height - 1 {
            for x in 1..w - 1 {
                let c = self.grey[y * w + x];
                let lap = self.grey[y * w + x - 1]
                    + self.grey[y * w + x + 1]
                    + self.grey[(y - 1) * w + x]
                    + self.grey[(y + 1) * w + x]
                    - 4.0 * c;
                sum += f64::from(lap.abs());
            }
        }
        sum / ((self.width - 2) * (self.height - 2)) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frontal_landmarks(scale: f64) -> [Point; 5] {
        // Two corners per eye, then the nose base, centred at x = 100.
        [
            Point::new(100.0 + 30.0 * scale, 100.0),
            Point::new(100.0 + 10.0 * scale, 100.0),
            Point::new(100.0 - 30.0 * scale, 100.0),
            Point::new(100.0 - 10.0 * scale, 100.0),
            Point::new(100.0, 100.0 + 25.0 * scale),
        ]
    }

    fn image(f: impl Fn(usize, usize) -> u8) -> RgbImage {
        let (w, h) = (200, 200);
        let data = (0..w * h).flat_map(|i| [f(i % w, i / w); 3]).collect();
        RgbImage::from_raw(w, h, data).expect("sized")
    }

    fn checker(x: usize, y: usize) -> u8 {
        if (x / 4 + y / 4).is_multiple_of(2) {
            70
        } else {
            180
        }
    }

    fn assess(
        image: &RgbImage,
        face: Rect,
        landmarks: &[Point; 5],
        score: Option<f64>,
        limits: &QualityThresholds,
    ) -> QualityReport {
        limits.judge(&measure(image, face, landmarks, score))
    }

    #[test]
    fn a_good_face_passes() {
        let r = assess(
            &image(checker),
            Rect::new(50, 50, 149, 149),
            &frontal_landmarks(1.0),
            Some(0.5),
            &QualityThresholds::enrolment(),
        );
        assert!(r.passed, "{:?}", r.issues);
        let m = &r.measurements;
        assert!((m.inter_eye_px - 40.0).abs() < 1e-9);
        assert!(m.yaw_deg.abs() < 1e-9 && m.roll_deg.abs() < 1e-9);
    }

    #[test]
    fn each_failure_has_its_reason() {
        let limits = QualityThresholds::enrolment();
        let face = Rect::new(50, 50, 149, 149);
        let small = assess(
            &image(checker),
            face,
            &frontal_landmarks(0.5),
            Some(0.5),
            &limits,
        );
        assert_eq!(small.issues, vec![QualityIssue::TooSmall]);
        assert_eq!(small.issues[0].to_string(), "face too small: move closer");

        let flat = assess(
            &image(|_, _| 20),
            face,
            &frontal_landmarks(1.0),
            Some(0.5),
            &limits,
        );
        assert!(flat.issues.contains(&QualityIssue::TooDark));
        assert!(flat.issues.contains(&QualityIssue::LowContrast));
        assert!(flat.issues.contains(&QualityIssue::Blurred));

        let mut turned = frontal_landmarks(1.0);
        turned[4].x += 24.0;
        let t = assess(&image(checker), face, &turned, Some(0.5), &limits);
        assert_eq!(t.issues, vec![QualityIssue::TurnedAway]);

        let weak = assess(
            &image(checker),
            face,
            &frontal_landmarks(1.0),
            Some(-0.2),
            &limits,
        );
        assert_eq!(weak.issues, vec![QualityIssue::WeakDetection]);
    }

    #[test]
    fn the_entrance_profile_lets_through_what_enrolment_refuses() {
        let face = Rect::new(50, 50, 149, 149);
        // About 56° turned: past enrolment's limit, within the entrance's.
        let mut turned = frontal_landmarks(1.0);
        turned[4].x += 20.0;
        let m = measure(&image(checker), face, &turned, Some(0.5));
        assert!(!QualityThresholds::enrolment().judge(&m).passed);
        assert!(QualityThresholds::entrance().judge(&m).passed);
        // Far too small to describe is refused everywhere.
        let tiny = measure(&image(checker), face, &frontal_landmarks(0.3), Some(0.5));
        assert_eq!(
            QualityThresholds::entrance().judge(&tiny).issues,
            vec![QualityIssue::TooSmall]
        );
    }

    #[test]
    fn a_box_outside_the_image_is_measured_as_empty_not_a_panic() {
        let r = assess(
            &image(checker),
            Rect::new(500, 500, 600, 600),
            &frontal_landmarks(1.0),
            Some(0.5),
            &QualityThresholds::entrance(),
        );
        assert!(!r.passed);
    }
}
