//! The legacy `torch.save` container around a state dict: the header
//! pickles, the state dict, the storage list and the raw storages.

use std::collections::HashMap;
use std::rc::Rc;

use thiserror::Error;

pub use crate::pickle::DType;
use crate::pickle::{self, Arena, PickleError, StorageRef, TensorRef, Value};

/// `torch.serialization.MAGIC_NUMBER`.
const MAGIC_NUMBER: i128 = 0x1950a86a20f9469cfc6c;
/// `torch.serialization.PROTOCOL_VERSION`.
const PROTOCOL_VERSION: i128 = 1001;

/// Why a file is not a state dict this crate can read.
#[derive(Debug, Error, PartialEq)]
pub enum TorchFormatError {
    #[error(transparent)]
    Pickle(#[from] PickleError),
    #[error("a zip-format torch.save file; only the legacy format is read")]
    ZipFormat,
    #[error("not a torch.save file (no magic number)")]
    NotTorch,
    #[error("unsupported torch.save protocol version {0}")]
    Protocol(i128),
    #[error("saved on a big-endian machine; not supported")]
    BigEndian,
    #[error("the saved object is not a state dict: {0}")]
    NotStateDict(&'static str),
    #[error("storage {key}: {what}")]
    Storage { key: String, what: &'static str },
    #[error("tensor {name}: {what}")]
    Tensor { name: String, what: &'static str },
    #[error("{0} bytes after the last storage")]
    TrailingBytes(usize),
}

/// The values of a tensor, in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
}

/// A dense tensor copied out of its storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Tensor {
    /// The values if the tensor holds 32-bit floats.
    pub fn f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }
}

/// A state dict: parameter and buffer names with their tensors, in the
/// order they were saved.
#[derive(Debug, Clone, PartialEq)]
pub struct StateDict {
    tensors: Vec<(String, Tensor)>,
}

impl StateDict {
    /// Reads a legacy `torch.save` file holding a state dict.
    pub fn parse(bytes: &[u8]) -> Result<StateDict, TorchFormatError> {
        if bytes.starts_with(b"PK\x03\x04") {
            return Err(TorchFormatError::ZipFormat);
        }
        let (magic, _, at) = pickle::load(bytes, 0).map_err(|_| TorchFormatError::NotTorch)?;
        if magic != Value::Int(MAGIC_NUMBER) {
            return Err(TorchFormatError::NotTorch);
        }
        let (protocol, _, at) = pickle::load(bytes, at)?;
        match protocol {
            Value::Int(PROTOCOL_VERSION) => {}
            Value::Int(v) => return Err(TorchFormatError::Protocol(v)),
            _ => return Err(TorchFormatError::NotTorch),
        }
        let (sys_info, arena, at) = pickle::load(bytes, at)?;
        if !little_endian(&sys_info, &arena) {
            return Err(TorchFormatError::BigEndian);
        }
        let (root, arena, at) = pickle::load(bytes, at)?;
        let entries = named_tensors(&root, &arena)?;
        let (keys, key_arena, at) = pickle::load(bytes, at)?;
        let Value::List(keys) = keys else {
            return Err(TorchFormatError::NotStateDict(
                "storage keys are not a list",
            ));
        };
        let storages = read_storages(bytes, at, &key_arena.lists[keys], &entries)?;
        // Views of one storage could otherwise be copied out many times over.
        let mut budget: usize = storages.values().map(|s| s.len).sum();
        let tensors = entries
            .into_iter()
            .map(|(name, tensor)| {
                let storage =
                    storages
                        .get(&*tensor.storage.key)
                        .ok_or_else(|| TorchFormatError::Tensor {
                            name: name.clone(),
                            what: "its storage is missing",
                        })?;
                let data = dense(&name, &tensor, storage, &mut budget)?;
                Ok((
                    name,
                    Tensor {
                        shape: tensor.shape.clone(),
                        data,
                    },
                ))
            })
            .collect::<Result<_, TorchFormatError>>()?;
        Ok(StateDict { tensors })
    }

    /// The tensor saved under `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Every name and tensor, in saved order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.tensors.iter().map(|(n, t)| (n.as_str(), t))
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }
}

fn little_endian(sys_info: &Value, arena: &Arena) -> bool {
    let Value::Dict(i) = sys_info else {
        return false;
    };
    arena.dicts[*i].iter().any(|(k, v)| {
        matches!(k, Value::Str(k) if &**k == "little_endian") && *v == Value::Bool(true)
    })
}

