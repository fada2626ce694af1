//! Intel's Open Model Zoo face re-identification (`face-reidentification-
//! retail-0095`, 256-d, MobileFaceNet with squeeze-excitation) and its
//! aligner (`landmarks-regression-retail-0009`), run in pure Rust with the
//! preprocessing of Open Model Zoo's face recognition demo:
//!
//! 1. the face box grown 1.15 times about its centre and clipped to the
//!    image, as the demo's `FaceDetector` does with `-exp_r_fd 1.15`;
//! 2. that region at 48x48 (OpenCV `resize`'s sample positions) into the
//!    aligner, which gives five points (eyes, nose tip, mouth corners) as
//!    fractions of the region;
//! 3. the demo's similarity (`get_transform`) from its reference points,
//!    scaled to the 128x128 input, onto those five points, and one
//!    `warpAffine` straight to 128x128 (the demo warps the region in place
//!    and resizes it after: one resampling instead of two);
//! 4. BGR, raw 0-255 (the network's first layer does the scaling), and the
//!    256 outputs scaled to unit length.
//!
//! Every resampling is OpenCV's `warpAffine` arithmetic ([`crate::warp`]),
//! so the crops are byte-identical to OpenCV's (`tools/omz_reference`).

use limen_openvino_format::IrModel;
use zeroize::Zeroize;

use crate::ir_net::IrNet;
use crate::models::{self, ModelError, ModelFile, ModelSource};
use crate::warp::{Affine, Warped, fit_similarity, warp_affine};
use crate::{Point, Rect, RgbImage};

pub const REID_XML: ModelFile = ModelFile {
    file_name: "intel/face-reidentification-retail-0095.xml",
    sha256: "c45948e5865726a7994ae72049f5b95d977dc0302d08028503868184c68edf91",
};
/// The SHA-256 Intel published for the FP16 weights (Open Model Zoo
/// `model.yml`, 2019 R3).
pub const REID_BIN: ModelFile = ModelFile {
    file_name: "intel/face-reidentification-retail-0095.bin",
    sha256: "3289078133e40e4263f682ded2a26a500905abb0fd7b943f41ca8037a4f3fe21",
};
pub const ALIGNER_XML: ModelFile = ModelFile {
    file_name: "intel/landmarks-regression-retail-0009.xml",
    sha256: "bcf274a704031d24af7fdd7f868f052e346cf96029b6b6e85cdc168beddbe401",
};
/// As published by Intel, like [`REID_BIN`].
pub const ALIGNER_BIN: ModelFile = ModelFile {
    file_name: "intel/landmarks-regression-retail-0009.bin",
    sha256: "5d74c26cbb836b3de358ab05d4cbd92c4eb713dc74484cff9de82b2deb3d8527",
};

/// Side of the re-identification network's square input.
pub const OMZ_CHIP_SIZE: usize = 128;
/// Side of the aligner's square input.
pub const ALIGNER_INPUT_SIZE: usize = 48;
/// Length of the network's face vector.
pub const OMZ_VECTOR_LEN: usize = 256;
/// How much the demo grows a detector's box before cutting the face out.
pub const ROI_SCALE: f64 = 1.15;

/// The demo's reference points (`FaceIdentifier.REFERENCE_LANDMARKS`), as
/// fractions of the input: eyes, nose tip, mouth corners (image left first).
const REFERENCE: [(f64, f64); 5] = [
    (30.2946 / 96.0, 51.6963 / 112.0),
    (65.5318 / 96.0, 51.5014 / 112.0),
    (48.0252 / 96.0, 71.7366 / 112.0),
    (33.5493 / 96.0, 92.3655 / 112.0),
    (62.7299 / 96.0, 92.2041 / 112.0),
];

/// The region of the image the aligner looks at: whole pixels, left and
/// top inclusive, right and bottom exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub left: usize,
    pub top: usize,
    pub right: usize,
    pub bottom: usize,
}

impl Region {
    /// The demo's region for a detector box: grown [`ROI_SCALE`] times
    /// about its centre, clipped to the image, cut at whole pixels, in the
    /// demo's single precision. `None` if nothing of it is in the image.
    pub fn around(rect: Rect, image_width: usize, image_height: usize) -> Option<Region> {
        let (w, h) = (image_width as f32, image_height as f32);
        let mut size = [rect.width() as f32, rect.height() as f32];
        let mut position = [rect.left as f32, rect.top as f32];
        // The demo computes `roi_scale_factor - 1.0` in double precision
        // and multiplies it into its single-precision box.
        let growth = (ROI_SCALE - 1.0) as f32;
        for (p, s) in position.iter_mut().zip(&size) {
            *p -= s * 0.5 * growth;
        }
        for s in &mut size {
            *s *= ROI_SCALE as f32;
        }
        // The demo clips position and size each to [0, image side].
        position = [position[0].clamp(0.0, w), position[1].clamp(0.0, h)];
        size = [size[0].clamp(0.0, w), size[1].clamp(0.0, h)];
        // Truncation toward zero, then clipped again (`utils.crop`).
        let cut = |v: f32, max: f32| (v.clamp(0.0, max) as i64).clamp(0, max as i64) as usize;
        let region = Region {
            left: cut(position[0], w),
            top: cut(position[1], h),
            right: cut(position[0] + size[0], w),
            bottom: cut(position[1] + size[1], h),
        };
        (region.right > region.left && region.bottom > region.top).then_some(region)
    }

    fn width(&self) -> usize {
        self.right - self.left
    }

