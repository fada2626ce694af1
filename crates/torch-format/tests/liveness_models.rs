//! The shipped liveness models read as PyTorch reads them (values printed by
//! `torch.load` in the reference environment), and damaged copies fail with
//! an error instead of a panic.

use std::path::Path;

use limen_torch_format::{StateDict, TensorData, TorchFormatError};

fn model(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/liveness")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const V2: &str = "2.7_80x80_MiniFASNetV2.pth";
const V1SE: &str = "4_0_0_80x80_MiniFASNetV1SE.pth";

#[test]
fn reads_the_tensors_torch_load_reads() {
    let dict = StateDict::parse(&model(V2)).expect("parses");
    assert_eq!(dict.len(), 334);
    let (first, conv1) = dict.iter().next().expect("non-empty");
    assert_eq!(first, "module.conv1.conv.weight");
    assert_eq!(conv1.shape, [32, 3, 3, 3]);
    let values = conv1.f32().expect("f32");
    assert_eq!(values[..3], [-0.033_052_32, -0.017626567, 0.032551464]);
    let var = dict.get("module.conv1.bn.running_var").expect("present");
    assert_eq!(var.f32().expect("f32")[..2], [957.82904, 77.847_08]);
    let batches = dict
        .get("module.conv1.bn.num_batches_tracked")
        .expect("present");
    assert!(batches.shape.is_empty());
    assert_eq!(batches.data, TensorData::I64(vec![92385]));
    let prob = dict.get("module.prob.weight").expect("present");
    assert_eq!(prob.shape, [3, 128]);
    assert_eq!(
        prob.f32().expect("f32")[381..],
        [-0.06108807, 0.10171063, 0.05822813]
    );

    let se = StateDict::parse(&model(V1SE)).expect("parses");
    assert_eq!(se.len(), 370);
    let prob = se.get("module.prob.weight").expect("present");
    assert_eq!(
        prob.f32().expect("f32")[381..],
        [0.052_030_74, 0.10460982, -0.06127807]
    );
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let bytes = model(V2);
    // Cut anywhere: in the header pickles, the state dict, the key list and
    // the storages.
    for len in (0..bytes.len()).step_by(4999).chain([bytes.len() - 1]) {
        assert!(StateDict::parse(&bytes[..len]).is_err(), "cut at {len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        StateDict::parse(&longer),
        Err(TorchFormatError::TrailingBytes(1))
    );
    assert_eq!(
        StateDict::parse(b"PK\x03\x04rest"),
        Err(TorchFormatError::ZipFormat)
    );
    // Single-byte damage across the pickled part: parsed or refused, never
    // a panic.
    for at in (0..66_669).step_by(97) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x5a;
        let _ = StateDict::parse(&damaged);
    }
}
