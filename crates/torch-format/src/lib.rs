//! PyTorch state dicts in the legacy `torch.save` format, read into plain
//! Rust data.
//!
//! This crate knows the *format* only: it turns the bytes of a `.pth` file
//! written by `torch.save(model.state_dict(), f)` (PyTorch before 1.6, or
//! later with `_use_new_zipfile_serialization=False`) into named tensors.
//! Running a network is the face engine's job (`limen-face`). The `.pth`
//! files stay the source of truth: nothing is converted ahead of time.
//!
//! The legacy format is five pickles back to back, then raw storages:
//! a magic number, the protocol version (1001), a description of the
//! saving machine, the state dict itself (tensors refer to storages by key
//! through pickle's persistent ids), and the list of storage keys in the
//! order their bytes follow. Each storage is a little-endian `u64` element
//! count and then its elements, little-endian.
//!
//! Only what a state dict needs is accepted: a fixed set of pickle opcodes
//! (protocol 2) and of globals (`collections.OrderedDict`,
//! `torch._utils._rebuild_tensor_v2` and the typed storages). Nothing is
//! ever imported or called: the "calls" of those globals are interpreted
//! here, and any other global is an error.

mod pickle;
mod state_dict;

pub use pickle::PickleError;
pub use state_dict::{DType, StateDict, Tensor, TensorData, TorchFormatError};
