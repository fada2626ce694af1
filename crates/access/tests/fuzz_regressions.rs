//! The fuzz targets' regression inputs and seeds, replayed through the
//! same checks the targets run (see fuzz/README.md).

#[path = "fuzz/checks.rs"]
mod checks;
#[path = "../../../fuzz/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn osdp_reader_inputs_replay() {
    replay(
        env!("CARGO_MANIFEST_DIR"),
        "osdp_reader",
        checks::osdp_reader,
    );
}
