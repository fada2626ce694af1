//! The OSDP reader against a real LibOSDP control panel on the other end of
//! a pseudo-terminal, with Secure Channel.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use libosdp::{
    Channel, ChannelError, ControlPanelBuilder, OsdpCardFormats, OsdpComSet, OsdpCommand,
    OsdpCommandLed, OsdpEvent, OsdpEventCardRead, OsdpFlag, OsdpLedColor, OsdpLedParams,
    PdInfoBuilder,
};
use limen_access::Decision;
use limen_access::osdp::{OsdpReader, PresentError, ReaderConfig, Scbk};
use limen_access::wiegand::CardFormat;
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

const SCBK: &str = "6c696d656e2d746573742d7363626b21";
const ADDRESS: u8 = 42;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The panel's end of the pseudo-terminal.
struct PtyMaster(File);

impl Channel for PtyMaster {
    fn get_id(&self) -> i32 {
        self.0.as_raw_fd()
    }
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
        Ok(self.0.read(buf)?)
    }
    fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
        Ok(self.0.write(buf)?)
    }
    fn flush(&mut self) -> Result<(), ChannelError> {
        Ok(self.0.flush()?)
    }
    fn close(&mut self) -> Result<(), ChannelError> {
        Ok(())
    }
}

/// A pseudo-terminal: the master for the panel, the slave's path for the reader.
fn pty() -> (File, PathBuf) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let slave = ptsname(&master, Vec::new()).expect("ptsname");
    rustix::io::ioctl_fionbio(&master, true).expect("non-blocking master");
    (
        File::from(master),
        PathBuf::from(slave.into_string().expect("utf-8 path")),
    )
}

/// A control panel that answers card reads whose bits it knows: a temporary
/// green LED for a granted card, red for a denied one, nothing otherwise.
struct Panel {
    card_reads: Receiver<OsdpEventCardRead>,
    /// Commands for the panel to send the reader, besides its LED answers.
    commands: mpsc::Sender<OsdpCommand>,
    secure: Arc<AtomicBool>,
    /// While set, the panel stops polling, as if its line were cut.
    paused: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl Panel {
    fn start(master: File, scbk: &[u8; 16], answers: HashMap<Vec<u8>, OsdpLedColor>) -> Self {
        let reader = PdInfoBuilder::new()
            .name("door")
            .and_then(|b| b.address(i32::from(ADDRESS)))
            .and_then(|b| b.baud_rate(9600))
            .expect("valid settings")
            .flag(OsdpFlag::EnforceSecure)
            .secure_channel_key(*scbk);
        let mut cp = ControlPanelBuilder::new()
            .add_channel(Box::new(PtyMaster(master)), vec![reader])
            .build()
            .expect("control panel");
        let (events_tx, events) = mpsc::channel();
        cp.set_event_callback(move |_, event| {
            if let OsdpEvent::CardRead(card) = event {
                let _ = events_tx.send(card);
            }
            0
        });
        let (card_reads_tx, card_reads) = mpsc::channel();
        let (commands, commands_rx) = mpsc::channel::<OsdpCommand>();
        let secure = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let (secure, paused, stop) =
                (Arc::clone(&secure), Arc::clone(&paused), Arc::clone(&stop));
            thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    if paused.load(Ordering::SeqCst) {
                        thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    cp.refresh();
                    secure.store(cp.is_sc_active(0), Ordering::SeqCst);
                    while let Ok(command) = commands_rx.try_recv() {
                        cp.send_command(0, command).expect("queue command");
                    }
                    while let Ok(card) = events.try_recv() {
                        if let Some(&colour) = answers.get(&card.data) {
                            cp.send_command(0, temporary_led(colour))
                                .expect("queue LED command");
                        }
                        let _ = card_reads_tx.send(card);
                    }
                    thread::sleep(Duration::from_millis(10));
                }
            })
        };
        Self {
            card_reads,
            commands,
            secure,
            paused,
            stop,
            worker: Some(worker),
        }
    }
}

impl Drop for Panel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn temporary_led(colour: OsdpLedColor) -> OsdpCommand {
    OsdpCommand::Led(OsdpCommandLed {
        reader: 0,
        led_number: 0,
        temporary: OsdpLedParams {
            control_code: 2,
            on_count: 10,
            off_count: 0,
            on_color: colour,
            off_color: OsdpLedColor::None,
            timer_count: 20,
        },
        permanent: OsdpLedParams::default(),
    })
}

