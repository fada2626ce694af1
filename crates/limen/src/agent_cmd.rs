//! `limen agent`: the camera agent at an entrance.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use limen_access::Decision as PanelDecision;
use limen_access::osdp::{OsdpReader, PresentError, ReaderConfig, Scbk};
use limen_access::wiegand::CardFormat;
use limen_agent::{
    Agent, AgentConfig, AgentEvent, AgentMetrics, Capture, Decision, FrameSource, RetryPolicy,
    ServerAnswer, ServerUrl, SourceSpec, Submitter, TrustedRoots,
};
use limen_face::{FaceFinder, LivenessChecker};

use crate::ModelsArg;

#[derive(Args)]
#[command(
    about = "Run the camera agent of an entrance",
    long_about = "Reads frames from a camera or a recording, checks faces locally, follows each \
                  person across frames and sends the server only the region around the face of \
                  the person at the door, once per passage. Frames stay in memory and are \
                  never written anywhere. A live source that stops ends the agent with an \
                  error, for the service manager to restart it. With --osdp-device, the agent \
                  is the access panel's OSDP reader: each matched person is reported to the \
                  panel as a card read, and the panel's answer is printed."
)]
pub struct AgentArgs {
    /// Base URL of the Limen server, e.g. https://limen.example.com. Its
    /// answers carry access-system ids, so plain http:// is accepted only
    /// for a server on this machine (loopback).
    #[arg(long, env = "LIMEN_SERVER")]
    server: String,
    /// A PEM file of the certificate authorities to trust for https://
    /// (the server and an https:// camera) instead of the public ones, for
    /// a deployment with its own CA.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// The device token issued for this camera. Better given in the
    /// environment, where other users of the machine cannot read it.
    #[arg(long, env = "LIMEN_DEVICE_TOKEN", hide_env_values = true)]
    token: String,
    /// dir:PATH (pictures in file-name order), file:PATH (recorded MJPEG),
    /// mjpeg:http(s)://[USER:PASSWORD@]HOST/PATH (IP camera, MJPEG),
    /// rtsp://[USER:PASSWORD@]HOST[:PORT]/PATH (IP camera, H.264) or
    /// v4l2:/dev/videoN. Better given in the environment when it holds a
    /// password.
    // Parsed after clap, whose errors would echo a camera password.
    #[arg(long, env = "LIMEN_SOURCE", hide_env_values = true)]
    source: String,
    /// Time before the same person can be sent again, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    cooldown_ms: u64,
    #[command(flatten)]
    models: ModelsArg,
    /// A frame older than this is dropped instead of sent, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    max_frame_age_ms: u64,
    /// Attempts after a failed send, with doubling waits from 200 ms.
    #[arg(long, default_value_t = 5)]
    retries: u32,
    /// Time between the frames of a recording (dir:, file:), in milliseconds.
    #[arg(long, default_value_t = 100)]
    frame_interval_ms: u64,
    /// Check liveness here too, as part of the quality check: a face judged
    /// a photo or a screen is not sent (about 6 ms a face on one core). The
    /// server decides by its entrance's liveness mode either way.
    #[arg(long)]
    check_liveness: bool,
    /// With nothing sent for this many seconds, tell the server the agent is
    /// still there, so that a camera nobody passes is not shown as down.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    heartbeat_secs: u64,
    /// Serve Prometheus metrics (frames read, sent, rejected locally by
    /// reason, server errors, camera up or down) at /metrics on this
    /// address, e.g. 127.0.0.1:9465. Off when not given.
    #[arg(long, value_name = "ADDRESS", env = "LIMEN_METRICS_BIND")]
    metrics_bind: Option<SocketAddr>,
    #[command(flatten)]
    osdp: OsdpArgs,
}

