//! The face engine as the rest of Limen uses it.
//!
//! [`FaceFinder`] finds faces and judges their quality (detector, landmarks,
//! quality check); the camera agent runs only this. [`FaceEngine`] adds the
//! descriptor network; the server runs it for enrolment and at entrances.
//!
//! ## Which detector
//! dlib's HOG detector, not its MMOD CNN. On lfw-dev the HOG pipeline at one
//! upsampling finds a face in 2,724 of 2,736 images, the reference's own
//! count, with identical boxes (BENCHMARKS.md). The CNN detector, in dlib on
//! this 2-core machine, took 11.8 s on one 640×480 frame against 168 ms for
//! dlib's HOG (measured 2026-11-26 through `face_recognition`), far too slow
//! for an agent that checks every frame. The faces HOG misses are strongly
//! turned or tilted, and those fail the quality check anyway, so the CNN
//! would buy recall only where a match would be refused.
//!
//! ## Upsampling
//! HOG's window finds faces down to about 80 px; each upsampling halves that
//! at four times the work. A face that passes the quality check is at least
//! ~75 px wide (30 px between the eyes), so frames with a shorter side of
//! 480 px or more are scanned as they are, and smaller images (thumbnails,
//! the face crops an agent sends) are upsampled once, as the reference does.

use std::path::Path;

use limen_dlib_format::dnn::DnnModel;
use thiserror::Error;
use zeroize::Zeroize;

use crate::descriptor::DESCRIPTOR_LEN;
use crate::detect::clip_to_image;
use crate::models::{self, DESCRIPTOR, DESCRIPTOR_MODEL_VERSION, HOG_DETECTOR, LANDMARKS};
use crate::quality::{self, QualityIssue, QualityReport, QualityThresholds};
use crate::{
    DecodeError, Descriptor, DescriptorNet, FaceChip, HogFaceDetector, ModelError, Point, Rect,
    RgbImage, ShapePredictor,
};

/// Descriptors closer than this are the same person in a 1:1 comparison
/// (dlib's published operating point: 99.38% on LFW).
pub const SAME_PERSON_DISTANCE: f32 = 0.6;

/// At most this many frames make one enrolment.
pub const MAX_ENROLMENT_FRAMES: usize = 5;

/// Images whose shorter side is below this are upsampled once.
const UPSAMPLE_BELOW_SIDE: usize = 480;

/// How often [`FaceFinder`] upsamples `image` before scanning it.
fn upsampling_for(image: &RgbImage) -> u32 {
    u32::from(image.width().min(image.height()) < UPSAMPLE_BELOW_SIDE)
}

/// A face found in an image, with its quality verdict.
#[derive(Debug, Clone)]
pub struct FoundFace {
    /// The box, clipped to the image as the reference clips it.
    pub rect: Rect,
    pub landmarks: [Point; 5],
    /// The detector's score, `None` when the box was given by the caller.
    pub score: Option<f64>,
    pub quality: QualityReport,
}

/// A found face with its descriptor.
#[derive(Debug, Clone)]
pub struct Face {
    pub rect: Rect,
    pub landmarks: [Point; 5],
    pub score: Option<f64>,
    pub quality: QualityReport,
    pub descriptor: Descriptor,
}

/// Detector, landmarks and quality check: everything but the descriptor.
pub struct FaceFinder {
    detector: HogFaceDetector,
    landmarks: ShapePredictor,
    thresholds: QualityThresholds,
}

impl FaceFinder {
    /// Loads the detector and landmark models from `models_dir`, checking
    /// their SHA-256 first.
    pub fn load(models_dir: &Path) -> Result<FaceFinder, ModelError> {
        let invalid = |file: &str, reason: String| ModelError::Invalid {
            path: models_dir.join(file),
            reason,
        };
        let detector =
            HogFaceDetector::from_bytes(&models::read_verified(models_dir, HOG_DETECTOR)?)
                .map_err(|e| invalid(HOG_DETECTOR.file_name, e.to_string()))?;
        let landmarks = ShapePredictor::from_bytes(&models::read_verified(models_dir, LANDMARKS)?)
            .map_err(|e| invalid(LANDMARKS.file_name, e.to_string()))?;
        Ok(FaceFinder {
            detector,
            landmarks,
            thresholds: QualityThresholds::default(),
        })
    }