fn scbk_bytes() -> [u8; 16] {
    let mut key = [0u8; 16];
    hex::decode_to_slice(SCBK, &mut key).expect("test key is hex");
    key
}

fn open_reader(device: PathBuf, scbk: &str, card_format: CardFormat) -> OsdpReader {
    OsdpReader::open(ReaderConfig {
        device,
        address: ADDRESS,
        scbk: Scbk::from_hex(scbk).expect("hex key"),
        baud_rate: ReaderConfig::DEFAULT_BAUD_RATE,
        card_format,
    })
    .expect("reader opens the pty")
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_panel_receives_the_card_read_over_secure_channel_and_decides() {
    // FC 18, card 4660 = 1 00010010 0001001000110100 1 (worked out by hand).
    let granted_bits = vec![0b1000_1001, 0b0000_1001, 0b0001_1010, 0b0100_0000];
    // FC 18, card 1 = 0 00010010 0000000000000001 0.
    let denied_bits = vec![0b0000_1001, 0b0000_0000, 0b0000_0000, 0b1000_0000];
    let answers = HashMap::from([
        (granted_bits.clone(), OsdpLedColor::Green),
        (denied_bits.clone(), OsdpLedColor::Red),
    ]);
    let (master, slave) = pty();
    let reader = open_reader(slave, SCBK, CardFormat::Wiegand26 { facility: 18 });
    let panel = Panel::start(master, &scbk_bytes(), answers);
    wait_until("secure channel", || {
        reader.is_secure() && panel.secure.load(Ordering::SeqCst)
    });

    // The agent may present from any thread; here from another one.
    let reader = Arc::new(reader);
    let presenting = Arc::clone(&reader);
    let granted = thread::spawn(move || presenting.present("4660", Duration::from_secs(5)));
    assert_eq!(
        granted.join().expect("presenting thread"),
        Ok(Decision::Granted)
    );
    let card = panel
        .card_reads
        .recv_timeout(Duration::from_secs(1))
        .expect("card read");
    assert_eq!(card.format, OsdpCardFormats::Wiegand);
    assert_eq!(card.nr_bits, 26);
    assert_eq!(card.data, granted_bits);

    assert_eq!(
        reader.present("1", Duration::from_secs(5)),
        Ok(Decision::Denied)
    );
    let card = panel
        .card_reads
        .recv_timeout(Duration::from_secs(1))
        .expect("card read");
    assert_eq!(card.data, denied_bits);
}

#[test]
fn a_card_read_the_panel_does_not_answer_is_reported() {
    let (master, slave) = pty();
    let reader = open_reader(slave, SCBK, CardFormat::Raw { bits: 32 });
    let panel = Panel::start(master, &scbk_bytes(), HashMap::new());
    wait_until("secure channel", || reader.is_secure());

    let timeout = Duration::from_millis(800);
    assert_eq!(
        reader.present("3735928559", timeout),
        Err(PresentError::NoAnswer(timeout))
    );
    let card = panel
        .card_reads
        .recv_timeout(Duration::from_secs(1))
        .expect("card read");
    assert_eq!(card.format, OsdpCardFormats::Unspecified);
    assert_eq!(
        (card.nr_bits, card.data),
        (32, vec![0xDE, 0xAD, 0xBE, 0xEF])
    );
}

/// Anyone on the bus can send the reader any packet. A broadcast with a
/// command LibOSDP has no name for once crashed the agent (LibOSDP 3.2.7
/// reads a null name to log it); sent before and during the panel's
/// session, the reader goes on and the panel still decides.
#[test]
fn a_packet_that_crashed_libosdp_leaves_the_reader_serving() {
    const UNNAMED_COMMAND_BROADCAST: [u8; 8] = [0x53, 0x7F, 0x08, 0x00, 0x04, 0xA0, 0xD8, 0x0B];
    let card = vec![0xDE, 0xAD, 0xBE, 0xEF];
    let (mut master, slave) = pty();
    let reader = open_reader(slave, SCBK, CardFormat::Raw { bits: 32 });
    master
        .write_all(&UNNAMED_COMMAND_BROADCAST)
        .expect("write to the line");
    thread::sleep(Duration::from_millis(100));
    let mut bus = master.try_clone().expect("a second writer on the line");
    let panel = Panel::start(
        master,
        &scbk_bytes(),
        HashMap::from([(card.clone(), OsdpLedColor::Green)]),
    );
    wait_until("secure channel", || reader.is_secure());
    bus.write_all(&UNNAMED_COMMAND_BROADCAST)
        .expect("write to the line");
    wait_until("secure channel after the broadcast", || reader.is_secure());

    assert_eq!(
        reader.present("3735928559", Duration::from_secs(5)),
        Ok(Decision::Granted)
    );
    let read = panel
        .card_reads
        .recv_timeout(Duration::from_secs(1))
        .expect("card read");
    assert_eq!(read.data, card);
}

/// On a multi-drop bus the panel polls other readers far more often than
/// this one: the reader serves the panel's commands to it through the
/// other readers' traffic.
#[test]
fn on_a_busy_bus_the_reader_serves_the_panel() {
    let card = vec![0xCA, 0xFE];
    let (master, slave) = pty();
    let reader = open_reader(slave, SCBK, CardFormat::Raw { bits: 16 });
    let mut bus = master.try_clone().expect("a second writer on the line");
    let chatter_stop = Arc::new(AtomicBool::new(false));
    let chatter = {
        let stop = Arc::clone(&chatter_stop);
        // A poll for reader 7 (CRC-16 included) every millisecond: ten for
        // each of this reader's turns. Writes the full line refuses are
        // lost, as on a bus.
        let poll_for_7 = [0x53, 0x07, 0x08, 0x00, 0x04, 0x60, 0x3F, 0xCD];
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let _ = bus.write(&poll_for_7);
                thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let panel = Panel::start(
        master,
        &scbk_bytes(),
        HashMap::from([(card.clone(), OsdpLedColor::Green)]),
    );
    wait_until("secure channel", || {
        reader.is_secure() && panel.secure.load(Ordering::SeqCst)
    });

    assert_eq!(
        reader.present("51966", Duration::from_secs(5)),
        Ok(Decision::Granted)
    );
    let read = panel
        .card_reads
        .recv_timeout(Duration::from_secs(1))
        .expect("card read");
    assert_eq!(read.data, card);
    chatter_stop.store(true, Ordering::SeqCst);
    chatter.join().expect("chatter thread");
}

/// The reader's address is the operator's configuration: a panel's COMSET
/// is refused, and a panel at the configured address still reaches it.
#[test]
fn a_panel_cannot_move_the_reader_to_another_address() {
    let card = vec![0xCA, 0xFE];
    let (master, slave) = pty();
    let reader = open_reader(slave, SCBK, CardFormat::Raw { bits: 16 });
    let line = master.try_clone().expect("the line, for the next panel");
    let moving = Panel::start(master, &scbk_bytes(), HashMap::new());
    wait_until("secure channel", || {
        reader.is_secure() && moving.secure.load(Ordering::SeqCst)
    });
    moving
        .commands
        .send(OsdpCommand::ComSet(OsdpComSet {
            address: ADDRESS + 1,
            baud_rate: 9600,
        }))
        .expect("panel running");
    // LibOSDP's panel takes the refusal (a NAK) as the reader failing and
    // stops talking to it for minutes: the next panel takes over the line.
    wait_until("the panel to give up on the reader", || {
        !moving.secure.load(Ordering::SeqCst)
    });
    drop(moving);

    let panel = Panel::start(
        line,
        &scbk_bytes(),
        HashMap::from([(card.clone(), OsdpLedColor::Green)]),
    );
    wait_until("secure channel at the configured address", || {
        panel.secure.load(Ordering::SeqCst)
    });
    assert_eq!(
        reader.present("51966", Duration::from_secs(5)),
        Ok(Decision::Granted)
    );
}

/// A card read that did not reach the panel in time must not reach it
/// later, when the person may be gone and someone else at the door.
#[test]
fn a_card_read_not_delivered_in_time_is_withdrawn() {
    let (master, slave) = pty();
    let reader = open_reader(slave, SCBK, CardFormat::Raw { bits: 8 });
    let panel = Panel::start(
        master,
        &scbk_bytes(),
        HashMap::from([(vec![7], OsdpLedColor::Green)]),
    );
    wait_until("secure channel", || reader.is_secure());

    panel.paused.store(true, Ordering::SeqCst);
    // Let a poll already on the line be answered first: what matters is a
    // card read that finds no poll.
    thread::sleep(Duration::from_millis(200));
    let timeout = Duration::from_millis(500);
    assert_eq!(
        reader.present("7", timeout),
        Err(PresentError::NoAnswer(timeout))
    );
    panel.paused.store(false, Ordering::SeqCst);
    assert!(
        panel
            .card_reads
            .recv_timeout(Duration::from_secs(2))
            .is_err(),
        "a withdrawn card read reached the panel"
    );
    // The line still works: the next card read goes through.
    wait_until("secure channel", || reader.is_secure());
    assert_eq!(
        reader.present("7", Duration::from_secs(5)),
        Ok(Decision::Granted)
    );
}

/// Card reads go to the panel one at a time; one that waited in line past
/// its caller's timeout is never sent.
#[test]
fn a_card_read_queued_past_its_timeout_is_never_sent() {
    let (master, slave) = pty();
    let reader = Arc::new(open_reader(slave, SCBK, CardFormat::Raw { bits: 8 }));
    // The panel ignores card 1 and would grant card 2.
    let panel = Panel::start(
        master,
        &scbk_bytes(),
        HashMap::from([(vec![2], OsdpLedColor::Green)]),
    );
    wait_until("secure channel", || reader.is_secure());

    let first = {
        let reader = Arc::clone(&reader);
        thread::spawn(move || reader.present("1", Duration::from_secs(1)))
    };
    let card = panel
        .card_reads
        .recv_timeout(Duration::from_secs(1))
        .expect("first card read");
    assert_eq!(card.data, [1]);
    let timeout = Duration::from_millis(300);
    assert_eq!(
        reader.present("2", timeout),
        Err(PresentError::NoAnswer(timeout))
    );
    assert_eq!(
        first.join().expect("first caller"),
        Err(PresentError::NoAnswer(Duration::from_secs(1)))
    );
    assert!(
        panel
            .card_reads
            .recv_timeout(Duration::from_secs(1))
            .is_err(),
        "a card read was sent after its caller gave up"
    );
}

#[test]
fn without_the_right_key_nothing_is_sent() {
    let (master, slave) = pty();
    let reader = open_reader(
        slave,
        "00000000000000000000000000000000",
        CardFormat::Raw { bits: 16 },
    );
    let panel = Panel::start(master, &scbk_bytes(), HashMap::new());
    // Give the panel time to try (and fail) the handshake more than once.
    thread::sleep(Duration::from_secs(3));
    assert!(!reader.is_secure());
    assert!(!panel.secure.load(Ordering::SeqCst));
    assert_eq!(
        reader.present("7", Duration::from_secs(1)),
        Err(PresentError::NotSecure)
    );
    assert!(
        panel
            .card_reads
            .recv_timeout(Duration::from_millis(500))
            .is_err()
    );
}

#[test]
fn a_missing_device_is_a_clear_error() {
    let outcome = OsdpReader::open(ReaderConfig {
        device: PathBuf::from("/nonexistent/limen-tty"),
        address: ADDRESS,
        scbk: Scbk::from_hex(SCBK).expect("hex key"),
        baud_rate: ReaderConfig::DEFAULT_BAUD_RATE,
        card_format: CardFormat::Raw { bits: 8 },
    });
    assert!(matches!(
        outcome,
        Err(limen_access::osdp::OsdpConfigError::Open { .. })
    ));
}

#[test]
fn dropping_the_reader_closes_the_serial_line() {
    let (mut master, slave) = pty();
    let reader = open_reader(slave, SCBK, CardFormat::Raw { bits: 8 });
    drop(reader);
    // Once no one holds the line's other end, reading the master fails
    // with EIO; while the reader's descriptor stays open it would block.
    let mut buf = [0u8; 64];
    let error = loop {
        match master.read(&mut buf) {
            Ok(n) if n > 0 => continue,
            Ok(_) => panic!("end of file on a pty master"),
            Err(e) => break e,
        }
    };
    assert_eq!(
        error.raw_os_error(),
        Some(rustix::io::Errno::IO.raw_os_error()),
        "the serial line stays open after the reader is dropped: {error}"
    );
}
