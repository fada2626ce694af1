//! A real LibOSDP control panel (CP) on the master side of a
//! pseudo-terminal: the access panel an agent is wired to as an OSDP reader.
//! Like an access system, it grants the cards it knows (a temporary green
//! LED) and denies the others (red), over a Secure Channel only.
//!
//! LibOSDP's CP gives up on a reader that does not answer its first polls
//! for five minutes, so the panel starts polling only once the agent says
//! its reader is listening.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
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

/// What the agent's line says once its reader listens.
const READER_LISTENING: &str = "waiting for the access panel";

/// How an agent run ended.
pub struct AgentRun {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

pub struct ControlPanel {
    reader_device: PathBuf,
    /// Held open in raw mode, so that the terminal driver does not echo
    /// the panel's polls back to it while no reader has the line open.
    _reader_side: File,
    /// Until it starts polling.
    cp: Option<libosdp::ControlPanel>,
    granted_cards: Vec<Vec<u8>>,
    /// How long the panel takes to answer a card read.
    answer_delay: Duration,
    answers_tx: mpsc::Sender<Instant>,
    answers: Receiver<Instant>,
    card_reads_tx: mpsc::Sender<OsdpEventCardRead>,
    card_reads: Receiver<OsdpEventCardRead>,
    events: Option<Receiver<OsdpEventCardRead>>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl ControlPanel {
    /// A panel for the reader at `address`, Secure Channel enforced with
    /// `scbk`; `granted_cards` are the card reads' bits it grants.
    pub fn new(address: u8, scbk: [u8; 16], granted_cards: Vec<Vec<u8>>) -> ControlPanel {
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
        let (answers_tx, answers) = mpsc::channel();
        ControlPanel {
            reader_device,
            _reader_side: reader_side,
            cp: Some(cp),
            granted_cards,
            answer_delay: Duration::ZERO,
            answers_tx,
            answers,
            card_reads_tx,
            card_reads,
            events: Some(events),
            stop: Arc::new(AtomicBool::new(false)),
            worker: None,
        }
    }

    /// The same panel, taking `delay` to answer each card read (a slow
    /// access system behind it).
    pub fn answering_after(mut self, delay: Duration) -> ControlPanel {
        self.answer_delay = delay;
        self
    }

    fn start_polling(&mut self) {
        let (Some(mut cp), Some(events)) = (self.cp.take(), self.events.take()) else {
            panic!("the panel polls already");
        };
        let granted_cards = self.granted_cards.clone();
        let answer_delay = self.answer_delay;
        let card_reads_tx = self.card_reads_tx.clone();
        let answers_tx = self.answers_tx.clone();
        let stop = Arc::clone(&self.stop);
        self.worker = Some(thread::spawn(move || {
            let deadline = Instant::now() + PANEL_LIFETIME;
            // Answers decided, with when they are due.
            let mut due: Vec<(Instant, OsdpLedColor)> = Vec::new();
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                cp.refresh();
                while let Ok(card) = events.try_recv() {
                    let colour = if granted_cards.contains(&card.data) {
                        OsdpLedColor::Green
                    } else {
                        OsdpLedColor::Red
                    };
                    due.push((Instant::now() + answer_delay, colour));
                    let _ = card_reads_tx.send(card);
                }
                let now = Instant::now();
                for (_, colour) in due.extract_if(.., |(at, _)| *at <= now) {
                    cp.send_command(0, temporary_led(colour))
                        .expect("queue LED command");
                    let _ = answers_tx.send(Instant::now());
                }
                thread::sleep(Duration::from_millis(10));
            }
        }));
    }

    /// Runs `limen agent` (`agent`, given this panel's reader device) to
    /// its end: the panel starts polling once the agent's reader listens.
    pub fn run_agent(&mut self, agent: &mut Command) -> AgentRun {
        let mut child = agent
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start limen agent");
        let (stderr_lines_tx, stderr_lines) = mpsc::channel::<String>();
        let stderr = child.stderr.take().expect("stderr");
        let stderr_reader = thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = stderr_lines_tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let mut stdout = child.stdout.take().expect("stdout");
        let stdout_reader = thread::spawn(move || {
            let mut all = String::new();
            let _ = stdout.read_to_string(&mut all);
            all
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(line) =
            stderr_lines.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line.contains(READER_LISTENING) {
                self.start_polling();
                break;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().expect("agent status") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break child.wait().expect("agent status");
            }
            thread::sleep(Duration::from_millis(50));
        };
        AgentRun {
            status,
            stdout: stdout_reader.join().expect("stdout reader"),
            stderr: stderr_reader.join().expect("stderr reader"),
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

    /// When the panel sent its next answer (queued its LED command),
    /// waiting up to `timeout`.
    pub fn next_answer(&self, timeout: Duration) -> Option<Instant> {
        self.answers.recv_timeout(timeout).ok()
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
