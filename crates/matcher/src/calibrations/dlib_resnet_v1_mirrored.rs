// Measured on lfw-dev for model version dlib-resnet-v1-mirrored by
//     limen eval calibrate --root LFW-DEV/lfw --people LFW-DEV/people.txt --model-version dlib-resnet-v1-mirrored --repetitions 50
// Non-mated probes behind each gallery size's thresholds: 132959, 132296, 131207, 127684, 122366, 103122, 73451, 36776.
// Printed by the command; not edited by hand.
use crate::Calibration;

pub(super) const CALIBRATION: Calibration = Calibration {
    gallery_people: &[
        5.0000, 10.0000, 20.0000, 50.0000, 100.0000, 250.0000, 500.0000, 800.0000,
    ],
    thresholds: [
        &[
            0.3784, 0.3722, 0.3452, 0.3275, 0.3340, 0.3366, 0.3334, 0.3275,
        ],
        &[
            0.3206, 0.3189, 0.2880, 0.2764, 0.2904, 0.2992, 0.3018, 0.3033,
        ],
        &[
            0.2817, 0.2762, 0.2546, 0.2440, 0.2582, 0.2694, 0.2703, 0.2787,
        ],
    ],
    decrease_per_decade: 0.0417,
    fused_frames_shift: [0.0000, 0.0147, 0.0184],
    vector_penalty: [0.0000, 0.0138, 0.0222, 0.0317, 0.0317],
    genuine_acceptance: [[0.7247, 0.8313], [0.5861, 0.6958], [0.4071, 0.4940]],
};
