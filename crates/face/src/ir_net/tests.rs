use limen_openvino_format::IrModel;

use super::*;

/// A test layer: id, type, data attributes, blobs, output dims.
type TestLayer<'a> = (u32, &'a str, &'a str, &'a [&'a [f32]], [usize; 4]);

/// A small FP32 IR; `edges` are (from, to, to-port). Ports: input `i`
/// is port `i`, the output port 9.
fn model(
    layers: &[TestLayer],
    edges: &[(u32, u32, u32)],
) -> Result<IrModel, limen_openvino_format::FormatError> {
    let mut bin: Vec<u8> = Vec::new();
    let mut xml = String::from(r#"<?xml version="1.0"?><net name="t" version="5"><layers>"#);
    let dims = |d: &[usize; 4]| {
        d.iter()
            .map(|v| format!("<dim>{v}</dim>"))
            .collect::<String>()
    };
    for (id, kind, data, blobs, out) in layers {
        xml += &format!(
            r#"<layer id="{id}" name="l{id}" precision="FP32" type="{kind}"><data {data}/>"#
        );
        let inputs = edges.iter().filter(|e| e.1 == *id).count();
        xml += "<input>";
        for port in 0..inputs {
            xml += &format!(r#"<port id="{port}">{}</port>"#, dims(out));
        }
        xml += &format!(
            r#"</input><output><port id="9">{}</port></output><blobs>"#,
            dims(out)
        );
        for (name, values) in ["weights", "biases"].iter().zip(blobs.iter()) {
            xml += &format!(
                r#"<{name} offset="{}" size="{}"/>"#,
                bin.len(),
                values.len() * 4
            );
            bin.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        }
        xml += "</blobs></layer>";
    }
    xml += "</layers><edges>";
    for (from, to, port) in edges {
        xml += &format!(
            r#"<edge from-layer="{from}" from-port="9" to-layer="{to}" to-port="{port}"/>"#
        );
    }
    xml += "</edges></net>";
    IrModel::parse(xml.as_bytes(), &bin)
}

const CONV_1X1: &str = r#"dilations="1,1" group="1" kernel="1,1" output="2" pads_begin="0,0" pads_end="0,0" strides="1,1""#;

/// input (2 channels, 1x2) -> 1x1 conv -> shared PReLU (folded) ->
/// sum with the input -> mul by a per-channel sigmoid of the pooled sum.
fn squeeze_block() -> IrModel {
    model(
        &[
            (0, "Input", "", &[], [1, 2, 1, 2]),
            (
                1,
                "Convolution",
                CONV_1X1,
                &[&[1.0, 2.0, -1.0, 0.5], &[0.0, 1.0]],
                [1, 2, 1, 2],
            ),
            (
                2,
                "PReLU",
                r#"channel_shared="1""#,
                &[&[0.25]],
                [1, 2, 1, 2],
            ),
            (3, "Eltwise", r#"operation="sum""#, &[], [1, 2, 1, 2]),
            (
                4,
                "Pooling",
                r#"kernel="1,2" strides="1,2" pads_begin="0,0" pads_end="0,0" pool-method="avg""#,
                &[],
                [1, 2, 1, 1],
            ),
            (5, "Activation", r#"type="sigmoid""#, &[], [1, 2, 1, 1]),
            (6, "Eltwise", r#"operation="mul""#, &[], [1, 2, 1, 2]),
        ],
        &[
            (0, 1, 0),
            (1, 2, 0),
            (2, 3, 0),
            (0, 3, 1),
            (3, 4, 0),
            (4, 5, 0),
            (3, 6, 0),
            (5, 6, 1),
        ],
    )
    .expect("valid IR")
}

#[test]
fn a_small_graph_computes_its_definition() {
    let net = IrNet::from_model(&squeeze_block()).expect("runs");
    // Two steps fewer than layers: the input, and the folded PReLU.
    assert_eq!(net.steps.len(), 5);
    assert_eq!(net.input_shape(), (1, 2, 2));
    // HWC: pixel 0 = (1, 2), pixel 1 = (3, -4).
    let input = [1.0, 2.0, 3.0, -4.0];
    let prelu = |v: f32| if v < 0.0 { 0.25 * v } else { v };
    let conv = |a: f32, b: f32| [prelu(a + 2.0 * b), prelu(-a + 0.5 * b + 1.0)];
    let (p0, p1) = (conv(1.0, 2.0), conv(3.0, -4.0));
    let sum = [p0[0] + 1.0, p0[1] + 2.0, p1[0] + 3.0, p1[1] - 4.0];
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    let gate = [
        sigmoid((sum[0] + sum[2]) / 2.0),
        sigmoid((sum[1] + sum[3]) / 2.0),
    ];
    let want = [
        sum[0] * gate[0],
        sum[1] * gate[1],
        sum[2] * gate[0],
        sum[3] * gate[1],
    ];
    let got = net.run(&input);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
    }
    // The pooled scratch is reused and gives the same answer.
    assert_eq!(net.run(&input), got);
}

/// A 1x1 convolution from 16 to 32 channels with a per-channel PReLU
/// runs on the pointwise kernel, and gives its definition.
#[test]
fn a_whole_vector_1x1_convolution_computes_its_definition() {
    let (inputs, outputs, pixels) = (16, 32, 6);
    let weights: Vec<f32> = (0..outputs * inputs)
        .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
        .collect();
    let biases: Vec<f32> = (0..outputs).map(|c| c as f32 / 10.0 - 1.0).collect();
    let slopes: Vec<f32> = (0..outputs).map(|c| 0.05 * c as f32).collect();
    let conv = CONV_1X1.replace(r#"output="2""#, r#"output="32""#);
    let net = IrNet::from_model(
        &model(
            &[
                (0, "Input", "", &[], [1, 16, 2, 3]),
                (
                    1,
                    "Convolution",
                    conv.as_str(),
                    &[&weights[..], &biases[..]],
                    [1, 32, 2, 3],
                ),
                (
                    2,
                    "PReLU",
                    r#"channel_shared="0""#,
                    &[&slopes[..]],
                    [1, 32, 2, 3],
                ),
            ],
            &[(0, 1, 0), (1, 2, 0)],
        )
        .expect("valid IR"),
    )
    .expect("runs");
    assert!(matches!(
        net.steps[..],
        [Step {
            op: Op::Pointwise(_),
            ..
        }]
    ));
    let input: Vec<f32> = (0..pixels * inputs)
        .map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0)
        .collect();
    let got = net.run(&input);
    for p in 0..pixels {
        for o in 0..outputs {
            let mut want = f64::from(biases[o])
                + (0..inputs)
                    .map(|i| f64::from(input[p * inputs + i]) * f64::from(weights[o * inputs + i]))
                    .sum::<f64>();
            if want < 0.0 {
                want *= f64::from(slopes[o]);
            }
            let g = f64::from(got[p * outputs + o]);
            assert!(
                (g - want).abs() < 1e-4,
                "pixel {p} channel {o}: {g} vs {want}"
            );
        }
    }
}

/// input (2 channels, 2x2) -> a 3x3 convolution (padding 1) to 16
/// channels with a PReLU, on the receptive-field kernel -> a gate of one
/// value per channel from its mean -> the gated map plus the convolution's
/// output, as one step.
#[test]
fn a_square_convolution_and_a_gated_residual_sum_compute_their_definition() {
    let (inputs, outputs) = (2, 16);
    let weights: Vec<f32> = (0..outputs * inputs * 9)
        .map(|i| ((i * 13 % 7) as f32 - 3.0) / 5.0)
        .collect();
    let biases: Vec<f32> = (0..outputs).map(|c| c as f32 / 10.0 - 0.5).collect();
    let conv = r#"dilations="1,1" group="1" kernel="3,3" output="16" pads_begin="1,1" pads_end="1,1" strides="1,1""#;
    let pool = r#"kernel="2,2" strides="2,2" pads_begin="0,0" pads_end="0,0" pool-method="avg""#;
    let net = IrNet::from_model(
        &model(
            &[
                (0, "Input", "", &[], [1, 2, 2, 2]),
                (
                    1,
                    "Convolution",
                    conv,
                    &[&weights[..], &biases[..]],
                    [1, 16, 2, 2],
                ),
                (
                    2,
                    "PReLU",
                    r#"channel_shared="1""#,
                    &[&[0.25]],
                    [1, 16, 2, 2],
                ),
                (3, "Pooling", pool, &[], [1, 16, 1, 1]),
                (4, "Activation", r#"type="sigmoid""#, &[], [1, 16, 1, 1]),
                (5, "Eltwise", r#"operation="mul""#, &[], [1, 16, 2, 2]),
                (6, "Eltwise", r#"operation="sum""#, &[], [1, 16, 2, 2]),
            ],
            &[
                (0, 1, 0),
                (1, 2, 0),
                (2, 3, 0),
                (3, 4, 0),
                (2, 5, 0),
                (4, 5, 1),
                (2, 6, 0),
                (5, 6, 1),
            ],
        )
        .expect("valid IR"),
    )
    .expect("runs");
    assert!(matches!(
        net.steps[..],
        [
            Step {
                op: Op::Fields(_),
                ..
            },
            Step {
                op: Op::AvgPool(_),
                ..
            },
            Step {
                op: Op::Sigmoid,
                ..
            },
            Step {
                op: Op::GatedSum,
                ..
            },
        ]
    ));
    // HWC, 2x2 pixels of 2 channels.
    let input = [1.0, -2.0, 0.5, 3.0, -1.5, 2.5, 4.0, -0.5];
    let mut conv_out = [0.0f32; 4 * 16];
    for y in 0..2 {
        for x in 0..2 {
            for o in 0..outputs {
                let mut sum = f64::from(biases[o]);
                for fy in 0..3 {
                    for fx in 0..3 {
                        let (iy, ix) = (y as isize + fy as isize - 1, x as isize + fx as isize - 1);
                        if !(0..2).contains(&iy) || !(0..2).contains(&ix) {
                            continue;
                        }
                        for c in 0..inputs {
                            let v = input[(iy as usize * 2 + ix as usize) * inputs + c];
                            let w = weights[((o * inputs + c) * 3 + fy) * 3 + fx];
                            sum += f64::from(v) * f64::from(w);
                        }
                    }
                }
                if sum < 0.0 {
                    sum *= 0.25;
                }
                conv_out[(y * 2 + x) * outputs + o] = sum as f32;
            }
        }
    }
    let got = net.run(&input);
    for o in 0..outputs {
        let mean = (0..4).map(|p| conv_out[p * outputs + o]).sum::<f32>() / 4.0;
        let gate = 1.0 / (1.0 + (-mean).exp());
        for p in 0..4 {
            let v = conv_out[p * outputs + o];
            let want = v * gate + v;
            let g = got[p * outputs + o];
            assert!(
                (g - want).abs() < 1e-4,
                "pixel {p} channel {o}: {g} vs {want}"
            );
        }
    }
}

#[test]
fn graphs_it_cannot_run_are_typed_errors() {
    let input = (0, "Input", "", &[][..], [1, 2, 1, 2]);
    let err = |layers: &[TestLayer], edges: &[(u32, u32, u32)]| {
        IrNet::from_model(&model(layers, edges).expect("valid IR")).expect_err("refused")
    };
    // An unknown layer type.
    assert!(matches!(
        err(
            &[input, (1, "Softmax", "", &[], [1, 2, 1, 2])],
            &[(0, 1, 0)]
        ),
        IrNetError::Unsupported { .. }
    ));
    // A declared shape the layer does not produce.
    assert!(matches!(
        err(
            &[
                input,
                (1, "Activation", r#"type="sigmoid""#, &[], [1, 2, 2, 2])
            ],
            &[(0, 1, 0)]
        ),
        IrNetError::Shape { .. }
    ));
    // A cycle.
    assert_eq!(
        err(
            &[
                input,
                (1, "Eltwise", r#"operation="sum""#, &[], [1, 2, 1, 2]),
                (2, "Activation", r#"type="sigmoid""#, &[], [1, 2, 1, 2]),
            ],
            &[(0, 1, 0), (2, 1, 1), (1, 2, 0)],
        ),
        IrNetError::Graph("has a cycle")
    );
    // Weights of the wrong size.
    assert!(matches!(
        err(
            &[
                input,
                (1, "Convolution", CONV_1X1, &[&[1.0; 3]], [1, 2, 1, 2])
            ],
            &[(0, 1, 0)]
        ),
        IrNetError::Unsupported { .. }
    ));
    // Two outputs.
    assert_eq!(
        err(
            &[
                input,
                (1, "Activation", r#"type="sigmoid""#, &[], [1, 2, 1, 2]),
                (2, "Activation", r#"type="sigmoid""#, &[], [1, 2, 1, 2]),
            ],
            &[(0, 1, 0), (0, 2, 0)],
        ),
        IrNetError::Graph("does not have exactly one output")
    );
}