fn named_tensors(
    root: &Value,
    arena: &Arena,
) -> Result<Vec<(String, Rc<TensorRef>)>, TorchFormatError> {
    let Value::Dict(i) = root else {
        return Err(TorchFormatError::NotStateDict("not a dict"));
    };
    let mut out: Vec<(String, Rc<TensorRef>)> = Vec::with_capacity(arena.dicts[*i].len());
    for (key, value) in &arena.dicts[*i] {
        let (Value::Str(name), Value::Tensor(tensor)) = (key, value) else {
            return Err(TorchFormatError::NotStateDict(
                "an entry is not a name and a tensor",
            ));
        };
        if out.iter().any(|(n, _)| n == &**name) {
            return Err(TorchFormatError::Tensor {
                name: name.to_string(),
                what: "saved twice",
            });
        }
        out.push((name.to_string(), tensor.clone()));
    }
    Ok(out)
}

/// A storage's raw little-endian bytes, as the file holds them.
struct Storage<'a> {
    dtype: DType,
    len: usize,
    bytes: &'a [u8],
}

fn read_storages<'a>(
    bytes: &'a [u8],
    mut at: usize,
    keys: &[Value],
    entries: &[(String, Rc<TensorRef>)],
) -> Result<HashMap<Rc<str>, Storage<'a>>, TorchFormatError> {
    // Every tensor's reference to a storage must agree on its type and size.
    let mut declared: HashMap<&str, &StorageRef> = HashMap::new();
    for (_, tensor) in entries {
        let s = &tensor.storage;
        match declared.get(&*s.key) {
            Some(d) if (d.dtype, d.len) != (s.dtype, s.len) => {
                return Err(storage_error(&s.key, "described two ways"));
            }
            _ => {
                declared.insert(&s.key, s);
            }
        }
    }
    let mut storages = HashMap::new();
    for key in keys {
        let Value::Str(key) = key else {
            return Err(TorchFormatError::NotStateDict(
                "a storage key is not a string",
            ));
        };
        let Some(&declared) = declared.get(&**key) else {
            return Err(storage_error(key, "used by no tensor"));
        };
        let count = bytes
            .get(at..at + 8)
            .ok_or_else(|| storage_error(key, "truncated"))?;
        let count = u64::from_le_bytes(count.try_into().unwrap_or_default());
        if usize::try_from(count).ok() != Some(declared.len) {
            return Err(storage_error(
                key,
                "element count differs from its description",
            ));
        }
        let len = declared
            .len
            .checked_mul(declared.dtype.element_size())
            .ok_or_else(|| storage_error(key, "too large"))?;
        let data = bytes
            .get(at + 8..)
            .and_then(|rest| rest.get(..len))
            .ok_or_else(|| storage_error(key, "truncated"))?;
        at += 8 + len;
        if storages
            .insert(
                key.clone(),
                Storage {
                    dtype: declared.dtype,
                    len: declared.len,
                    bytes: data,
                },
            )
            .is_some()
        {
            return Err(storage_error(key, "listed twice"));
        }
    }
    if at != bytes.len() {
        return Err(TorchFormatError::TrailingBytes(bytes.len() - at));
    }
    Ok(storages)
}

fn storage_error(key: &str, what: &'static str) -> TorchFormatError {
    TorchFormatError::Storage {
        key: key.to_owned(),
        what,
    }
}

/// The tensor's values copied out of its storage; only row-major views
/// (what `state_dict()` saves) are accepted.
fn dense(
    name: &str,
    tensor: &TensorRef,
    storage: &Storage,
    budget: &mut usize,
) -> Result<TensorData, TorchFormatError> {
    let error = |what| TorchFormatError::Tensor {
        name: name.to_owned(),
        what,
    };
    if tensor.storage.dtype != storage.dtype {
        return Err(error("its type differs from its storage's"));
    }
    let mut expected = 1usize;
    for (&size, &stride) in tensor.shape.iter().zip(&tensor.stride).rev() {
        if size != 1 && stride != expected {
            return Err(error("not a row-major view"));
        }
        expected = expected
            .checked_mul(size)
            .ok_or_else(|| error("too large"))?;
    }
    let numel = expected;
    if tensor
        .offset
        .checked_add(numel)
        .is_none_or(|end| end > storage.len)
    {
        return Err(error("reaches past its storage"));
    }
    *budget = budget
        .checked_sub(numel)
        .ok_or_else(|| error("views copy more than the storages hold"))?;
    let size = storage.dtype.element_size();
    let bytes = &storage.bytes[tensor.offset * size..(tensor.offset + numel) * size];
    Ok(match storage.dtype {
        DType::F32 => TensorData::F32(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        DType::F64 => TensorData::F64(
            bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default()))
                .collect(),
        ),
        DType::I64 => TensorData::I64(
            bytes
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default()))
                .collect(),
        ),
    })
}
