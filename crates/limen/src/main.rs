//! `limen`: one command for the whole service.

mod eval_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "limen", version, about = "Privacy-first face access")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Accuracy evaluation of the face engine.
    #[command(subcommand)]
    Eval(eval_cmd::EvalCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Eval(cmd) => eval_cmd::run(cmd),
    }
}
