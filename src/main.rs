//! The `nwcap` binary: parse arguments, run one command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The SDK's TLS stack is built without a default provider (ring builds far faster than
    // aws-lc); without this every Azure client construction panics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match nwcap::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout with exit 0, as clap prints them.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let args: Vec<String> = std::env::args().collect();
            eprintln!("nwcap: {}", nwcap::cli::error::one_line(&e, &args));
            return ExitCode::from(nwcap::exit::USAGE as u8);
        }
    };
    let code = match nwcap::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nwcap: {e:#}");
            nwcap::exit::code_of(&e)
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
