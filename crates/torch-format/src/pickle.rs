//! A pickle (protocol 2) reader for exactly what `torch.save` writes for a
//! state dict, and nothing more.
//!
//! Values are immutable and cheap to copy (shared with `Rc`), except lists
//! and dicts: pickle fills those *after* memoising them, so they live in an
//! arena and values refer to them by index. Nesting of tuples is bounded, so
//! no input can make dropping a value recurse deeply.

use std::collections::HashMap;
use std::rc::Rc;

use thiserror::Error;

/// Why a pickle could not be read.
#[derive(Debug, Error, PartialEq)]
pub enum PickleError {
    #[error("unexpected end of data at byte {offset}")]
    Truncated { offset: usize },
    #[error("unsupported pickle opcode 0x{opcode:02x} at byte {offset}")]
    Opcode { opcode: u8, offset: usize },
    #[error("unsupported global {module}.{name}")]
    Global { module: String, name: String },
    #[error("malformed pickle at byte {offset}: {what}")]
    Malformed { offset: usize, what: &'static str },
}

/// Element types of the storages this reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F64,
    I64,
}

impl DType {
    pub fn element_size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 | DType::I64 => 8,
        }
    }
}

/// The callables a state dict pickle names; nothing else is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    OrderedDict,
    RebuildTensorV2,
    Storage(DType),
}

/// A storage as a persistent id names it; its bytes follow the pickles.
#[derive(Debug, PartialEq)]
pub struct StorageRef {
    pub dtype: DType,
    pub key: Rc<str>,
    pub len: usize,
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage.
#[derive(Debug, PartialEq)]
pub struct TensorRef {
    pub storage: Rc<StorageRef>,
    pub offset: usize,
    pub shape: Vec<usize>,
    pub stride: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i128),
    Str(Rc<str>),
    Tuple(Rc<Tuple>),
    /// Index into [`Arena::lists`].
    List(usize),
    /// Index into [`Arena::dicts`].
    Dict(usize),
    Global(Global),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
}

#[derive(Debug, PartialEq)]
pub struct Tuple {
    pub items: Box<[Value]>,
    depth: usize,
}

/// Tuples nest at most this deep (a state dict needs 3).
const MAX_TUPLE_DEPTH: usize = 32;

/// The mutable containers of one pickle.
#[derive(Debug, Default, PartialEq)]
pub struct Arena {
    pub lists: Vec<Vec<Value>>,
    /// Items in insertion order; a key set twice appears twice.
    pub dicts: Vec<Vec<(Value, Value)>>,
}

mod op {
    pub const PROTO: u8 = 0x80;
    pub const STOP: u8 = b'.';
    pub const MARK: u8 = b'(';
    pub const NONE: u8 = b'N';
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const LONG1: u8 = 0x8a;
    pub const BINUNICODE: u8 = b'X';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const TUPLE: u8 = b't';
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const EMPTY_LIST: u8 = b']';
    pub const APPEND: u8 = b'a';
    pub const APPENDS: u8 = b'e';
    pub const EMPTY_DICT: u8 = b'}';
    pub const SETITEM: u8 = b's';
    pub const SETITEMS: u8 = b'u';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
    pub const GLOBAL: u8 = b'c';
    pub const REDUCE: u8 = b'R';
    pub const BUILD: u8 = b'b';
    pub const BINPERSID: u8 = b'Q';
}

/// Runs the pickle starting at `start` in `data`; returns its value, the
/// arena its containers live in, and the offset just past its STOP.
pub fn load(data: &[u8], start: usize) -> Result<(Value, Arena, usize), PickleError> {
    let mut machine = Machine {
        data,
        at: start,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        arena: Arena::default(),
    };
    let value = machine.run()?;
    Ok((value, machine.arena, machine.at))
}

struct Machine<'a> {
    data: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    /// Stack lengths at each MARK.
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    arena: Arena,
}