    /// The same finder judging quality against other thresholds.
    pub fn with_thresholds(mut self, thresholds: QualityThresholds) -> FaceFinder {
        self.thresholds = thresholds;
        self
    }

    pub fn thresholds(&self) -> &QualityThresholds {
        &self.thresholds
    }

    /// Every face in `image`, best detection first.
    pub fn find(&self, image: &RgbImage) -> Vec<FoundFace> {
        self.detector
            .detect(image, upsampling_for(image))
            .into_iter()
            .map(|d| self.locate(image, d.rect, Some(d.score)))
            .collect()
    }

    /// The faces near where a face was last seen (a face tracked from the
    /// previous frame), best detection first: the scan [`find`] makes, at
    /// the scale it chooses for the whole image, over `last_seen` grown by
    /// its own size on every side and for faces from two thirds to one and
    /// a half times its width only, for a fraction of the work. A face that moved or grew
    /// more than that is left to the next whole-image scan. Boxes are in
    /// the whole image's coordinates and can differ by a few pixels from a
    /// whole-image scan, whose pyramid levels fall differently.
    ///
    /// [`find`]: Self::find
    pub fn find_near(&self, image: &RgbImage, last_seen: Rect) -> Vec<FoundFace> {
        let (w, h) = (last_seen.width(), last_seen.height());
        let region = Rect::new(
            last_seen.left - w,
            last_seen.top - h,
            last_seen.right + w,
            last_seen.bottom + h,
        );
        let whole = Rect::new(0, 0, image.width() as i64 - 1, image.height() as i64 - 1);
        let area = region.intersect(&whole);
        let Some(part) = image.crop(area) else {
            return Vec::new();
        };
        self.detector
            .detect_sized(&part, upsampling_for(image), w * 2 / 3..=w * 3 / 2)
            .into_iter()
            .map(|d| {
                let r = d.rect;
                let rect = Rect::new(
                    r.left + area.left,
                    r.top + area.top,
                    r.right + area.left,
                    r.bottom + area.top,
                );
                self.locate(image, rect, Some(d.score))
            })
            .collect()
    }

    /// Landmarks and quality of the face in a known box.
    pub fn locate(&self, image: &RgbImage, rect: Rect, score: Option<f64>) -> FoundFace {
        let rect = clip_to_image(rect, image.width(), image.height());
        let landmarks = self.landmarks.predict(image, rect);
        let quality = quality::assess(image, rect, &landmarks, score, &self.thresholds);
        FoundFace {
            rect,
            landmarks,
            score,
            quality,
        }
    }
}

/// Why an image could not be analysed. Messages are safe to show a user.
#[derive(Debug, Error)]
pub enum FaceError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Why enrolment frames did not give a descriptor. Messages are safe to show
/// the person enrolling.
#[derive(Debug, Error)]
pub enum EnrolmentError {
    #[error("send between 1 and {MAX_ENROLMENT_FRAMES} frames (got {0})")]
    FrameCount(usize),
    #[error("frame {frame}: {source}")]
    Decode { frame: usize, source: DecodeError },
    #[error("frame {frame}: no face found")]
    NoFace { frame: usize },
    #[error("frame {frame}: more than one face; only the person enrolling may be in view")]
    SeveralFaces { frame: usize },
    #[error("frame {frame}: {}", join_issues(.issues))]
    PoorQuality {
        frame: usize,
        issues: Vec<QualityIssue>,
    },
    #[error("the frames do not show the same face; please try again")]
    FramesDisagree,
}