    fn height(&self) -> usize {
        self.bottom - self.top
    }
}

/// An aligned 128x128 face crop, RGB; zeroised on drop.
#[derive(Debug)]
pub struct OmzChip(Warped);

impl OmzChip {
    pub fn as_raw(&self) -> &[u8] {
        &self.0.pixels
    }
}

/// The two networks, ready to run; every method can be called from many
/// threads at once.
#[derive(Debug)]
pub struct OmzReid {
    aligner: IrNet,
    reid: IrNet,
}

fn load_net(models: &ModelSource, xml: ModelFile, bin: ModelFile) -> Result<IrNet, ModelError> {
    let xml_bytes = models::read_verified(models, xml)?;
    let bin_bytes = models::read_verified(models, bin)?;
    let invalid = |reason: String| ModelError::Invalid {
        path: models.path_of(xml.file_name),
        reason,
    };
    let model = IrModel::parse(&xml_bytes, &bin_bytes).map_err(|e| invalid(e.to_string()))?;
    IrNet::from_model(&model).map_err(|e| invalid(e.to_string()))
}

/// The network input for RGB pixels: BGR, raw 0-255, HWC.
fn bgr_input(rgb: &[u8]) -> Vec<f32> {
    rgb.chunks_exact(3)
        .flat_map(|px| [px[2], px[1], px[0]].map(f32::from))
        .collect()
}

impl OmzReid {
    /// Loads both networks (in the `intel/` folder of a directory, or
    /// built in), each file checked against its SHA-256 first.
    pub fn load(models: impl Into<ModelSource>) -> Result<OmzReid, ModelError> {
        let models = models.into();
        let aligner = load_net(&models, ALIGNER_XML, ALIGNER_BIN)?;
        let reid = load_net(&models, REID_XML, REID_BIN)?;
        let invalid = |file: ModelFile, reason: &str| ModelError::Invalid {
            path: models.path_of(file.file_name),
            reason: reason.to_string(),
        };
        if aligner.input_shape() != (ALIGNER_INPUT_SIZE, ALIGNER_INPUT_SIZE, 3)
            || aligner.output_len() != 10
        {
            return Err(invalid(ALIGNER_XML, "not a 48x48 five-point aligner"));
        }
        if reid.input_shape() != (OMZ_CHIP_SIZE, OMZ_CHIP_SIZE, 3)
            || reid.output_len() != OMZ_VECTOR_LEN
        {
            return Err(invalid(REID_XML, "not a 128x128 network with 256 outputs"));
        }
        Ok(OmzReid { aligner, reid })
    }

    /// Multiply-adds of one face: aligner and re-identification network.
    pub fn multiply_adds(&self) -> usize {
        self.aligner.multiply_adds() + self.reid.multiply_adds()
    }

    /// The aligner's 48x48 input for `region`, RGB.
    pub fn aligner_crop(&self, image: &RgbImage, region: Region) -> Warped {
        let map = Affine::resize(
            (
                region.left as f64,
                region.top as f64,
                region.width() as f64,
                region.height() as f64,
            ),
            ALIGNER_INPUT_SIZE,
            ALIGNER_INPUT_SIZE,
        );
        warp_affine(image, &map, ALIGNER_INPUT_SIZE, ALIGNER_INPUT_SIZE)
    }

    /// The aligner's ten outputs (x, y of each point, as fractions of the
    /// region) for its 48x48 input.
    pub fn aligner_output(&self, crop: &Warped) -> Vec<f32> {
        let mut input = bgr_input(&crop.pixels);
        let output = self.aligner.run(&input);
        input.zeroize();
        output
    }

    /// The five points of the face in `rect`, in image coordinates.
    pub fn landmarks(&self, image: &RgbImage, rect: Rect) -> Option<[Point; 5]> {
        let region = Region::around(rect, image.width(), image.height())?;
        let out = self.aligner_output(&self.aligner_crop(image, region));
        let (w, h) = (region.width() as f64, region.height() as f64);
        Some(std::array::from_fn(|i| {
            Point::new(
                region.left as f64 + f64::from(out[2 * i]) * w,
                region.top as f64 + f64::from(out[2 * i + 1]) * h,
            )
        }))
    }

    /// The 128x128 crop that puts the five points where the network
    /// expects them; `None` for degenerate points.
    pub fn chip(&self, image: &RgbImage, points: &[Point; 5]) -> Option<OmzChip> {
        let size = OMZ_CHIP_SIZE as f64;
        let reference = REFERENCE.map(|(x, y)| Point::new(x * size, y * size));
        let map = fit_similarity(&reference, points)?;
        Some(OmzChip(warp_affine(
            image,
            &map,
            OMZ_CHIP_SIZE,
            OMZ_CHIP_SIZE,
        )))
    }

    /// The network's 256 outputs for a chip, as they are.
    pub fn network_output(&self, chip: &OmzChip) -> Vec<f32> {
        let mut input = bgr_input(chip.as_raw());
        let output = self.reid.run(&input);
        input.zeroize();
        output
    }

    /// The unit-length face vector of a chip (all zeros if the network
    /// gives all zeros, which no face does).
    pub fn vector(&self, chip: &OmzChip) -> Vec<f32> {
        let mut v = self.network_output(chip);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }

    /// The face vector of the face in `rect`: aligner, crop, network.
    pub fn describe(&self, image: &RgbImage, rect: Rect) -> Option<Vec<f32>> {
        let points = self.landmarks(image, rect)?;
        Some(self.vector(&self.chip(image, &points)?))
    }
}