/// The access panel this agent is wired to as an OSDP reader, for an
/// entrance with the `osdp` connector.
#[derive(Args)]
struct OsdpArgs {
    /// The serial device of the access panel's OSDP line, e.g. /dev/ttyUSB0.
    /// With it, each matched person is reported to the panel as a card read
    /// carrying their ACS id, over a Secure Channel.
    #[arg(long, value_name = "PATH", requires_all = ["osdp_address", "osdp_scbk"])]
    osdp_device: Option<PathBuf>,
    /// This reader's address on the OSDP bus, as configured in the panel.
    /// The panel cannot change it (its COMSET is refused): change it here.
    #[arg(long, value_name = "N", requires = "osdp_device", value_parser = clap::value_parser!(u8).range(0..=126))]
    osdp_address: Option<u8>,
    /// The Secure Channel Base Key shared with the panel, 32 hexadecimal
    /// digits. Better given in the environment.
    // A String, parsed after clap, so that no error message repeats it.
    #[arg(
        long,
        value_name = "HEX",
        env = "LIMEN_OSDP_SCBK",
        hide_env_values = true
    )]
    osdp_scbk: Option<String>,
    /// How the ACS id is put on the card read: raw:BITS (the id as a
    /// number), wiegand26:FACILITY or wiegand34:FACILITY.
    #[arg(
        long,
        value_name = "FORMAT",
        default_value = "raw:32",
        requires = "osdp_device"
    )]
    osdp_card_format: CardFormat,
    /// The OSDP line's speed in baud.
    #[arg(long, default_value_t = ReaderConfig::DEFAULT_BAUD_RATE, requires = "osdp_device")]
    osdp_baud_rate: u32,
    /// How long to wait for the panel's answer to a card read, in
    /// milliseconds; without one the card read is withdrawn.
    #[arg(long, default_value_t = 2000, requires = "osdp_device")]
    osdp_answer_timeout_ms: u64,
}

/// How long the agent waits at start for the panel to open a Secure Channel
/// before it reads frames anyway.
const PANEL_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// An access panel that decides on the people the server matched.
struct Panel {
    reader: OsdpReader,
    card_format: CardFormat,
    answer_timeout: Duration,
}

impl Panel {
    /// Opens the reader when `--osdp-device` is given.
    fn open(args: OsdpArgs) -> anyhow::Result<Option<Panel>> {
        let (Some(device), Some(address), Some(scbk)) =
            (args.osdp_device, args.osdp_address, args.osdp_scbk)
        else {
            return Ok(None);
        };
        let scbk = Scbk::from_hex(&scbk)?;
        let reader = OsdpReader::open(ReaderConfig {
            device: device.clone(),
            address,
            scbk,
            baud_rate: args.osdp_baud_rate,
            card_format: args.osdp_card_format,
        })?;
        eprintln!(
            "limen agent: OSDP reader at address {address} on {}, waiting for the access \
             panel's secure channel",
            device.display()
        );
        Ok(Some(Panel {
            reader,
            card_format: args.osdp_card_format,
            answer_timeout: Duration::from_millis(args.osdp_answer_timeout_ms),
        }))
    }

    /// Waits, for a bounded time, until the panel has opened a Secure
    /// Channel; the reader keeps answering the panel either way.
    fn wait_for_secure_channel(&self) -> bool {
        let deadline = Instant::now() + PANEL_CONNECT_TIMEOUT;
        while !self.reader.is_secure() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }
}

pub fn run(args: AgentArgs) -> anyhow::Result<()> {
    let spec: SourceSpec = args.source.parse()?;
    let server: ServerUrl = args.server.parse()?;
    let roots = match &args.ca_cert {
        Some(path) => TrustedRoots::from_pem_file(path)
            .with_context(|| format!("--ca-cert {}", path.display()))?,
        None => TrustedRoots::public(),
    };
    let policy = RetryPolicy {
        retries: args.retries,
        max_frame_age: Duration::from_millis(args.max_frame_age_ms),
        ..RetryPolicy::default()
    };
    let submitter = Submitter::new(&server, &args.token, policy, &roots)?;
    let handovers = submitter.clone();
    // The reader first: a panel may give up for minutes on a reader that
    // does not answer its first polls.
    let panel = Panel::open(args.osdp).context("opening the OSDP reader")?;
    let models = args.models.source();
    let finder = FaceFinder::load(&models)
        .with_context(|| format!("loading the face models from {models}"))?;
    if let Some(panel) = &panel {
        if panel.wait_for_secure_channel() {
            eprintln!(
                "limen agent: secure channel with the access panel is up; card format {}",
                panel.card_format
            );
        } else {
            eprintln!(
                "limen agent: the access panel has not opened a secure channel within {} s \
                 (check its address and key); matched people reach it once it does",
                PANEL_CONNECT_TIMEOUT.as_secs()
            );
        }
    }
    let source = FrameSource::open(&spec, &roots).with_context(|| format!("opening {spec}"))?;
    let mut capture = Capture::start(source);
    let mut agent = Agent::new(
        submitter,
        AgentConfig {
            cooldown: Duration::from_millis(args.cooldown_ms),
            recorded_frame_interval: Duration::from_millis(args.frame_interval_ms),
            heartbeat_every: Duration::from_secs(args.heartbeat_secs),
            ..AgentConfig::default()
        },
    );
    if let Some(bind) = args.metrics_bind {
        serve_metrics(bind, agent.metrics())?;
    }
    if args.check_liveness {
        let checker = LivenessChecker::load(&models)
            .with_context(|| format!("loading the liveness networks from {models}"))?;
        agent = agent.with_liveness(Arc::new(checker));
    }
    eprintln!("limen agent: reading {spec}, sending to {server}");
    let summary = agent.run(&mut capture, &finder, &mut |event| {
        report(event, panel.as_ref(), &handovers)
    })?;
    eprintln!(
        "limen agent: source ended after {} frames; {} face crops answered, {} dropped",
        summary.frames, summary.answered, summary.dropped
    );
    if capture.is_live() {
        bail!("the camera stream ended");
    }
    Ok(())
}