impl<'a> Machine<'a> {
    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            let offset = self.at;
            let opcode = self.byte()?;
            match opcode {
                op::PROTO => {
                    if self.byte()? > 2 {
                        return Err(malformed(offset, "protocol above 2"));
                    }
                }
                op::STOP => {
                    let value = self.pop(offset)?;
                    if !self.stack.is_empty() || !self.marks.is_empty() {
                        return Err(malformed(offset, "values left on the stack"));
                    }
                    return Ok(value);
                }
                op::MARK => self.marks.push(self.stack.len()),
                op::NONE => self.stack.push(Value::None),
                op::NEWTRUE => self.stack.push(Value::Bool(true)),
                op::NEWFALSE => self.stack.push(Value::Bool(false)),
                op::BININT => {
                    let v = i32::from_le_bytes(self.array()?);
                    self.stack.push(Value::Int(v.into()));
                }
                op::BININT1 => {
                    let v = self.byte()?;
                    self.stack.push(Value::Int(v.into()));
                }
                op::BININT2 => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.stack.push(Value::Int(v.into()));
                }
                op::LONG1 => {
                    let n = usize::from(self.byte()?);
                    let bytes = self.take(n)?;
                    if n > 16 {
                        return Err(malformed(offset, "integer wider than 128 bits"));
                    }
                    self.stack.push(Value::Int(twos_complement(bytes)));
                }
                op::BINUNICODE => {
                    let n = u32::from_le_bytes(self.array()?) as usize;
                    let bytes = self.take(n)?;
                    let s = std::str::from_utf8(bytes)
                        .map_err(|_| malformed(offset, "string not UTF-8"))?;
                    self.stack.push(Value::Str(s.into()));
                }
                op::EMPTY_TUPLE => self.push_tuple(Vec::new(), offset)?,
                op::TUPLE => {
                    let items = self.pop_mark(offset)?;
                    self.push_tuple(items, offset)?;
                }
                op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                    let n = usize::from(opcode - op::TUPLE1 + 1);
                    let at = self
                        .stack
                        .len()
                        .checked_sub(n)
                        .filter(|&at| at >= self.marks.last().copied().unwrap_or(0))
                        .ok_or_else(|| malformed(offset, "stack underflow"))?;
                    let items = self.stack.split_off(at);
                    self.push_tuple(items, offset)?;
                }
                op::EMPTY_LIST => {
                    self.arena.lists.push(Vec::new());
                    self.stack.push(Value::List(self.arena.lists.len() - 1));
                }
                op::APPEND => {
                    let item = self.pop(offset)?;
                    let list = self.top_list(offset)?;
                    self.arena.lists[list].push(item);
                }
                op::APPENDS => {
                    let items = self.pop_mark(offset)?;
                    let list = self.top_list(offset)?;
                    self.arena.lists[list].extend(items);
                }
                op::EMPTY_DICT => self.push_dict(),
                op::SETITEM => {
                    let value = self.pop(offset)?;
                    let key = self.pop(offset)?;
                    let dict = self.top_dict(offset)?;
                    self.arena.dicts[dict].push((key, value));
                }
                op::SETITEMS => {
                    let items = self.pop_mark(offset)?;
                    if items.len() % 2 != 0 {
                        return Err(malformed(offset, "odd number of dict items"));
                    }
                    let dict = self.top_dict(offset)?;
                    let mut items = items.into_iter();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        self.arena.dicts[dict].push((k, v));
                    }
                }
                op::BINPUT => {
                    let index = self.byte()?.into();
                    self.memoise(index, offset)?;
                }
                op::LONG_BINPUT => {
                    let index = u32::from_le_bytes(self.array()?);
                    self.memoise(index, offset)?;
                }
                op::BINGET | op::LONG_BINGET => {
                    let index = if opcode == op::BINGET {
                        self.byte()?.into()
                    } else {
                        u32::from_le_bytes(self.array()?)
                    };
                    let value = self
                        .memo
                        .get(&index)
                        .cloned()
                        .ok_or_else(|| malformed(offset, "memo entry never stored"))?;
                    self.stack.push(value);
                }
                op::GLOBAL => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let global = global(module, name)?;
                    self.stack.push(Value::Global(global));
                }
                op::REDUCE => {
                    let args = self.pop(offset)?;
                    let callable = self.pop(offset)?;
                    let value = self.reduce(callable, args, offset)?;
                    self.stack.push(value);
                }
                op::BUILD => {
                    // Only an OrderedDict's attributes (the state dict's
                    // `_metadata`: layer versions) are ever set; they do not
                    // change what the tensors mean.
                    let state = self.pop(offset)?;
                    if !matches!(state, Value::Dict(_)) {
                        return Err(malformed(offset, "BUILD state is not a dict"));
                    }
                    self.top_dict(offset)?;
                }
                op::BINPERSID => {
                    let pid = self.pop(offset)?;
                    let storage = self.persistent_load(pid, offset)?;
                    self.stack.push(storage);
                }
                _ => return Err(PickleError::Opcode { opcode, offset }),
            }
        }
    }

    fn reduce(
        &mut self,
        callable: Value,
        args: Value,
        offset: usize,
    ) -> Result<Value, PickleError> {
        let Value::Tuple(args) = args else {
            return Err(malformed(offset, "REDUCE arguments are not a tuple"));
        };
        match (callable, &args.items[..]) {
            (Value::Global(Global::OrderedDict), []) => {
                self.push_dict();
                self.pop(offset)
            }
            (
                Value::Global(Global::RebuildTensorV2),
                [
                    Value::Storage(storage),
                    Value::Int(tensor_offset),
                    Value::Tuple(shape),
                    Value::Tuple(stride),
                    Value::Bool(_requires_grad),
                    Value::Dict(_backward_hooks),
                ],
            ) => {
                let dims = |t: &Tuple| -> Option<Vec<usize>> {
                    t.items
                        .iter()
                        .map(|v| match v {
                            Value::Int(i) => usize::try_from(*i).ok(),
                            _ => None,
                        })
                        .collect()
                };
                let (Some(shape), Some(stride), Ok(tensor_offset)) =
                    (dims(shape), dims(stride), usize::try_from(*tensor_offset))
                else {
                    return Err(malformed(
                        offset,
                        "tensor geometry is not unsigned integers",
                    ));
                };
                if shape.len() != stride.len() {
                    return Err(malformed(offset, "tensor shape and stride differ in rank"));
                }
                Ok(Value::Tensor(Rc::new(TensorRef {
                    storage: storage.clone(),
                    offset: tensor_offset,
                    shape,
                    stride,
                })))
            }
            _ => Err(malformed(offset, "unsupported call")),
        }
    }

    /// `('storage', <storage type>, key, location, element count, view)`.
    fn persistent_load(&self, pid: Value, offset: usize) -> Result<Value, PickleError> {
        if let Value::Tuple(pid) = &pid
            && let [
                Value::Str(kind),
                Value::Global(Global::Storage(dtype)),
                Value::Str(key),
                Value::Str(_location),
                Value::Int(len),
                Value::None,
            ] = &pid.items[..]
            && &**kind == "storage"
            && let Ok(len) = usize::try_from(*len)
        {
            return Ok(Value::Storage(Rc::new(StorageRef {
                dtype: *dtype,
                key: key.clone(),
                len,
            })));
        }
        Err(malformed(offset, "persistent id is not a storage"))
    }

    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let bytes = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or(PickleError::Truncated {
                offset: self.data.len(),
            })?;
        let data = self.data;
        let bytes = &data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    /// A newline-terminated ASCII line (GLOBAL's operands), at most 256 bytes.
    fn line(&mut self) -> Result<String, PickleError> {
        let offset = self.at;
        let rest = &self.data[self.at..];
        let len = rest
            .iter()
            .take(256)
            .position(|&b| b == b'\n')
            .ok_or_else(|| malformed(offset, "GLOBAL operand without newline"))?;
        let line = std::str::from_utf8(&rest[..len])
            .ok()
            .filter(|s| s.is_ascii())
            .ok_or_else(|| malformed(offset, "GLOBAL operand not ASCII"))?
            .to_owned();
        self.at += len + 1;
        Ok(line)
    }

    /// The top value; values below the last MARK belong to an open group.
    fn pop(&mut self, offset: usize) -> Result<Value, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(malformed(offset, "stack underflow"));
        }
        self.stack
            .pop()
            .ok_or_else(|| malformed(offset, "stack underflow"))
    }

    /// Everything pushed since the last MARK, which is removed.
    fn pop_mark(&mut self, offset: usize) -> Result<Vec<Value>, PickleError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| malformed(offset, "no MARK"))?;
        Ok(self.stack.split_off(mark))
    }

    fn push_tuple(&mut self, items: Vec<Value>, offset: usize) -> Result<(), PickleError> {
        let depth = 1 + items
            .iter()
            .map(|v| match v {
                Value::Tuple(t) => t.depth,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        if depth > MAX_TUPLE_DEPTH {
            return Err(malformed(offset, "tuples nested too deeply"));
        }
        self.stack.push(Value::Tuple(Rc::new(Tuple {
            items: items.into_boxed_slice(),
            depth,
        })));
        Ok(())
    }

    fn push_dict(&mut self) {
        self.arena.dicts.push(Vec::new());
        self.stack.push(Value::Dict(self.arena.dicts.len() - 1));
    }

    fn top_list(&self, offset: usize) -> Result<usize, PickleError> {
        match self.stack.last() {
            Some(Value::List(i)) => Ok(*i),
            _ => Err(malformed(offset, "APPEND to something not a list")),
        }
    }

    fn top_dict(&self, offset: usize) -> Result<usize, PickleError> {
        match self.stack.last() {
            Some(Value::Dict(i)) => Ok(*i),
            _ => Err(malformed(offset, "item set on something not a dict")),
        }
    }

    fn memoise(&mut self, index: u32, offset: usize) -> Result<(), PickleError> {
        let value = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| malformed(offset, "memoise on an empty stack"))?;
        self.memo.insert(index, value);
        Ok(())
    }
}

