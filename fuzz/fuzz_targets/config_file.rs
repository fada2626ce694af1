//! The check in crates/server/tests/fuzz/checks.rs (`config_file`), which the
//! crate's tests also run on the kept regression inputs.
#![no_main]
// The checks file holds the crate's other targets' checks too.
#![allow(dead_code)]

#[path = "../../crates/server/tests/fuzz/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::config_file(data));
