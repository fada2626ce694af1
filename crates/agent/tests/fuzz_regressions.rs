//! The fuzz targets' regression inputs and seeds, replayed through the
//! same checks the targets run (see fuzz/README.md).

#[path = "fuzz/checks.rs"]
mod checks;
#[path = "../../../fuzz/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn multipart_inputs_replay() {
    replay(env!("CARGO_MANIFEST_DIR"), "multipart", checks::multipart);
}

#[test]
fn mjpeg_stream_inputs_replay() {
    replay(
        env!("CARGO_MANIFEST_DIR"),
        "mjpeg_stream",
        checks::mjpeg_stream,
    );
}
