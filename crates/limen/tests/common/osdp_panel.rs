//! A real LibOSDP control panel (CP) on the master side of a
//! pseudo-terminal: the access panel an agent is wired to as an OSDP reader.
//! Like an access system, it grants the cards it knows (a temporary green
//! LED) and denies the others (red), over a Secure Channel only.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use libosdp::{
    Channel, ChannelError, ControlPanelBuilder, OsdpCommand, OsdpCommandLed, OsdpEvent,
    OsdpEventCardRead, OsdpFlag, OsdpLedColor, OsdpLedParams, PdInfoBuilder,
};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{OptionalActions, tcgetattr, tcsetattr};

/// The longest a panel runs, so a test that goes wrong cannot hang.
const PANEL_LIFETIME: Duration = Duration::from_secs(600);

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

pub struct ControlPanel {
    reader_device: PathBuf,
    /// Held open in raw mode, so that what the panel sends before an agent
    /// opens the line is not echoed back to it by the terminal driver.
    _reader_side: File,
    card_reads: Receiver<OsdpEventCardRead>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl ControlPanel {
    /// Starts polling the reader at `address`, Secure Channel enforced with
    /// `scbk`; `granted_cards` are the card reads' bits it grants.
    pub fn start(address: u8, scbk: [u8; 16], granted_cards: Vec<Vec<u8>>) -> ControlPanel {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let reader_device = PathBuf::from(
            ptsname(&master, Vec::new())
                .expect("ptsname")
                .into_string()
                .expect("UTF-8 path"),
        );
        rustix::io::ioctl_fionbio(&master, true).expect("non-blocking master");
        let reader_side = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
            .open(&reader_device)
            .expect("open the reader's side");
        let mut termios = tcgetattr(&reader_side).expect("tcgetattr");
        termios.make_raw();
        tcsetattr(&reader_side, OptionalActions::Now, &termios).expect("raw mode");

        let reader = PdInfoBuilder::new()
            .name("entrance")
            .and_then(|b| b.address(i32::from(address)))
            .and_then(|b| b.baud_rate(9600))
            .expect("valid reader settings")
            .flag(OsdpFlag::EnforceSecure)
            .secure_channel_key(scbk);
        let mut cp = ControlPanelBuilder::new()
            .add_channel(Box::new(PtyMaster(File::from(master))), vec![reader])
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
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let deadline = Instant::now() + PANEL_LIFETIME;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    cp.refresh();
                    while let Ok(card) = events.try_recv() {
                        let colour = if granted_cards.contains(&card.data) {
                            OsdpLedColor::Green
                        } else {
                            OsdpLedColor::Red
                        };
                        cp.send_command(0, temporary_led(colour))
                            .expect("queue LED command");
                        let _ = card_reads_tx.send(card);
                    }
                    thread::sleep(Duration::from_millis(10));
                }
            })
        };
        ControlPanel {
            reader_device,
            _reader_side: reader_side,
            card_reads,
            stop,
            worker: Some(worker),
        }
    }

    /// The serial device an agent opens as the reader.
    pub fn reader_device(&self) -> &Path {
        &self.reader_device
    }

    /// The next card read the panel received, waiting up to `timeout`.
    pub fn next_card_read(&self, timeout: Duration) -> Option<OsdpEventCardRead> {
        self.card_reads.recv_timeout(timeout).ok()
    }
}

impl Drop for ControlPanel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The LED command a panel answers a card read with.
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
