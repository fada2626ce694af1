// Measured on lfw-dev for model version dlib-resnet-v1-mirrored by
//     limen eval calibrate --root LFW-DEV/lfw --people LFW-DEV/people.txt --model-version dlib-resnet-v1-mirrored --repetitions 20
// Non-mated probes behind each gallery size's thresholds: 50916, 48657, 40999, 28626, 14303.
// Printed by the command; not edited by hand.
use crate::Calibration;

pub(super) const CALIBRATION: Calibration = Calibration {
    gallery_people: &[50.0000, 100.0000, 250.0000, 500.0000, 800.0000],
    thresholds: [
        &[0.3356, 0.3330, 0.3374, 0.3333, 0.3288],
        &[0.2872, 0.2850, 0.3037, 0.2983, 0.2981],
        &[0.2457, 0.2558, 0.2707, 0.2675, 0.2650],
    ],
    decrease_per_decade: 0.0409,
    fused_frames_shift: [0.0000, 0.0151, 0.0210],
    vector_penalty: [0.0000, 0.0139, 0.0227, 0.0327, 0.0327],
    genuine_acceptance: [[0.7213, 0.8313], [0.5507, 0.6295], [0.3226, 0.3765]],
};
