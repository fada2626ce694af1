//! The descriptor network's contract beyond matching dlib: exact cost,
//! thread safety, privacy of Debug output, shape validation at build time.

use std::path::Path;

use limen_dlib_format::DnnModel;
use limen_dlib_format::dnn::Layer;
use limen_face::descriptor::DESCRIPTOR_LEN;
use limen_face::{Descriptor, DescriptorError, DescriptorNet, FaceChip, Point, RgbImage};

fn model() -> DnnModel {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/dlib_face_recognition_resnet_model_v1.dat");
    DnnModel::parse_face_resnet(&std::fs::read(path).expect("model file")).expect("valid model")
}

/// A chip of a synthetic gradient "face": enough structure to give a
/// non-trivial descriptor.
fn chip() -> FaceChip {
    let (w, h) = (200, 220);
    let pixels = (0..w * h * 3)
        .map(|i| ((i * 37 + i / 600) % 251) as u8)
        .collect();
    let image = RgbImage::from_raw(w, h, pixels).expect("size");
    let landmarks = [
        (130.0, 90.0),
        (112.0, 91.0),
        (70.0, 92.0),
        (88.0, 92.0),
        (100.0, 130.0),
    ]
    .map(|(x, y)| Point::new(x, y));
    FaceChip::extract(&image, &landmarks).expect("chip")
}

#[test]
fn counts_the_published_cost() {
    let net = DescriptorNet::from_model(&model()).expect("runnable");
    assert_eq!(net.multiply_adds(), 270_854_144);
}

#[test]
fn threads_share_one_net_and_agree() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DescriptorNet>();
    let net = DescriptorNet::from_model(&model()).expect("runnable");
    let chip = chip();
    let alone = net.compute(&chip);
    let together: Vec<Descriptor> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(|| net.compute(&chip))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    for d in &together {
        assert_eq!(d, &alone);
    }
    assert!(alone.as_slice().iter().any(|&v| v != 0.0));
}

#[test]
fn descriptors_hide_their_values_and_measure_distance() {
    let mut values = [0.0f32; DESCRIPTOR_LEN];
    values[0] = 0.123_456;
    values[1] = 3.0;
    let a = Descriptor::from_slice(&values);
    values[1] = -1.0;
    let b = Descriptor::from_slice(&values);
    assert_eq!(a.euclidean_distance(&b), 4.0);
    assert_eq!(a.euclidean_distance(&a), 0.0);
    let shown = format!("{a:?}");
    assert!(!shown.contains("0.123") && !shown.contains('3'), "{shown}");
}

#[test]
fn inconsistent_models_are_rejected_at_build() {
    // A convolution that expects more input channels than it gets.
    let mut model = model();
    let Some(Layer::Conv(conv)) = model
        .layers
        .iter_mut()
        .find(|l| matches!(l, Layer::Conv(_)))
    else {
        panic!("the model has convolutions");
    };
    conv.in_channels = 4;
    conv.filters.extend(std::iter::repeat_n(0.0, 32 * 7 * 7));
    assert!(matches!(
        DescriptorNet::from_model(&model),
        Err(DescriptorError::Shape { .. })
    ));

    // A network cut short before its fully connected output.
    let mut model = self::model();
    model.layers.pop();
    assert!(DescriptorNet::from_model(&model).is_err());

    // A skip to a tag that was never set.
    let mut model = self::model();
    model.layers.insert(0, Layer::Skip(7));
    assert!(matches!(
        DescriptorNet::from_model(&model),
        Err(DescriptorError::Unsupported { .. })
    ));
}
