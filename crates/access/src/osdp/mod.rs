//! The OSDP connector: the camera agent is a reader (an OSDP peripheral
//! device) on the access panel's serial line. When Limen identifies someone
//! it reports a card read carrying their ACS id, over a Secure Channel, and
//! waits for the panel's answer.
//!
//! The answer is the panel's LED command: a *temporary* LED turned green
//! means granted, red means denied. Panels show grant and deny that way; a
//! permanent LED state is their idle display and is not an answer. Buzzer
//! and other commands are acknowledged and otherwise ignored. The panel,
//! not this answer, works the door: an answer the panel sends after Limen
//! stopped waiting could be taken for the next card read's, which only
//! affects what Limen reports.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use libosdp::{
    Channel, ChannelError, OsdpCardFormats, OsdpCommand, OsdpEvent, OsdpEventCardRead, OsdpFlag,
    OsdpLedColor, PdCapEntity, PdCapability, PdId, PdInfoBuilder, PeripheralDevice,
};
use rustix::fs::OFlags;
use rustix::termios::{OptionalActions, QueueSelector, tcflush, tcgetattr, tcsetattr};
use zeroize::Zeroizing;

use crate::Decision;
use crate::wiegand::{CardFormat, CardFormatError};
pub use packet_gate::crc16;
use packet_gate::{PacketGate, Turn};

mod packet_gate;

/// OSDP asks for a refresh at least every 50 ms.
const REFRESH_INTERVAL: Duration = Duration::from_millis(10);
/// The LED command's control code for "set the temporary state now".
const LED_SET_TEMPORARY: u8 = 2;

/// The Secure Channel Base Key shared with the panel.
#[derive(Clone)]
pub struct Scbk(Zeroizing<[u8; 16]>);

impl Scbk {
    /// Parses 32 hexadecimal digits.
    pub fn from_hex(hex_key: &str) -> Result<Self, OsdpConfigError> {
        let mut key = Zeroizing::new([0u8; 16]);
        hex::decode_to_slice(hex_key.trim(), key.as_mut_slice())
            .map_err(|_| OsdpConfigError::MalformedScbk)?;
        Ok(Self(key))
    }
}

impl fmt::Debug for Scbk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scbk(redacted)")
    }
}

/// How the reader is wired to the panel.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// The serial device, e.g. `/dev/ttyUSB0` for an RS-485 adapter.
    pub device: PathBuf,
    /// The reader's address on the bus, 0 to 126.
    pub address: u8,
    pub scbk: Scbk,
    /// One of 9600, 19200, 38400, 57600, 115200, 230400.
    pub baud_rate: u32,
    pub card_format: CardFormat,
}

impl ReaderConfig {
    /// OSDP's default line speed.
    pub const DEFAULT_BAUD_RATE: u32 = 9600;
}

