//! Any bytes through the legacy `torch.save` reader: a state dict or a
//! typed error, never a panic, a hang or memory out of proportion to the
//! input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use limen_torch_format::StateDict;

fuzz_target!(|data: &[u8]| {
    let _ = StateDict::parse(data);
});
