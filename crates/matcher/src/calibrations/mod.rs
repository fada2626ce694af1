//! The thresholds of each model version Limen runs, measured on lfw-dev.
//! Each file is printed by `limen eval calibrate` (which says how) and is
//! not edited by hand. `omz-reid-0095` and `omz-reid-0095-centred` were
//! measured with the label-noise list as it stood before the second search
//! (commit 29f8f70: its six further images counted as strangers), which
//! keeps their thresholds stricter (BENCHMARKS.md).

mod dlib_resnet_v1;
mod dlib_resnet_v1_mirrored;
mod omz_reid_0095;
mod omz_reid_0095_centred;

use crate::Calibration;

/// The calibration of a model version, by its id.
pub fn calibration_for(model_version: &str) -> Option<&'static Calibration> {
    match model_version {
        "dlib-resnet-v1" => Some(&dlib_resnet_v1::CALIBRATION),
        "dlib-resnet-v1-mirrored" => Some(&dlib_resnet_v1_mirrored::CALIBRATION),
        "omz-reid-0095" => Some(&omz_reid_0095::CALIBRATION),
        "omz-reid-0095-centred" => Some(&omz_reid_0095_centred::CALIBRATION),
        _ => None,
    }
}