/// Why the reader could not start.
#[derive(Debug, thiserror::Error)]
pub enum OsdpConfigError {
    #[error("the secure channel key must be 32 hexadecimal digits")]
    MalformedScbk,
    #[error("cannot open serial device {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot configure serial device {path}: {source}")]
    SerialLine {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the reader's thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("invalid reader setting: {0}")]
    Setting(#[source] libosdp::OsdpError),
}

/// Why a card read did not produce the panel's decision.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PresentError {
    #[error("ACS id cannot be put on this card format: {0}")]
    Card(#[from] CardFormatError),
    #[error("no secure channel with the panel; nothing was sent")]
    NotSecure,
    #[error("the panel gave no answer within {0:?}; the card read was withdrawn")]
    NoAnswer(Duration),
    #[error("the OSDP library refused the card read")]
    Refused,
    #[error("the reader has stopped")]
    Stopped,
}

/// An OSDP reader running on its own thread, which keeps the protocol's
/// timing. Dropping it stops the thread and closes the serial line.
pub struct OsdpReader {
    card_format: CardFormat,
    presentations: Option<Sender<Presentation>>,
    secure: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl fmt::Debug for OsdpReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OsdpReader")
            .field("card_format", &self.card_format)
            .field("secure", &self.is_secure())
            .finish()
    }
}

struct Presentation {
    card: OsdpEventCardRead,
    answer_timeout: Duration,
    /// Counted from the call, so that a card read queued behind another is
    /// not sent after its caller stopped waiting.
    deadline: Instant,
    reply: Sender<Result<Decision, PresentError>>,
}

impl OsdpReader {
    /// Opens the serial line and starts answering the panel, with Secure
    /// Channel enforced.
    pub fn open(config: ReaderConfig) -> Result<Self, OsdpConfigError> {
        let line = SerialLine::open(&config.device, config.baud_rate)?;
        let protocol = ReaderProtocol::new(
            config.address,
            config.baud_rate,
            &config.scbk,
            Box::new(line),
        )?;
        let (presentations_tx, presentations) = mpsc::channel();
        let secure = Arc::new(AtomicBool::new(false));
        let worker = {
            let secure = Arc::clone(&secure);
            thread::Builder::new()
                .name("osdp-reader".to_owned())
                .spawn(move || run(protocol, presentations, &secure))
                .map_err(OsdpConfigError::Thread)?
        };
        Ok(Self {
            card_format: config.card_format,
            presentations: Some(presentations_tx),
            secure,
            worker: Some(worker),
        })
    }

    /// Whether a Secure Channel session with the panel is up.
    pub fn is_secure(&self) -> bool {
        self.secure.load(Ordering::Acquire)
    }

