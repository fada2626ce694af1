//! `limen`: one command for the whole service.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "limen", version, about = "Privacy-first face access")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Face engine commands (embed, compare).
    Face,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Face => Ok(()),
    }
}
