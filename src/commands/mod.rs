//! One module per subcommand: glue between the CLI and the library layers, no protocol logic.

pub mod analyze;
pub mod arm_common;
pub mod capture;
pub mod delete;
pub mod docs;
pub mod download;
pub mod list;
pub mod remote;
pub mod show;
pub mod start;
pub mod status;
pub mod stop;
pub mod view;
pub mod wait;

use anyhow::Context;

use crate::cli::{Cli, Command};

/// Runs the chosen command and returns the exit code for a completed run.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let v = cli.verbose;
    match cli.command {
        Command::Analyze(args) => analyze::run(&args, v),
        Command::List(args) => list::run(&args, v),
        Command::Show(args) => show::run(&args, v),
        Command::Status(args) => status::run(&args, v),
        Command::Start(args) => start::run(&args, v),
        Command::Stop(args) => stop::run(&args, v),
        Command::Wait(args) => wait::run(&args, v),
        Command::Delete(args) => delete::run(&args, v),
        Command::Download(args) => download::run(&args, v),
        Command::Capture(args) => capture::run(&args, v),
        Command::Completions(args) => docs::completions(&args),
        Command::Man(args) => docs::man(&args),
    }
}

/// The async runtime every command that talks to Azure runs on. Multi-threaded: a download's
/// ranged GETs, TLS and hashing then use every core, and the commands that make one request at
/// a time lose nothing by it.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
