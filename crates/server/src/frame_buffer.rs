//! A frame's bytes as they arrive, in one buffer reserved up front. A
//! `Vec` that grows moves its contents and frees the old allocation
//! unwiped, leaving copies of a face in freed memory; this buffer never
//! grows, and is wiped when dropped.

use zeroize::Zeroizing;

/// The frame is larger than its limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooLarge;

pub(crate) struct FrameBuffer {
    bytes: Zeroizing<Vec<u8>>,
}

impl FrameBuffer {
    /// Reserves `limit` bytes: the most the frame may hold.
    pub(crate) fn with_limit(limit: usize) -> FrameBuffer {
        FrameBuffer {
            bytes: Zeroizing::new(Vec::with_capacity(limit)),
        }
    }

    /// Appends `chunk`, refusing what would not fit the reservation.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), TooLarge> {
        if self.bytes.len() + chunk.len() > self.bytes.capacity() {
            return Err(TooLarge);
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn into_frame(self) -> Zeroizing<Vec<u8>> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_never_move_however_they_arrive() {
        let mut buffer = FrameBuffer::with_limit(64 * 1024);
        let at = buffer.bytes.as_ptr();
        for i in 0..1024u32 {
            buffer.push(&i.to_le_bytes()).expect("fits");
            assert_eq!(buffer.bytes.as_ptr(), at, "moved after chunk {i}");
        }
        let rest = vec![7u8; 64 * 1024 - 4096];
        buffer.push(&rest).expect("fits exactly");
        assert_eq!(buffer.bytes.as_ptr(), at);
        assert_eq!(buffer.push(&[1]), Err(TooLarge));
        let frame = buffer.into_frame();
        assert_eq!(frame.as_ptr(), at);
        assert_eq!(frame.len(), 64 * 1024);
    }
}
