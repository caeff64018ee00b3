//! One module per subcommand: glue between the CLI and the library layers, no protocol logic.

pub mod analyze;
pub mod download;

use crate::cli::{Cli, Command};

/// Runs the chosen command and returns the exit code for a completed run.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Analyze(args) => analyze::run(&args),
        Command::Download(args) => download::run(&args, cli.verbose),
    }
}
