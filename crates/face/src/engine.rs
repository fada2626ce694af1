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

use limen_dlib_format::dnn::DnnModel;
use thiserror::Error;

use crate::back_end::Centring;
use crate::detect::clip_to_image;
use crate::liveness::LivenessChecker;
use crate::models::{
    self, DESCRIPTOR, DescriptorRecipe, FaceModel, HOG_DETECTOR, LANDMARKS, ModelSource,
};
use crate::omz::OmzReid;
use crate::quality::{self, QualityReport, QualityThresholds};
use crate::{
    DecodeError, Descriptor, DescriptorNet, FaceChip, HogFaceDetector, ModelError, Point, Rect,
    RgbImage, ShapePredictor,
};

/// Images whose shorter side is below this are upsampled once.
const UPSAMPLE_BELOW_SIDE: usize = 480;

/// How often [`FaceFinder`] upsamples `image` before scanning it.
fn upsampling_for(image: &RgbImage) -> u32 {
    u32::from(image.width().min(image.height()) < UPSAMPLE_BELOW_SIDE)
}

/// The smallest share of a face crop's longer side that an agent's face
/// takes, with margin. The agent sends its face box enlarged twice around
/// its centre (`CROP_SCALE` in the agent's `crop.rs`), so the box is half
/// the crop's side, or more where the crop is clipped at the frame's edge.
/// The server's detector, on the crop upsampled, finds the same face at
/// most one pyramid step (6/5) smaller than the agent's box: 1/2.4 of the
/// side; a third leaves a quarter more for the JPEG and a tilted head.
pub const CROP_FACE_SHARE: f64 = 1.0 / 3.0;

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
/// Its quality verdicts use the entrance profile unless told otherwise.
pub struct FaceFinder {
    detector: HogFaceDetector,
    landmarks: ShapePredictor,
    thresholds: QualityThresholds,
}

