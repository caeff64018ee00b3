//! `nwcap completions` and `nwcap man`: the shell completion scripts and man pages, generated
//! from the command-line definition so that they always match it.

use clap::CommandFactory;

use super::arm_common::emit;
use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit;

/// Prints the completion script for the shell.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "nwcap", &mut buf);
    emit(&String::from_utf8_lossy(&buf))?;
    Ok(exit::OK)
}

/// Prints the man page of nwcap, or of one of its commands (`nwcap-analyze(1)`).
pub fn man(args: &ManArgs) -> anyhow::Result<i32> {
    let mut cli = Cli::command();
    cli.build();
    let page = match &args.command {
        None => cli,
        Some(name) => {
            let sub = cli.find_subcommand(name).cloned().ok_or_else(|| {
                let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
                exit::usage(anyhow::anyhow!(
                    "no command '{name}' (one of: {})",
                    names.join(", ")
                ))
            })?;
            let full = format!("nwcap-{name}");
            sub.name(full.clone()).bin_name(full)
        }
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(page).render(&mut buf)?;
    emit(&String::from_utf8_lossy(&buf))?;
    Ok(exit::OK)
}