fn malformed(offset: usize, what: &'static str) -> PickleError {
    PickleError::Malformed { offset, what }
}

fn global(module: String, name: String) -> Result<Global, PickleError> {
    Ok(match (module.as_str(), name.as_str()) {
        ("collections", "OrderedDict") => Global::OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
        ("torch", "FloatStorage") => Global::Storage(DType::F32),
        ("torch", "DoubleStorage") => Global::Storage(DType::F64),
        ("torch", "LongStorage") => Global::Storage(DType::I64),
        _ => return Err(PickleError::Global { module, name }),
    })
}

/// Little-endian two's complement of at most 16 bytes (LONG1's encoding).
fn twos_complement(bytes: &[u8]) -> i128 {
    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
    let mut buf = [if negative { 0xff } else { 0 }; 16];
    buf[..bytes.len()].copy_from_slice(bytes);
    i128::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> Result<(Value, Arena, usize), PickleError> {
        load(bytes, 0)
    }

    #[test]
    fn reads_integers_of_every_width() {
        assert_eq!(run(b"\x80\x02K\x07.").expect("ok").0, Value::Int(7));
        assert_eq!(run(b"M\xe9\x03.").expect("ok").0, Value::Int(1001));
        assert_eq!(run(b"J\xff\xff\xff\xff.").expect("ok").0, Value::Int(-1));
        assert_eq!(run(b"\x8a\x02\x00\x80.").expect("ok").0, Value::Int(-32768));
        assert_eq!(run(b"\x8a\x00.").expect("ok").0, Value::Int(0));
    }

    #[test]
    fn a_dict_filled_after_memoising_is_seen_filled() {
        // {} memoised, filled with 'a': 1, then fetched from the memo:
        // (d, memo[0]) must be the same, filled dict twice.
        let (value, arena, _) = run(b"}q\x00X\x01\x00\x00\x00aK\x01sh\x00\x86.").expect("ok");
        let Value::Tuple(pair) = value else {
            panic!("not a tuple: {value:?}")
        };
        assert_eq!(pair.items[..], [Value::Dict(0), Value::Dict(0)]);
        assert_eq!(
            arena.dicts[0],
            vec![(Value::Str("a".into()), Value::Int(1))]
        );
    }

    #[test]
    fn refuses_unknown_globals_and_opcodes() {
        assert_eq!(
            run(b"cos\nsystem\n."),
            Err(PickleError::Global {
                module: "os".into(),
                name: "system".into()
            })
        );
        assert!(matches!(
            run(b"S'x'\n."),
            Err(PickleError::Opcode { opcode: b'S', .. })
        ));
    }

    #[test]
    fn refuses_deep_nesting_underflow_and_truncation() {
        let mut deep = b")".to_vec();
        deep.extend(std::iter::repeat_n(op::TUPLE1, 100));
        deep.push(b'.');
        assert!(matches!(run(&deep), Err(PickleError::Malformed { .. })));
        assert!(matches!(run(b"s."), Err(PickleError::Malformed { .. })));
        assert!(matches!(
            run(b"(K\x01\x85."),
            Err(PickleError::Malformed { .. })
        ));
        assert!(matches!(
            run(b"X\xff\x00\x00\x00ab"),
            Err(PickleError::Truncated { .. })
        ));
        assert!(matches!(run(b"K\x01"), Err(PickleError::Truncated { .. })));
    }
}
