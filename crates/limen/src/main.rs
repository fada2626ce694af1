//! `limen`: one command for the whole service.

mod admin;
mod admin_model;
mod agent_cmd;
mod bench_cmd;
mod bench_frames;
mod bench_galleries;
mod bench_hostile;
mod bench_instances;
mod bench_liveness;
mod bench_matcher;
mod bench_omz;
mod bench_seed;
mod eval_cmd;
mod eval_liveness;
mod face_cmd;
mod parallel;
mod peak;
mod progress;
mod serve;
mod serve_child;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use limen_face::ModelSource;

#[derive(Parser)]
#[command(name = "limen", version, about = "Privacy-first face access")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The face engine: embed images, compare two faces.
    #[command(subcommand)]
    Face(face_cmd::FaceCommand),
    /// Accuracy evaluation of the face engine.
    #[command(subcommand)]
    Eval(eval_cmd::EvalCommand),
    /// Speed figures against the reference implementation.
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
    /// Runs the HTTP service.
    Serve {
        /// Configuration file (TOML); LIMEN_* environment variables override it.
        #[arg(long, env = "LIMEN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Operator commands: organisations, audit trail.
    Admin {
        /// Configuration file (TOML); LIMEN_* environment variables override it.
        #[arg(long, env = "LIMEN_CONFIG")]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// The camera agent at an entrance.
    Agent(agent_cmd::AgentArgs),
}

/// Where the model files are: `--models`, else `LIMEN_MODELS_DIR`, else
/// those built into this binary.
#[derive(Args, Clone)]
pub struct ModelsArg {
    #[arg(long = "models", env = "LIMEN_MODELS_DIR", value_name = "DIR")]
    models: Option<PathBuf>,
}

/// The model files: a directory when one is given, else those built into
/// this binary (the repository's `models/`), so that `limen` runs wherever
/// it is installed.
pub fn model_source(dir: Option<&Path>) -> ModelSource {
    dir.map_or(ModelSource::BuiltIn(limen_shipped_models::FILES), |dir| {
        ModelSource::Dir(dir.to_owned())
    })
}

/// `--model-version`, shared by the commands that make vectors.
#[derive(clap::Args)]
pub struct ModelVersionArg {
    /// The model version whose vectors to make: `dlib-resnet-v1` (dlib's
    /// descriptor as the reference computes it) or `dlib-resnet-v1-mirrored`
    /// (Limen's default: mirror-averaged, unit length).
    #[arg(long = "model-version", default_value = limen_face::FaceModel::DEFAULT.id)]
    model_version: String,
}

impl ModelVersionArg {
    pub fn get(&self) -> anyhow::Result<limen_face::FaceModel> {
        limen_face::FaceModel::by_id(&self.model_version)
            .ok_or_else(|| anyhow::anyhow!("unknown model version {:?}", self.model_version))
    }
}

impl ModelsArg {
    pub fn source(&self) -> ModelSource {
        model_source(self.models.as_deref())
    }

    /// The directory given, for a process started with the same models.
    pub fn dir(&self) -> Option<&Path> {
        self.models.as_deref()
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Face(cmd) => face_cmd::run(cmd),
        Command::Eval(cmd) => eval_cmd::run(cmd),
        Command::Bench(cmd) => bench_cmd::run(cmd),
        Command::Serve { config } => serve::run(config),
        Command::Admin { config, command } => admin::run(config, command),
        Command::Agent(args) => agent_cmd::run(args),
    }
}
