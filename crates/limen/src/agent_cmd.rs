//! `limen agent`: the camera agent at an entrance.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use limen_agent::{
    Agent, AgentConfig, AgentEvent, Capture, Decision, FrameSource, RetryPolicy, ServerAnswer,
    SourceSpec, Submitter,
};
use limen_face::FaceFinder;

use crate::ModelsArg;

#[derive(Args)]
#[command(
    about = "Run the camera agent of an entrance",
    long_about = "Reads frames from a camera or a recording, checks faces locally, follows each \
                  person across frames and sends the server only the region around the face of \
                  the person at the door, once per passage. Frames stay in memory and are \
                  never written anywhere. A live source that stops ends the agent with an \
                  error, for the service manager to restart it."
)]
pub struct AgentArgs {
    /// Base URL of the Limen server, e.g. https://limen.example.com.
    #[arg(long)]
    server: String,
    /// The device token issued for this camera. Better given in the
    /// environment, where other users of the machine cannot read it.
    #[arg(long, env = "LIMEN_DEVICE_TOKEN", hide_env_values = true)]
    token: String,
    /// dir:PATH (pictures in file-name order), file:PATH (recorded MJPEG),
    /// mjpeg:http://HOST/PATH (IP camera) or v4l2:/dev/videoN.
    // Parsed after clap, whose errors would echo a camera password.
    #[arg(long)]
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
}

pub fn run(args: AgentArgs) -> anyhow::Result<()> {
    let spec: SourceSpec = args.source.parse()?;
    let policy = RetryPolicy {
        retries: args.retries,
        max_frame_age: Duration::from_millis(args.max_frame_age_ms),
        ..RetryPolicy::default()
    };
    let submitter = Submitter::new(&args.server, &args.token, policy)?;
    let models = args.models.dir();
    let finder = FaceFinder::load(&models)
        .with_context(|| format!("loading the face models from {}", models.display()))?;
    let source = FrameSource::open(&spec).with_context(|| format!("opening {spec}"))?;
    let mut capture = Capture::start(source);
    let mut agent = Agent::new(
        submitter,
        AgentConfig {
            cooldown: Duration::from_millis(args.cooldown_ms),
            recorded_frame_interval: Duration::from_millis(args.frame_interval_ms),
            ..AgentConfig::default()
        },
    );
    eprintln!("limen agent: reading {spec}, sending to {}", args.server);
    let summary = agent.run(&mut capture, &finder, &mut report)?;
    eprintln!(
        "limen agent: source ended after {} frames; {} face crops answered, {} dropped",
        summary.frames, summary.answered, summary.dropped
    );
    if capture.is_live() {
        bail!("the camera stream ended");
    }
    Ok(())
}

/// Status output: decisions on stdout, trouble on stderr.
fn report(event: &AgentEvent) {
    match event {
        AgentEvent::Answered { answer, .. } => {
            println!("limen agent: {event}");
            if answer.decision == Decision::Matched {
                hand_to_connector(answer);
            }
        }
        AgentEvent::Sending { .. } => println!("limen agent: {event}"),
        AgentEvent::FrameSkipped { .. } | AgentEvent::Retrying(_) | AgentEvent::Dropped { .. } => {
            eprintln!("limen agent: {event}")
        }
    }
}

/// Where a `matched` decision goes: an access panel wired to this agent as
/// an OSDP reader (`limen-access`) is handed the ACS id here. Without one,
/// the id goes nowhere; an entrance with the `http` connector is decided by
/// the server and answers `granted` or `denied` instead.
fn hand_to_connector(answer: &ServerAnswer) {
    if answer.acs_id.is_none() {
        eprintln!("limen agent: the server matched someone but sent no ACS id");
    } else {
        eprintln!("limen agent: matched, but no access panel is connected to this agent");
    }
}