fn join_issues(issues: &[QualityIssue]) -> String {
    issues
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The whole engine: finder plus descriptor network. Load once, share by
/// reference (it is `Send + Sync`; every method takes `&self`).
pub struct FaceEngine {
    finder: FaceFinder,
    descriptor: DescriptorNet,
}

impl FaceEngine {
    /// Loads all models from `models_dir`, checking their SHA-256 first.
    pub fn load(models_dir: &Path) -> Result<FaceEngine, ModelError> {
        let finder = FaceFinder::load(models_dir)?;
        let bytes = models::read_verified(models_dir, DESCRIPTOR)?;
        let invalid = |reason: String| ModelError::Invalid {
            path: models_dir.join(DESCRIPTOR.file_name),
            reason,
        };
        let model = DnnModel::parse_face_resnet(&bytes).map_err(|e| invalid(e.to_string()))?;
        let descriptor = DescriptorNet::from_model(&model).map_err(|e| invalid(e.to_string()))?;
        Ok(FaceEngine { finder, descriptor })
    }

    /// The tag stored with each descriptor this engine makes.
    pub fn model_version(&self) -> &'static str {
        DESCRIPTOR_MODEL_VERSION
    }

    pub fn finder(&self) -> &FaceFinder {
        &self.finder
    }

    /// Floating-point operations of one descriptor (a multiply-add is two).
    pub fn descriptor_flops(&self) -> usize {
        2 * self.descriptor.multiply_adds()
    }

    /// Every face in `image` with its descriptor. A face whose landmarks are
    /// degenerate (no chip can be cut) is left out.
    pub fn faces(&self, image: &RgbImage) -> Vec<Face> {
        self.finder
            .find(image)
            .into_iter()
            .filter_map(|found| self.describe(image, found))
            .collect()
    }

    /// The face in a known box, with its descriptor; `None` if its
    /// landmarks are degenerate.
    pub fn face_in_box(&self, image: &RgbImage, rect: Rect) -> Option<Face> {
        self.describe(image, self.finder.locate(image, rect, None))
    }

    fn describe(&self, image: &RgbImage, found: FoundFace) -> Option<Face> {
        let chip = FaceChip::extract(image, &found.landmarks).ok()?;
        Some(Face {
            descriptor: self.descriptor.compute(&chip),
            rect: found.rect,
            landmarks: found.landmarks,
            score: found.score,
            quality: found.quality,
        })
    }

    /// Decodes an encoded image and describes every face in it. The decoded
    /// pixels are zeroised before this returns.
    pub fn analyze(&self, encoded: &[u8]) -> Result<Vec<Face>, FaceError> {
        let image = crate::decode(encoded)?;
        Ok(self.faces(&image))
    }

    /// One descriptor from 1–5 enrolment frames: each must hold exactly one
    /// face that passes the quality check, and all must agree with each
    /// other; the result is their mean.
    pub fn enrolment_descriptor(&self, frames: &[&[u8]]) -> Result<Descriptor, EnrolmentError> {
        if frames.is_empty() || frames.len() > MAX_ENROLMENT_FRAMES {
            return Err(EnrolmentError::FrameCount(frames.len()));
        }
        let mut descriptors = Vec::with_capacity(frames.len());
        for (i, bytes) in frames.iter().enumerate() {
            let frame = i + 1;
            let image =
                crate::decode(bytes).map_err(|source| EnrolmentError::Decode { frame, source })?;
            let mut faces = self.faces(&image);
            let face = match faces.len() {
                0 => return Err(EnrolmentError::NoFace { frame }),
                1 => faces.remove(0),
                _ => return Err(EnrolmentError::SeveralFaces { frame }),
            };
            if !face.quality.passed {
                return Err(EnrolmentError::PoorQuality {
                    frame,
                    issues: face.quality.issues,
                });
            }
            descriptors.push(face.descriptor);
        }
        // Every pair of frames must be the same person by the 1:1 rule, so a
        // second person stepping in mid-capture is refused.
        for (i, a) in descriptors.iter().enumerate() {
            for b in &descriptors[i + 1..] {
                if a.euclidean_distance(b) > SAME_PERSON_DISTANCE {
                    return Err(EnrolmentError::FramesDisagree);
                }
            }
        }
        let mut mean = [0f32; DESCRIPTOR_LEN];
        for d in &descriptors {
            for (m, v) in mean.iter_mut().zip(d.as_slice()) {
                *m += v / descriptors.len() as f32;
            }
        }
        let descriptor = Descriptor::from_array(mean);
        mean.zeroize();
        Ok(descriptor)
    }
}
