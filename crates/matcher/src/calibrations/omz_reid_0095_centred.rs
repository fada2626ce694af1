// Measured on lfw-dev for model version omz-reid-0095-centred by
//     limen eval calibrate --root LFW-DEV/lfw --people LFW-DEV/people.txt --model-version omz-reid-0095-centred --repetitions 20
// Non-mated probes behind each gallery size's thresholds: 53138, 52996, 52464, 51318, 48743, 41314, 29030, 14700.
// Printed by the command; not edited by hand.
use crate::Calibration;

pub(super) const CALIBRATION: Calibration = Calibration {
    gallery_people: &[
        5.0000, 10.0000, 20.0000, 50.0000, 100.0000, 250.0000, 500.0000, 800.0000,
    ],
    thresholds: [
        &[
            1.1717, 1.1486, 1.1248, 1.1046, 1.0851, 1.0628, 1.0453, 1.0329,
        ],
        &[
            1.1007, 1.0757, 1.0461, 1.0322, 1.0153, 0.9755, 0.9438, 0.8815,
        ],
        &[
            1.0683, 1.0121, 0.9635, 0.9373, 0.8396, 0.6982, 0.6868, 0.6779,
        ],
    ],
    decrease_per_decade: 0.0712,
    fused_frames_shift: [0.0000, 0.0198, 0.0198],
    vector_penalty: [0.0000, 0.0186, 0.0223, 0.0319, 0.0497],
    genuine_acceptance: [[0.9307, 0.9669], [0.7534, 0.8976], [0.1824, 0.3373]],
};
