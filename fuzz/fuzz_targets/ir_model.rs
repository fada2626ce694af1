//! Any bytes as an OpenVINO IR model (a little-endian u32 length, that
//! many bytes of XML topology, the rest the weights file) through the
//! reader and the runtime's graph builder; a graph that builds and is small
//! enough is run once. Each stage must return a value or a typed error,
//! never panic, hang or exhaust memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limen_face::ir_net::IrNet;
use limen_openvino_format::IrModel;

/// Runs are skipped above this cost, to keep every input fast.
const MAX_MULTIPLY_ADDS: usize = 1 << 22;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let xml_len = (u32::from_le_bytes(*head) as usize).min(rest.len());
    let (xml, bin) = rest.split_at(xml_len);
    let Ok(model) = IrModel::parse(xml, bin) else {
        return;
    };
    let Ok(net) = IrNet::from_model(&model) else {
        return;
    };
    let (rows, cols, channels) = net.input_shape();
    if net.multiply_adds() <= MAX_MULTIPLY_ADDS && rows * cols * channels <= 1 << 16 {
        let input: Vec<f32> = (0..rows * cols * channels).map(|i| (i % 251) as f32).collect();
        let _ = net.run(&input);
    }
});
