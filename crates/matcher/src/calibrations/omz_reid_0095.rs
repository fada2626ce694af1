// Measured on lfw-dev for model version omz-reid-0095 by
//     limen eval calibrate --root LFW-DEV/lfw --people LFW-DEV/people.txt --model-version omz-reid-0095 --repetitions 50
// Non-mated probes behind each gallery size's thresholds: 132699, 131992, 131077, 127343, 121266, 103647, 73192, 36994.
// Printed by the command; not edited by hand.
use crate::Calibration;

pub(super) const CALIBRATION: Calibration = Calibration {
    gallery_people: &[
        5.0000, 10.0000, 20.0000, 50.0000, 100.0000, 250.0000, 500.0000, 800.0000,
    ],
    thresholds: [
        &[
            1.1676, 1.1439, 1.1243, 1.0996, 1.0780, 1.0608, 1.0406, 1.0309,
        ],
        &[
            1.0881, 1.0690, 1.0488, 1.0345, 1.0132, 1.0021, 0.9812, 0.9662,
        ],
        &[
            1.0160, 0.9845, 0.9856, 0.9531, 0.9388, 0.9364, 0.9334, 0.9343,
        ],
    ],
    decrease_per_decade: 0.0670,
    fused_frames_shift: [0.0000, 0.0123, 0.0159],
    vector_penalty: [0.0000, 0.0201, 0.0230, 0.0331, 0.0483],
    genuine_acceptance: [[0.9274, 0.9669], [0.8851, 0.9548], [0.8564, 0.9428]],
};
