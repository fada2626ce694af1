//! The two Open Model Zoo models Limen ships read as their files describe
//! them, and damaged files are typed errors.

use std::path::PathBuf;

use limen_openvino_format::{FormatError, IrModel, Precision};

fn read(name: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/intel");
    let xml = std::fs::read(dir.join(format!("{name}.xml"))).expect("xml in the repository");
    let bin = std::fs::read(dir.join(format!("{name}.bin"))).expect("bin in the repository");
    (xml, bin)
}

const REID: &str = "face-reidentification-retail-0095";
const LANDMARKS: &str = "landmarks-regression-retail-0009";

#[test]
fn the_reidentification_model_reads_whole() {
    let (xml, bin) = read(REID);
    let model = IrModel::parse(&xml, &bin).expect("valid IR");
    assert_eq!(model.name, REID);
    assert_eq!(model.layers.len(), 187);
    assert_eq!(model.edges.len(), 213);
    let count = |kind: &str| model.layers.iter().filter(|l| l.kind == kind).count();
    assert_eq!(
        [
            "Input",
            "ScaleShift",
            "Convolution",
            "PReLU",
            "Pooling",
            "Activation",
            "Eltwise"
        ]
        .map(count),
        [1, 1, 80, 48, 15, 15, 27]
    );
    assert!(model.layers.iter().all(|l| l.precision == Precision::Fp16));
    // Every blob byte of the file belongs to exactly one blob.
    let values: usize = model
        .layers
        .iter()
        .flat_map(|l| &l.blobs)
        .map(|b| b.values.len())
        .sum();
    assert_eq!(values * 2, bin.len());

    let input = model.layer(0).expect("input layer");
    assert_eq!(input.outputs[0].dims, [1, 3, 128, 128]);
    let first = model.layer(2).expect("first convolution");
    assert_eq!(first.kind, "Convolution");
    assert_eq!(first.integers("kernel"), Ok(vec![3, 3]));
    assert_eq!(first.integers("strides"), Ok(vec![2, 2]));
    assert_eq!(first.attribute("group"), Some("1"));
    assert_eq!(
        first.blob("weights").map(<[f32]>::len),
        Some(64 * 3 * 3 * 3)
    );
    // The input scale-shift's first weight: f16 bits 0x235c.
    let scale = model.layer(1).and_then(|l| l.blob("weights"));
    assert_eq!(scale.map(|w| w[0]), Some(0.014_373_779));
    let last = model.layer(186).expect("embedding layer");
    assert_eq!(last.outputs[0].dims, [1, 256, 1, 1]);
    assert!(last.blob("biases").is_none());
}

#[test]
fn the_landmark_model_reads_whole() {
    let (xml, bin) = read(LANDMARKS);
    let model = IrModel::parse(&xml, &bin).expect("valid IR");
    assert_eq!(model.layers.len(), 30);
    assert_eq!(model.edges.len(), 29);
    let pool = model.layer(4).expect("pooling");
    assert_eq!(pool.attribute("pool-method"), Some("max"));
    assert_eq!(pool.integers("kernel"), Ok(vec![2, 2]));
    let out = model.layer(29).expect("sigmoid");
    assert_eq!(out.attribute("type"), Some("sigmoid"));
    assert_eq!(out.outputs[0].dims, [1, 10, 1, 1]);
}

fn edited(xml: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(xml).expect("utf-8");
    assert!(text.contains(from), "{from:?} not in the file");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn damaged_files_are_typed_errors() {
    let (xml, bin) = read(LANDMARKS);
    let parse = |xml: &[u8], bin: &[u8]| IrModel::parse(xml, bin).expect_err("damaged");

    assert!(matches!(
        parse(&xml, &bin[..bin.len() - 1]),
        FormatError::BlobOutOfRange { layer: 28, .. }
    ));
    assert_eq!(
        parse(&edited(&xml, r#"version="5""#, r#"version="10""#), &bin),
        FormatError::Version("10".into())
    );
    assert!(matches!(
        parse(
            &edited(&xml, r#"<edge from-layer="0""#, r#"<edge from-layer="99""#),
            &bin
        ),
        FormatError::DanglingEdge { from_layer: 99, .. }
    ));
    assert!(matches!(
        parse(
            &edited(
                &xml,
                r#"<biases offset="6" size="6"/>"#,
                r#"<biases offset="0" size="6"/>"#
            ),
            &bin
        ),
        FormatError::Invalid { .. }
    ));
    assert!(matches!(
        parse(&edited(&xml, r#"size="6"/>"#, r#"size="5"/>"#), &bin),
        FormatError::Invalid { .. }
    ));
    assert!(matches!(
        parse(
            &edited(
                &xml,
                r#"precision="FP16" type="Input""#,
                r#"precision="I8" type="Input""#
            ),
            &bin
        ),
        FormatError::Precision { layer: 0, .. }
    ));
    assert!(matches!(
        parse(&edited(&xml, "<dim>48</dim>", "<dim>-48</dim>"), &bin),
        FormatError::Invalid { .. }
    ));
    assert!(matches!(
        parse(&edited(&xml, r#"<layer id="1""#, r#"<layer id="0""#), &bin),
        FormatError::DuplicateLayer(0)
    ));
    assert!(matches!(
        parse(&xml[..xml.len() / 2], &bin),
        FormatError::Xml(_)
    ));
    assert!(matches!(parse(b"<model/>", &bin), FormatError::NotANet(_)));
    assert!(matches!(parse(&[0xff, 0xfe], &bin), FormatError::Xml(_)));
}