    /// Reports a card read carrying `acs_id` and waits up to
    /// `answer_timeout` for the panel's decision. Without an answer the
    /// card read is withdrawn, so it cannot reach the panel later when the
    /// person has gone. Blocks; call it from a blocking context.
    pub fn present(
        &self,
        acs_id: &str,
        answer_timeout: Duration,
    ) -> Result<Decision, PresentError> {
        let bits = self.card_format.encode(acs_id)?;
        let card = OsdpEventCardRead {
            reader_no: 0,
            format: match self.card_format {
                CardFormat::Raw { .. } => OsdpCardFormats::Unspecified,
                CardFormat::Wiegand26 { .. } | CardFormat::Wiegand34 { .. } => {
                    OsdpCardFormats::Wiegand
                }
            },
            direction: false,
            nr_bits: bits.len,
            data: bits.bytes,
        };
        let (reply, answer) = mpsc::channel();
        let deadline = Instant::now() + answer_timeout;
        self.presentations
            .as_ref()
            .ok_or(PresentError::Stopped)?
            .send(Presentation {
                card,
                answer_timeout,
                deadline,
                reply,
            })
            .map_err(|_| PresentError::Stopped)?;
        // The worker answers by the deadline; the extra second only guards
        // against a stalled worker.
        match answer.recv_timeout(
            deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
        ) {
            Ok(outcome) => outcome,
            Err(RecvTimeoutError::Timeout) => Err(PresentError::NoAnswer(answer_timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(PresentError::Stopped),
        }
    }
}

impl Drop for OsdpReader {
    fn drop(&mut self) {
        // Closing the channel tells the worker to stop.
        self.presentations = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The reader's side of OSDP over any channel: LibOSDP's peripheral device
/// set up as the reader runs it (Secure Channel enforced, the reader's
/// capabilities, the panel's key changes refused), fed only whole, checked
/// packets (see `packet_gate`), with the panel's commands collected as they
/// arrive.
pub struct ReaderProtocol {
    device: PeripheralDevice,
    commands: Receiver<OsdpCommand>,
    turn: Turn,
}

impl ReaderProtocol {
    pub fn new(
        address: u8,
        baud_rate: u32,
        scbk: &Scbk,
        channel: Box<dyn Channel>,
    ) -> Result<Self, OsdpConfigError> {
        let baud_rate = i32::try_from(baud_rate).unwrap_or(i32::MAX);
        let info = PdInfoBuilder::new()
            .name("limen")
            .and_then(|b| b.address(i32::from(address)))
            .and_then(|b| b.baud_rate(baud_rate))
            .map_err(OsdpConfigError::Setting)?
            .flag(OsdpFlag::EnforceSecure)
            .id(&PdId::from_number(1))
            .capabilities(&[
                PdCapability::CommunicationSecurity(PdCapEntity::new(1, 1)),
                PdCapability::CardDataFormat(PdCapEntity::new(1, 0)),
                PdCapability::LedControl(PdCapEntity::new(1, 1)),
                PdCapability::AudibleOutput(PdCapEntity::new(1, 1)),
            ])
            .secure_channel_key(*scbk.0);
        let turn = Turn::default();
        let gate = PacketGate::new(channel, turn.clone(), address);
        let mut device =
            PeripheralDevice::new(info, Box::new(gate)).map_err(OsdpConfigError::Setting)?;
        let (commands_tx, commands) = mpsc::channel();
        device.set_command_callback(move |command: &mut OsdpCommand| {
            if let OsdpCommand::KeySet(_) | OsdpCommand::ComSet(_) = command {
                // The key, the address and the line's speed are the
                // operator's configuration; a panel may not replace them
                // with ones Limen would not keep (and the packet gate
                // filters the bus by this address).
                return -1;
            }
            let _ = commands_tx.send(command.clone());
            0
        });
        Ok(Self {
            device,
            commands,
            turn,
        })
    }

    /// Reads and answers what the panel sent since the last refresh.
    pub fn refresh(&mut self) {
        self.turn.open();
        self.device.refresh();
    }

    /// Whether a Secure Channel session with the panel is up.
    pub fn is_secure(&self) -> bool {
        self.device.is_sc_active()
    }

    /// The panel's commands received since they were last taken.
    pub fn take_commands(&self) -> impl Iterator<Item = OsdpCommand> + '_ {
        self.commands.try_iter()
    }
}

/// The reader's loop: refresh the protocol, hand card reads to the panel one
/// at a time, and turn its LED commands into answers.
fn run(mut protocol: ReaderProtocol, presentations: Receiver<Presentation>, secure: &AtomicBool) {
    let mut waiting: Option<Presentation> = None;
    loop {
        protocol.refresh();
        let is_secure = protocol.is_secure();
        secure.store(is_secure, Ordering::Release);

        for command in protocol.take_commands() {
            // Answers that arrive while no card read is waiting are stale.
            if let (Some(decision), Some(presentation)) = (panel_answer(&command), &waiting) {
                let _ = presentation.reply.send(Ok(decision));
                waiting = None;
            }
        }

        if let Some(presentation) = &waiting
            && Instant::now() >= presentation.deadline
        {
            protocol.device.flush_events();
            let _ = presentation
                .reply
                .send(Err(PresentError::NoAnswer(presentation.answer_timeout)));
            waiting = None;
        }

        if waiting.is_none() {
            match presentations.try_recv() {
                Ok(presentation) => {
                    let outcome = if Instant::now() >= presentation.deadline {
                        Err(PresentError::NoAnswer(presentation.answer_timeout))
                    } else if !is_secure {
                        Err(PresentError::NotSecure)
                    } else {
                        protocol
                            .device
                            .notify_event(OsdpEvent::CardRead(presentation.card.clone()))
                            .map_err(|_| PresentError::Refused)
                    };
                    match outcome {
                        Ok(()) => waiting = Some(presentation),
                        Err(error) => {
                            let _ = presentation.reply.send(Err(error));
                        }
                    }
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => return,
            }
        }
        thread::sleep(REFRESH_INTERVAL);
    }
}

fn panel_answer(command: &OsdpCommand) -> Option<Decision> {
    let OsdpCommand::Led(led) = command else {
        return None;
    };
    if led.temporary.control_code != LED_SET_TEMPORARY {
        return None;
    }
    match led.temporary.on_color {
        OsdpLedColor::Green => Some(Decision::Granted),
        OsdpLedColor::Red => Some(Decision::Denied),
        _ => None,
    }
}

/// A serial device in raw mode, read and written without blocking, as
/// LibOSDP expects of a channel.
struct SerialLine {
    /// `None` once LibOSDP closed the line.
    file: Option<File>,
}

impl SerialLine {
    fn open(path: &Path, baud_rate: u32) -> Result<Self, OsdpConfigError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            // No controlling terminal: the line must not deliver signals to the agent.
            .custom_flags((OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32)
            .open(path)
            .map_err(|source| OsdpConfigError::Open {
                path: path.to_owned(),
                source,
            })?;
        let configure = || -> rustix::io::Result<()> {
            let mut termios = tcgetattr(&file)?;
            termios.make_raw();
            termios.set_speed(baud_rate)?;
            tcsetattr(&file, OptionalActions::Now, &termios)?;
            // Bytes the line held before the reader listened are the panel's
            // old polls; answering them would derail its session set-up.
            tcflush(&file, QueueSelector::IFlush)
        };
        configure().map_err(|errno| OsdpConfigError::SerialLine {
            path: path.to_owned(),
            source: errno.into(),
        })?;
        Ok(Self { file: Some(file) })
    }

    fn file(&mut self) -> Result<&mut File, ChannelError> {
        self.file.as_mut().ok_or(ChannelError::TransportError)
    }
}

impl Channel for SerialLine {
    fn get_id(&self) -> i32 {
        self.file.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
        Ok(self.file()?.read(buf)?)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
        Ok(self.file()?.write(buf)?)
    }

    fn flush(&mut self) -> Result<(), ChannelError> {
        Ok(self.file()?.flush()?)
    }

    /// Called when the reader's device is torn down. The `libosdp` crate
    /// never frees the channel it was given (0.2.2 leaks its box), so the
    /// line is closed here rather than when the channel is dropped.
    fn close(&mut self) -> Result<(), ChannelError> {
        self.file = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libosdp::{OsdpCommandBuzzer, OsdpCommandLed, OsdpLedParams};

    fn led(control_code: u8, on_color: OsdpLedColor) -> OsdpCommand {
        let params = OsdpLedParams {
            control_code,
            on_count: 5,
            off_count: 0,
            on_color,
            off_color: OsdpLedColor::None,
            timer_count: 10,
        };
        OsdpCommand::Led(OsdpCommandLed {
            reader: 0,
            led_number: 0,
            temporary: params,
            permanent: params,
        })
    }

    #[test]
    fn temporary_green_grants_and_red_denies() {
        assert_eq!(
            panel_answer(&led(2, OsdpLedColor::Green)),
            Some(Decision::Granted)
        );
        assert_eq!(
            panel_answer(&led(2, OsdpLedColor::Red)),
            Some(Decision::Denied)
        );
    }

    #[test]
    fn idle_states_and_other_commands_are_no_answer() {
        assert_eq!(panel_answer(&led(1, OsdpLedColor::Green)), None);
        assert_eq!(panel_answer(&led(2, OsdpLedColor::Amber)), None);
        let buzzer = OsdpCommand::Buzzer(OsdpCommandBuzzer {
            reader: 0,
            control_code: 2,
            on_count: 1,
            off_count: 1,
            rep_count: 1,
        });
        assert_eq!(panel_answer(&buzzer), None);
    }

    #[test]
    fn scbk_is_32_hex_digits() {
        assert!(Scbk::from_hex("000102030405060708090a0b0c0d0e0f").is_ok());
        for bad in [
            "",
            "0001",
            "000102030405060708090a0b0c0d0e0f00",
            "zz0102030405060708090a0b0c0d0e0f",
        ] {
            assert!(
                matches!(Scbk::from_hex(bad), Err(OsdpConfigError::MalformedScbk)),
                "{bad}"
            );
        }
        assert_eq!(
            format!(
                "{:?}",
                Scbk::from_hex("000102030405060708090a0b0c0d0e0f").expect("valid")
            ),
            "Scbk(redacted)"
        );
    }
}
