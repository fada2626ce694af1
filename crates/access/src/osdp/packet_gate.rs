//! Only whole, checked OSDP packets reach LibOSDP.
//!
//! LibOSDP 3.2.7 looks a command's name up in a table with holes (0x63,
//! 0x6F–0x72, 0x78–0x7A, 0x7D–0x7F, 0x81–0xA0, 0xA6) and dereferences the
//! null it finds there when it logs the command, which it does for any
//! command refused before the Secure Channel is up: one 8-byte packet from
//! anyone on the bus crashed the agent. So the reader frames the line
//! itself and hands LibOSDP a packet only when LibOSDP's framer will take
//! exactly that packet (start of message, length, direction and check
//! bytes as `osdp_phy.c` checks them) and its command is one LibOSDP names.
//! Anything else is dropped as line noise would be: the panel sees no
//! answer and repeats itself, as after a corrupted packet.
//!
//! LibOSDP gets at most one packet per refresh, whole. It takes one packet
//! per refresh, so it never holds part of one or two at once, and never
//! resynchronises inside a packet, where payload bytes crafted by the
//! sender could pose as a packet of their own.
//!
//! On a multi-drop bus most packets are the panel's commands to other
//! readers. They are skipped whole here, so they never take this reader's
//! turns: LibOSDP would drop them anyway, but one turn at a time, and a
//! busy bus would leave the panel's commands to this reader waiting behind
//! them. The reader's address cannot change under the gate: the reader
//! refuses the panel's COMSET (`ReaderProtocol::new`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use libosdp::{Channel, ChannelError};

const MARK: u8 = 0xFF;
const START_OF_MESSAGE: u8 = 0x53;
/// Start of message, address, length (two bytes), control.
const HEADER_LEN: usize = 5;
/// LibOSDP's packet buffer, which the mark byte shares with the packet.
const LIBOSDP_PACKET_BUFFER: usize = 256;
/// The address bit that marks a reply: a peripheral takes only commands.
const REPLY_BIT: u8 = 0x80;
/// The address every reader on the bus takes a command for.
const BROADCAST_ADDRESS: u8 = 0x7F;
const CONTROL_CRC: u8 = 0x04;
const CONTROL_SECURITY_BLOCK: u8 = 0x08;
/// Bytes read from the line and not yet framed: room for a few packets.
const PENDING_LIMIT: usize = 4 * LIBOSDP_PACKET_BUFFER;

/// The commands LibOSDP 3.2.7 has a name for (`osdp_cmd_name`).
const NAMED_COMMANDS: [u8; 28] = [
    0x60, 0x61, 0x62, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x73, 0x74,
    0x75, 0x76, 0x77, 0x7B, 0x7C, 0x80, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA7,
];

/// Lets LibOSDP take the next packet; the reader opens it at each refresh.
#[derive(Clone, Default)]
pub(super) struct Turn(Arc<AtomicBool>);