/// Serves the agent's metrics on a thread of its own; the listener is bound
/// here, so that an address in use stops the agent at start.
fn serve_metrics(bind: SocketAddr, metrics: Arc<AgentMetrics>) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(bind)
        .with_context(|| format!("cannot listen for metrics on {bind}"))?;
    listener.set_nonblocking(true)?;
    eprintln!(
        "limen agent: metrics at http://{}/metrics",
        listener.local_addr()?
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    std::thread::spawn(move || {
        let served = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            limen_server::metrics::serve_exposition(listener, move || metrics.exposition()).await
        });
        if let Err(e) = served {
            eprintln!("limen agent: the metrics listener stopped: {e}");
        }
    });
    Ok(())
}

/// Status output: decisions on stdout, trouble on stderr.
fn report(event: &AgentEvent, panel: Option<&Panel>, handovers: &Submitter) {
    match event {
        AgentEvent::Answered { frame, answer } => {
            println!("limen agent: {event}");
            if answer.decision == Decision::Matched {
                hand_to_connector(*frame, answer, panel);
                if let Some(handover) = &answer.handover
                    && let Err(why) = handovers.end_handover(handover)
                {
                    eprintln!("limen agent: frame {frame}: could not end the handover: {why}");
                }
            }
        }
        AgentEvent::Sending { .. } => println!("limen agent: {event}"),
        AgentEvent::FrameSkipped { .. }
        | AgentEvent::Retrying(_)
        | AgentEvent::Dropped { .. }
        | AgentEvent::HeartbeatFailed { .. } => eprintln!("limen agent: {event}"),
    }
}

/// Where a `matched` decision goes: the access panel wired to this agent as
/// an OSDP reader is handed the ACS id, and its answer is the outcome. The
/// card read waits for the panel no longer than the server holds the
/// match (the handover), so a withdrawal answered after that cannot be
/// followed by this card read.
/// Without a panel the id goes nowhere; an entrance with the `http`
/// connector is decided by the server and answers `granted` or `denied`
/// instead. The ACS id itself stays off the status output.
fn hand_to_connector(frame: u64, answer: &ServerAnswer, panel: Option<&Panel>) {
    let Some(acs_id) = answer.acs_id.as_deref() else {
        eprintln!("limen agent: frame {frame}: the server matched someone but sent no ACS id");
        return;
    };
    let Some(panel) = panel else {
        eprintln!(
            "limen agent: frame {frame}: matched, but no access panel is connected to this agent"
        );
        return;
    };
    let Some(time_left) = answer.handover.as_ref().and_then(|h| h.time_left()) else {
        eprintln!(
            "limen agent: frame {frame}: the server no longer holds this match; nothing was \
             sent to the access panel"
        );
        return;
    };
    match panel
        .reader
        .present(acs_id, panel.answer_timeout.min(time_left))
    {
        Ok(PanelDecision::Granted) => {
            println!("limen agent: frame {frame}: the access panel granted")
        }
        Ok(PanelDecision::Denied) => {
            println!("limen agent: frame {frame}: the access panel denied")
        }
        // Its message would name the id.
        Err(PresentError::Card(_)) => eprintln!(
            "limen agent: frame {frame}: the ACS id does not fit card format {}; \
             nothing was sent to the access panel",
            panel.card_format
        ),
        Err(e) => eprintln!("limen agent: frame {frame}: access panel: {e}"),
    }
}
