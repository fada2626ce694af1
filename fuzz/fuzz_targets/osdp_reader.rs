//! The check in crates/access/tests/fuzz/checks.rs (`osdp_reader`), which the
//! crate's tests also run on the kept regression inputs.
#![no_main]

#[path = "../../crates/access/tests/fuzz/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::osdp_reader(data));