impl Turn {
    pub(super) fn open(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_open(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn close(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A channel between the serial line and LibOSDP that passes whole,
/// checked packets with named commands, one per turn.
pub(super) struct PacketGate {
    line: Box<dyn Channel>,
    turn: Turn,
    /// This reader's address on the bus.
    address: u8,
    /// Bytes read from the line, not yet framed.
    pending: Vec<u8>,
    /// The packet being handed to LibOSDP, and how much of it it has read.
    released: Vec<u8>,
    released_read: usize,
}

impl PacketGate {
    pub(super) fn new(line: Box<dyn Channel>, turn: Turn, address: u8) -> Self {
        Self {
            line,
            turn,
            address,
            pending: Vec::with_capacity(PENDING_LIMIT),
            released: Vec::with_capacity(LIBOSDP_PACKET_BUFFER),
            released_read: 0,
        }
    }

    /// Reads what the line holds, up to the pending limit. An error is
    /// returned only when nothing was read.
    fn fill(&mut self) -> Result<(), ChannelError> {
        let mut chunk = [0u8; LIBOSDP_PACKET_BUFFER];
        while self.pending.len() < PENDING_LIMIT {
            let room = (PENDING_LIMIT - self.pending.len()).min(chunk.len());
            match self.line.read(&mut chunk[..room]) {
                Ok(0) | Err(ChannelError::WouldBlock) => break,
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(error) if self.pending.is_empty() => return Err(error),
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Takes the next packet LibOSDP may have out of the pending bytes,
    /// dropping what comes before it; `None` until one is complete.
    fn next_packet(&mut self) -> Option<Vec<u8>> {
        loop {
            let Some(start) = self.pending.iter().position(|&b| b == START_OF_MESSAGE) else {
                // A mark at the end may belong to a packet still arriving.
                let keep = usize::from(self.pending.last() == Some(&MARK));
                self.pending.drain(..self.pending.len() - keep);
                return None;
            };
            let marked = start > 0 && self.pending[start - 1] == MARK;
            self.pending.drain(..start - usize::from(marked));
            let start = usize::from(marked);
            match frame(&self.pending[start..], marked, self.address) {
                Framing::Incomplete => return None,
                Framing::Packet(len) => {
                    let packet = self.pending.drain(..start + len).collect();
                    return Some(packet);
                }
                Framing::Refused(len) => {
                    self.pending.drain(..start + len);
                }
                Framing::NotAPacket => {
                    // Look for the next start after this one.
                    self.pending.drain(..=start);
                }
            }
        }
    }
}

enum Framing {
    /// More bytes are needed to tell.
    Incomplete,
    /// A packet of this length LibOSDP may have.
    Packet(usize),
    /// A whole, well-formed packet of this length that LibOSDP may not have.
    Refused(usize),
    /// The start byte begins nothing LibOSDP would frame.
    NotAPacket,
}

/// Frames the bytes from a start of message as LibOSDP's peripheral at
/// `own_address` does.
fn frame(bytes: &[u8], marked: bool, own_address: u8) -> Framing {
    if bytes.len() < HEADER_LEN {
        return Framing::Incomplete;
    }
    let (address, control) = (bytes[1], bytes[4]);
    let len = usize::from(u16::from_le_bytes([bytes[2], bytes[3]]));
    if len + usize::from(marked) > LIBOSDP_PACKET_BUFFER || len < HEADER_LEN + 1 {
        return Framing::NotAPacket;
    }
    let Some(packet) = bytes.get(..len) else {
        return Framing::Incomplete;
    };
    let check_len = if control & CONTROL_CRC != 0 { 2 } else { 1 };
    let (body, check) = packet.split_at(len - check_len);
    let checked = if check_len == 2 {
        check == crc16(body).to_le_bytes()
    } else {
        check[0] == checksum(body)
    };
    if !checked {
        return Framing::NotAPacket;
    }
    // Another reader's reply, whole: skipped whole, never searched inside.
    if address & REPLY_BIT != 0 {
        return Framing::Refused(len);
    }
    // A command for another reader on the bus: skipped whole too.
    if address != own_address && address != BROADCAST_ADDRESS {
        return Framing::Refused(len);
    }
    let command_at = if control & CONTROL_SECURITY_BLOCK != 0 {
        body.get(HEADER_LEN)
            .map(|&block_len| HEADER_LEN + usize::from(block_len))
    } else {
        Some(HEADER_LEN)
    };
    match command_at.and_then(|at| body.get(at)) {
        Some(command) if NAMED_COMMANDS.contains(command) => Framing::Packet(len),
        _ => Framing::Refused(len),
    }
}

/// OSDP's CRC-16 (polynomial 0x1021, initial value 0x1D0F).
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0x1D0F, |mut crc: u16, &byte| {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
        crc
    })
}

/// OSDP's one-byte checksum: the two's complement of the bytes' sum.
fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |sum, &byte| sum.wrapping_add(byte))
        .wrapping_neg()
}

impl Channel for PacketGate {
    fn get_id(&self) -> i32 {
        self.line.get_id()
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
        if self.released_read == self.released.len() {
            if !self.turn.is_open() {
                return Ok(0);
            }
            let filled = self.fill();
            let Some(packet) = self.next_packet() else {
                return filled.map(|()| 0);
            };
            self.turn.close();
            self.released = packet;
            self.released_read = 0;
        }
        let rest = &self.released[self.released_read..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.released_read += n;
        Ok(n)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
        self.line.write(buf)
    }

    fn flush(&mut self) -> Result<(), ChannelError> {
        self.line.flush()
    }

    fn close(&mut self) -> Result<(), ChannelError> {
        self.pending = Vec::new();
        self.released = Vec::new();
        self.released_read = 0;
        self.line.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line that holds the given bytes and hands them out in pieces.
    struct Bytes {
        bytes: Vec<u8>,
        at: usize,
        piece: usize,
    }

    impl Channel for Bytes {
        fn get_id(&self) -> i32 {
            0
        }
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
            let n = self.piece.min(buf.len()).min(self.bytes.len() - self.at);
            if n == 0 {
                return Err(ChannelError::WouldBlock);
            }
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
        fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> Result<(), ChannelError> {
            Ok(())
        }
        fn close(&mut self) -> Result<(), ChannelError> {
            Ok(())
        }
    }

    fn packet(address: u8, control: u8, command_and_data: &[u8]) -> Vec<u8> {
        let crc = control & CONTROL_CRC != 0;
        let len = HEADER_LEN + command_and_data.len() + if crc { 2 } else { 1 };
        let mut packet = vec![START_OF_MESSAGE, address];
        packet.extend_from_slice(&u16::try_from(len).expect("short").to_le_bytes());
        packet.push(control);
        packet.extend_from_slice(command_and_data);
        if crc {
            packet.extend_from_slice(&crc16(&packet).to_le_bytes());
        } else {
            packet.push(checksum(&packet));
        }
        packet
    }

    /// A gate for reader 42 over `line`, delivered `piece` bytes at a time,
    /// and the turn that lets it pass a packet.
    fn gate_over(line: Vec<u8>, piece: usize) -> (PacketGate, Turn) {
        let turn = Turn::default();
        let gate = PacketGate::new(
            Box::new(Bytes {
                bytes: line,
                at: 0,
                piece,
            }),
            turn.clone(),
            42,
        );
        (gate, turn)
    }

    /// What LibOSDP would read, a refresh at a time, until the line is
    /// drained and the gate has nothing more to pass.
    fn passed(line: Vec<u8>, piece: usize) -> Vec<Vec<u8>> {
        let (mut gate, turn) = gate_over(line, piece);
        let mut refreshes = Vec::new();
        for _ in 0..64 {
            turn.open();
            let mut read = Vec::new();
            let mut buf = [0u8; 64];
            // LibOSDP's receive loop: read while a whole buffer comes back.
            loop {
                let n = gate.read(&mut buf).expect("a line that only runs dry");
                read.extend_from_slice(&buf[..n]);
                if n < buf.len() {
                    break;
                }
            }
            if !read.is_empty() {
                refreshes.push(read);
            }
        }
        refreshes
    }

    #[test]
    fn named_commands_pass_whole_one_per_refresh() {
        let poll = packet(42, CONTROL_CRC, &[0x60]);
        let led = packet(42, 0x01, &[0x69; 14]);
        let long = packet(42, CONTROL_CRC | 0x02, &[0x6B; 120]);
        let line = [poll.clone(), led.clone(), long.clone()].concat();
        for piece in [1, 3, 64, 1024] {
            assert_eq!(
                passed(line.clone(), piece),
                vec![poll.clone(), led.clone(), long.clone()]
            );
        }
    }

    #[test]
    fn the_packet_that_crashed_libosdp_is_dropped() {
        let crash = vec![0x53, 0x7F, 0x08, 0x00, 0x04, 0xA0, 0xD8, 0x0B];
        assert!(matches!(frame(&crash, false, 42), Framing::Refused(8)));
        let poll = packet(42, CONTROL_CRC, &[0x60]);
        assert_eq!(passed([crash, poll.clone()].concat(), 5), [poll]);
    }

    #[test]
    fn every_unnamed_command_is_dropped_and_every_named_one_passes() {
        for command in 0..=u8::MAX {
            let line = packet(42, CONTROL_CRC, &[command, 1, 2]);
            let expected = if NAMED_COMMANDS.contains(&command) {
                vec![line.clone()]
            } else {
                Vec::new()
            };
            assert_eq!(passed(line, 64), expected, "command {command:#04x}");
        }
    }

    #[test]
    fn the_command_after_a_security_block_is_the_one_checked() {
        // Secure-channel type 0x15 with a block of 2 bytes, then the command.
        let named = packet(
            42,
            CONTROL_CRC | CONTROL_SECURITY_BLOCK,
            &[2, 0x15, 0x69, 0, 0],
        );
        let unnamed = packet(
            42,
            CONTROL_CRC | CONTROL_SECURITY_BLOCK,
            &[2, 0x15, 0xA6, 0, 0],
        );
        // A block running past the packet leaves no command to check.
        let overlong = packet(42, CONTROL_CRC | CONTROL_SECURITY_BLOCK, &[9, 0x15, 0x69]);
        let line = [unnamed, overlong, named.clone()].concat();
        assert_eq!(passed(line, 7), [named]);
    }

    #[test]
    fn a_packet_hidden_in_another_s_payload_never_passes_alone() {
        // A whole packet with an unnamed command carrying a packet with a
        // named one, and one with a named command carrying one with an
        // unnamed one: each passes or is dropped whole.
        let named = packet(42, CONTROL_CRC, &[0x60]);
        let unnamed = packet(42, CONTROL_CRC, &[0xA6]);
        let outer_refused = packet(42, CONTROL_CRC, &[[0x70].as_slice(), &named].concat());
        let outer_named = packet(42, CONTROL_CRC, &[[0x6B].as_slice(), &unnamed].concat());
        let line = [outer_refused, outer_named.clone()].concat();
        assert_eq!(passed(line, 2), [outer_named]);
    }

    #[test]
    fn another_readers_reply_is_skipped_whole() {
        let named = packet(42, CONTROL_CRC, &[0x60]);
        // A reply whose data happens to hold a whole command for us.
        let reply = packet(
            7 | REPLY_BIT,
            CONTROL_CRC,
            &[[0x50].as_slice(), &named].concat(),
        );
        let poll = packet(42, CONTROL_CRC, &[0x60, 1]);
        assert_eq!(passed([reply, poll.clone()].concat(), 4), [poll]);
    }

    #[test]
    fn commands_for_other_readers_are_skipped_without_taking_a_turn() {
        let others: Vec<u8> = (0..20)
            .flat_map(|i| packet(7 + i % 3, CONTROL_CRC, &[0x60]))
            .collect();
        let ours = packet(42, CONTROL_CRC, &[0x60]);
        let broadcast = packet(BROADCAST_ADDRESS, CONTROL_CRC, &[0x60, 2]);
        let line = [others.clone(), ours.clone(), others, broadcast.clone()].concat();
        assert_eq!(passed(line.clone(), 1024), [ours.clone(), broadcast]);
        // The first turn already passes this reader's packet: none is spent
        // on the twenty commands before it.
        let (mut gate, turn) = gate_over(line, 1024);
        turn.open();
        let mut buf = [0u8; 64];
        let n = gate.read(&mut buf).expect("a packet");
        assert_eq!(&buf[..n], ours.as_slice());
    }

    #[test]
    fn noise_marks_and_broken_packets_are_skipped_to_the_next_good_packet() {
        let poll = packet(42, CONTROL_CRC, &[0x60]);
        let mut broken = packet(42, CONTROL_CRC, &[0x69, 1, 2, 3]);
        let last = broken.len() - 1;
        broken[last] ^= 0xFF;
        let reply = packet(42 | REPLY_BIT, CONTROL_CRC, &[0x40]);
        let marked = [[MARK].as_slice(), &poll].concat();
        let too_long = [START_OF_MESSAGE, 42, 0x01, 0x01, 0x04];
        let line = [
            vec![0x00, 0x13, MARK],
            broken,
            reply,
            too_long.to_vec(),
            marked.clone(),
            vec![0x53, 0x53],
        ]
        .concat();
        assert_eq!(passed(line, 3), [marked]);
    }

    #[test]
    fn a_flood_is_read_a_bounded_amount_at_a_time() {
        let poll = packet(42, CONTROL_CRC, &[0x60]);
        let line: Vec<u8> = poll
            .iter()
            .copied()
            .cycle()
            .take(1000 * poll.len())
            .collect();
        let (mut gate, turn) = gate_over(line, 1024);
        turn.open();
        let mut buf = [0u8; 64];
        assert_eq!(gate.read(&mut buf).expect("a packet"), poll.len());
        assert!(gate.pending.len() <= PENDING_LIMIT);
        // No second packet without a new turn.
        assert_eq!(gate.read(&mut buf).expect("nothing"), 0);
    }
}
