//! The fuzz targets' regression inputs and seeds, replayed through the
//! same checks the targets run (see fuzz/README.md).

#[path = "fuzz/checks.rs"]
mod checks;
#[path = "../../../fuzz/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn csv_import_inputs_replay() {
    replay(env!("CARGO_MANIFEST_DIR"), "csv_import", checks::csv_import);
}

#[test]
fn json_bodies_inputs_replay() {
    replay(
        env!("CARGO_MANIFEST_DIR"),
        "json_bodies",
        checks::json_bodies,
    );
}

#[test]
fn config_file_inputs_replay() {
    replay(
        env!("CARGO_MANIFEST_DIR"),
        "config_file",
        checks::config_file,
    );
}
