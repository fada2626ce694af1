// Measured on lfw-dev for model version omz-reid-0095 by
//     limen eval calibrate --root LFW-DEV/lfw --people LFW-DEV/people.txt --model-version omz-reid-0095 --repetitions 20
// Non-mated probes behind each gallery size's thresholds: 53138, 52996, 52464, 51318, 48743, 41314, 29030, 14700.
// Printed by the command; not edited by hand.
use crate::Calibration;

pub(super) const CALIBRATION: Calibration = Calibration {
    gallery_people: &[
        5.0000, 10.0000, 20.0000, 50.0000, 100.0000, 250.0000, 500.0000, 800.0000,
    ],
    thresholds: [
        &[
            1.1651, 1.1423, 1.1197, 1.1008, 1.0809, 1.0582, 1.0409, 1.0319,
        ],
        &[
            1.0980, 1.0717, 1.0403, 1.0293, 1.0114, 0.9692, 0.9423, 0.8794,
        ],
        &[
            1.0624, 1.0097, 0.9553, 0.9324, 0.8434, 0.7003, 0.6817, 0.6738,
        ],
    ],
    decrease_per_decade: 0.0694,
    fused_frames_shift: [0.0000, 0.0176, 0.0193],
    vector_penalty: [0.0000, 0.0189, 0.0222, 0.0310, 0.0481],
    genuine_acceptance: [[0.9274, 0.9669], [0.7466, 0.8976], [0.1791, 0.3253]],
};
