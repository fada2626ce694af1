// Provisional: replaced by the output of `limen eval calibrate`.
use crate::Calibration;

pub(super) const CALIBRATION: Calibration = Calibration {
    gallery_people: &[50.0, 1000.0],
    thresholds: [&[0.33, 0.32], &[0.28, 0.29], &[0.24, 0.25]],
    decrease_per_decade: 0.035,
    fused_frames_shift: [0.0, 0.01, 0.02],
    vector_penalty: [0.0, 0.005, 0.008, 0.01, 0.01],
    genuine_acceptance: [[0.75, 0.9], [0.65, 0.85], [0.5, 0.75]],
};