impl FaceFinder {
    /// Loads the detector and landmark models (a directory, or those built
    /// in), checking their SHA-256 first.
    pub fn load(models: impl Into<ModelSource>) -> Result<FaceFinder, ModelError> {
        let models = models.into();
        let invalid = |file: &str, reason: String| ModelError::Invalid {
            path: models.path_of(file),
            reason,
        };
        let detector = HogFaceDetector::from_bytes(&models::read_verified(&models, HOG_DETECTOR)?)
            .map_err(|e| invalid(HOG_DETECTOR.file_name, e.to_string()))?;
        let landmarks = ShapePredictor::from_bytes(&models::read_verified(&models, LANDMARKS)?)
            .map_err(|e| invalid(LANDMARKS.file_name, e.to_string()))?;
        Ok(FaceFinder {
            detector,
            landmarks,
            thresholds: QualityThresholds::entrance(),
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

    /// The largest face in `image`, the person at a door, as the largest
    /// of [`find`]'s faces, for a fraction of the work when `image` is an
    /// agent's face crop: the pyramid levels of faces at least
    /// [`CROP_FACE_SHARE`] of the image's longer side are scanned first,
    /// and the whole pyramid only when they hold no face (a device sending
    /// whole frames, or a face too small to be an agent's). The larger
    /// faces are all scanned, so a face found there is the largest of the
    /// image unless a smaller face outscores it and suppresses it in the
    /// whole scan (checked on lfw-dev: BENCHMARKS.md, issue 14).
    ///
    /// [`find`]: Self::find
    pub fn find_largest(&self, image: &RgbImage) -> Option<FoundFace> {
        let upsample = upsampling_for(image);
        let side = image.width().max(image.height()) as f64;
        let smallest = (side * CROP_FACE_SHARE).floor() as i64;
        let mut detections = self
            .detector
            .detect_sized(image, upsample, smallest..=i64::MAX);
        if detections.is_empty() {
            detections = self.detector.detect(image, upsample);
        }
        let (w, h) = (image.width(), image.height());
        // Boxes clipped as `locate` clips them, the last of equally large
        // ones taken, as `find` and `max_by_key` choose.
        detections
            .into_iter()
            .map(|d| (clip_to_image(d.rect, w, h), d.score))
            .max_by_key(|(rect, _)| rect.area())
            .map(|(rect, score)| self.locate(image, rect, Some(score)))
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
        let quality = self
            .thresholds
            .judge(&quality::measure(image, rect, &landmarks, score));
        FoundFace {
            rect,
            landmarks,
            score,
            quality,
        }
    }
}

/// What an entrance frame gives: the face to search with, or why none.
#[derive(Debug)]
pub enum EntranceFrame {
    /// The largest face, which passed the entrance profile.
    Face(Box<Face>),
    NoFace,
    /// The largest face failed the entrance profile.
    PoorQuality(Vec<crate::QualityIssue>),
}

/// The entrance's reading of a frame's `faces` (as [`FaceEngine::faces`]
/// finds them): the largest face is the person at the door.
pub fn entrance_face(faces: Vec<Face>) -> EntranceFrame {
    match faces.into_iter().max_by_key(|f| f.rect.area()) {
        None => EntranceFrame::NoFace,
        Some(face) if face.quality.passed => EntranceFrame::Face(Box::new(face)),
        Some(face) => EntranceFrame::PoorQuality(face.quality.issues),
    }
}

/// Why an image could not be analysed. Messages are safe to show a user.
#[derive(Debug, Error)]
pub enum FaceError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// The network that turns a found face into its vector.
enum VectorNet {
    /// dlib's ResNet on the chip cut at dlib's five landmarks, alone or
    /// averaged with its pass over the mirrored chip.
    Dlib {
        net: DescriptorNet,
        mirror_averaged: bool,
    },
    /// Intel's aligner and re-identification network on the detector's box.
    OpenModelZoo(OmzReid),
}

/// The whole engine of one model version: finder plus descriptor network.
/// Load once, share by reference (it is `Send + Sync`; every method takes
/// `&self`).
pub struct FaceEngine {
    finder: FaceFinder,
    net: VectorNet,
    /// The version's back-end, applied to the network's vector.
    back_end: Option<Centring>,
    version: FaceModel,
}

impl FaceEngine {
    /// Loads the models of `version` (from a directory, or those built
    /// in), checking their SHA-256 first.
    pub fn load(
        models: impl Into<ModelSource>,
        version: FaceModel,
    ) -> Result<FaceEngine, ModelError> {
        let models = models.into();
        let finder = FaceFinder::load(&models)?;
        let net = match version.recipe {
            DescriptorRecipe::Plain | DescriptorRecipe::MirrorAveraged => VectorNet::Dlib {
                net: load_dlib_descriptor(&models)?,
                mirror_averaged: version.recipe == DescriptorRecipe::MirrorAveraged,
            },
            DescriptorRecipe::OpenModelZoo => VectorNet::OpenModelZoo(OmzReid::load(&models)?),
        };
        let back_end = version
            .back_end
            .map(|b| b.load(&models, version.dimensions))
            .transpose()?;
        Ok(FaceEngine {
            finder,
            net,
            back_end,
            version,
        })
    }

    /// The version whose vectors this engine makes; stored with each.
    pub fn model(&self) -> FaceModel {
        self.version
    }

    pub fn finder(&self) -> &FaceFinder {
        &self.finder
    }

    /// Floating-point operations of one network pass (a multiply-add is
    /// two); the mirrored recipe makes two passes per face, the Open Model
    /// Zoo one counts its aligner and its network.
    pub fn descriptor_flops(&self) -> usize {
        2 * match &self.net {
            VectorNet::Dlib { net, .. } => net.multiply_adds(),
            VectorNet::OpenModelZoo(nets) => nets.multiply_adds(),
        }
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
        let descriptor = match &self.net {
            VectorNet::Dlib {
                net,
                mirror_averaged,
            } => dlib_vector(
                net,
                &FaceChip::extract(image, &found.landmarks).ok()?,
                *mirror_averaged,
            ),
            VectorNet::OpenModelZoo(nets) => {
                Descriptor::from_vec(nets.describe(image, found.rect)?)
            }
        };
        let descriptor = match &self.back_end {
            Some(back_end) => back_end.apply(descriptor.as_slice())?,
            None => descriptor,
        };
        Some(Face {
            descriptor,
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
}

/// An entrance frame as read for the model versions in use.
#[derive(Debug)]
pub enum EntranceReading {
    /// The largest face passed the entrance profile: its vector by each
    /// engine, in the engines' order, and how live it looks (when asked
    /// and when it could be judged).
    Face {
        vectors: Vec<Descriptor>,
        live_score: Option<f32>,
    },
    NoFace,
    /// The largest face failed the entrance profile.
    PoorQuality(Vec<crate::QualityIssue>),
}

/// Reads an entrance frame for every model version in use at once (during
/// a model transition the entrances match the new version and the old):
/// the frame is decoded and searched once, by the first engine's finder,
/// and only the largest face, the person at the door, is described, by
/// each engine, and judged by `liveness` if given. The decoded pixels are
/// wiped before this returns.
pub fn read_entrance_frame(
    engines: &[&FaceEngine],
    liveness: Option<&LivenessChecker>,
    encoded: &[u8],
) -> Result<EntranceReading, FaceError> {
    let Some(first) = engines.first() else {
        return Ok(EntranceReading::NoFace);
    };
    let image = crate::decode(encoded)?;
    let Some(largest) = first.finder.find_largest(&image) else {
        return Ok(EntranceReading::NoFace);
    };
    if !largest.quality.passed {
        return Ok(EntranceReading::PoorQuality(largest.quality.issues));
    }
    let live_score = liveness.and_then(|checker| {
        // A face too close to the frame's edge for the networks' crops
        // cannot be judged: `None`, for the caller to decide.
        checker
            .check(&image, largest.rect)
            .ok()
            .map(|live| live.live_score())
    });
    // A version derived from another in use (a back-end over its vectors)
    // takes that version's vector through its back-end, as a stored vector
    // migrates, instead of running the same networks a second time.
    let base_of = |engine: &FaceEngine| {
        let base = engine.version.back_end?.base;
        engines
            .iter()
            .position(|e| e.version.id == base && e.back_end.is_none())
    };
    let mut vectors: Vec<Option<Descriptor>> = engines
        .iter()
        .map(|engine| match base_of(engine) {
            Some(_) => None,
            None => engine
                .describe(&image, largest.clone())
                .map(|face| face.descriptor),
        })
        .collect();
    for (i, engine) in engines.iter().enumerate() {
        if let (Some(base), Some(back_end)) = (base_of(engine), &engine.back_end) {
            vectors[i] = vectors[base]
                .as_ref()
                .and_then(|v| back_end.apply(v.as_slice()));
        }
    }
    let vectors: Option<Vec<Descriptor>> = vectors.into_iter().collect();
    // No chip could be cut from degenerate landmarks: nothing to match.
    Ok(match vectors {
        Some(vectors) => EntranceReading::Face {
            vectors,
            live_score,
        },
        None => EntranceReading::NoFace,
    })
}

fn load_dlib_descriptor(models: &ModelSource) -> Result<DescriptorNet, ModelError> {
    let bytes = models::read_verified(models, DESCRIPTOR)?;
    let invalid = |reason: String| ModelError::Invalid {
        path: models.path_of(DESCRIPTOR.file_name),
        reason,
    };
    let model = DnnModel::parse_face_resnet(&bytes).map_err(|e| invalid(e.to_string()))?;
    DescriptorNet::from_model(&model).map_err(|e| invalid(e.to_string()))
}

/// dlib's vector of one aligned chip, mirror-averaged to unit length or
/// as the network gives it.
fn dlib_vector(net: &DescriptorNet, chip: &FaceChip, mirror_averaged: bool) -> Descriptor {
    let plain = net.compute(chip);
    if !mirror_averaged {
        return plain;
    }
    let mirrored = net.compute(&chip.mirrored());
    let mut sum: Vec<f32> = plain
        .as_slice()
        .iter()
        .zip(mirrored.as_slice())
        .map(|(a, b)| a + b)
        .collect();
    let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt();
    // A network output of all zeros would be a model fault; it stays all
    // zeros rather than becoming NaN.
    if norm > 0.0 {
        sum.iter_mut().for_each(|v| *v /= norm);
    }
    Descriptor::from_vec(sum)
}
