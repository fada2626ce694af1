//! What must hold for any bytes on the OSDP line: the fuzz target
//! (fuzz/fuzz_targets/osdp_reader.rs) runs this on generated inputs, and
//! `tests/fuzz_regressions.rs` replays the inputs kept in `fuzz/regressions/`
//! and the seed corpus.

use std::sync::{Arc, Mutex};

use libosdp::{Channel, ChannelError, OsdpCommand};
use limen_access::osdp::{ReaderProtocol, Scbk, crc16};

const ADDRESS: u8 = 42;
const SCBK: &str = "6c696d656e2d746573742d7363626b21";
/// What the reader may write back per byte it reads, and a little more:
/// replies are bounded by what the panel asks.
const MAX_REPLY_BYTES: usize = 4096;

/// The panel's side of the line: hands the reader the input in small
/// pieces, as a serial line would, and keeps what the reader writes.
struct Line {
    incoming: Vec<u8>,
    read_at: usize,
    piece: usize,
    /// `None` once LibOSDP closed the line.
    written: Option<Arc<Mutex<Vec<u8>>>>,
}

impl Channel for Line {
    fn get_id(&self) -> i32 {
        0
    }
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
        let n = self
            .piece
            .min(buf.len())
            .min(self.incoming.len() - self.read_at);
        if n == 0 {
            // As the non-blocking serial line answers when it holds nothing.
            return Err(ChannelError::WouldBlock);
        }
        buf[..n].copy_from_slice(&self.incoming[self.read_at..self.read_at + n]);
        self.read_at += n;
        Ok(n)
    }
    fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
        let Some(written) = &self.written else {
            return Err(ChannelError::TransportError);
        };
        let mut written = written.lock().map_err(|_| ChannelError::TransportError)?;
        written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), ChannelError> {
        Ok(())
    }
    /// The `libosdp` crate never frees the channel (0.2.2 leaks its box,
    /// see fuzz/osdp_reader.lsan): what the line holds is released here.
    fn close(&mut self) -> Result<(), ChannelError> {
        self.incoming = Vec::new();
        self.written = None;
        Ok(())
    }
}

/// Packets to the reader's address from `[len][control, command, data…]`
/// records, with the length and CRC filled in, so that generated inputs
/// get past the framing to the commands.
fn framed(mut records: &[u8]) -> (Vec<u8>, usize) {
    let (mut line, mut packets) = (Vec::new(), 0);
    while let Some((&len, rest)) = records.split_first() {
        let body = &rest[..usize::from(len).min(rest.len())];
        records = &rest[body.len()..];
        let Some((&control, command)) = body.split_first() else {
            continue;
        };
        let total = 5 + command.len() + 2;
        let mut packet = vec![0x53, ADDRESS];
        packet.extend_from_slice(&u16::try_from(total).unwrap_or(u16::MAX).to_le_bytes());
        // With a CRC rather than a checksum.
        packet.push(control | 0x04);
        packet.extend_from_slice(command);
        packet.extend_from_slice(&crc16(&packet).to_le_bytes());
        line.extend_from_slice(&packet);
        packets += 1;
    }
    (line, packets)
}

/// The reader as the agent runs it, fed what a panel (or anyone on the
/// bus) could send: the first byte picks raw bytes (odd) or framed packets
/// (even) and, above that bit, the read size. Nothing may crash it, a key
/// change from the panel never reaches Limen, and without the key no
/// Secure Channel comes up.
pub fn osdp_reader(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (incoming, packets) = if mode & 1 == 1 {
        (rest.to_vec(), rest.len() / 8)
    } else {
        framed(rest)
    };
    let written = Arc::new(Mutex::new(Vec::new()));
    let line = Line {
        incoming,
        read_at: 0,
        piece: usize::from(mode >> 1).max(1),
        written: Some(Arc::clone(&written)),
    };
    let scbk = Scbk::from_hex(SCBK).expect("a valid key");
    let mut reader = ReaderProtocol::new(ADDRESS, 9600, &scbk, Box::new(line))
        .expect("the reader's settings are valid");
    for _ in 0..packets + 4 {
        reader.refresh();
        for command in reader.take_commands() {
            assert!(
                !matches!(command, OsdpCommand::KeySet(_)),
                "a key change reached Limen"
            );
        }
    }
    assert!(!reader.is_secure(), "a Secure Channel without the key");
    let written = written.lock().expect("not poisoned").len();
    assert!(
        written <= MAX_REPLY_BYTES + 64 * data.len(),
        "{written} bytes written"
    );
}
