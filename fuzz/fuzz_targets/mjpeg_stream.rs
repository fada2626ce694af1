//! The check in crates/agent/tests/fuzz/checks.rs (`mjpeg_stream`), which the
//! crate's tests also run on the kept regression inputs.
#![no_main]
// The checks file holds the crate's other targets' checks too.
#![allow(dead_code)]

#[path = "../../crates/agent/tests/fuzz/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::mjpeg_stream(data));
