//! krizlink-node: the headless KrizLink peer and the scripting CLI for regional IT.
//!
//! Every command opens the data dir, does one thing and prints its result on stdout; errors go
//! to stderr as one line with the reason, with a non-zero exit code, and change nothing.
//! The contract (names, output, exit codes) is documented in docs/CLI.md.
//!
//! Modules (imports point one way, down this list): `serve` (the always-on peer, the control
//! socket, network joins) → `commands` (one parsed command on an open node) → `records` (the
//! per-kind record commands, through the engine's write path) and `status` → `json` (list
//! output) → `parse` (ids, times, enumerations) → `output` (output, exit codes) and `args`
//! (the clap types); `secret` asks for passphrases, only here, never in a serving peer. This
//! file reads the command line, finds the data dir and the passphrase, and hands the command to
//! a serving peer or runs it here.

mod args;
mod commands;
mod exercise;
mod json;
mod output;
mod parse;
mod records;
mod secret;
mod serve;
mod status;

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;

use krizlink_core::engine::default_data_dir;
use krizlink_core::engine::keystore::KdfParams;
use krizlink_core::engine::node::Node;

use args::{Cli, Command, PassphraseCmd};
use commands::dispatch;
use output::{exit_code, one_line, Forwarded, Io, EXIT_USAGE};

fn main() -> ExitCode {
    // Before any thread exists: files sled creates in the data dir are private too.
    krizlink_core::engine::private::restrict_umask();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match run(cli, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(Forwarded(code)) = e.downcast_ref::<Forwarded>() {
                return ExitCode::from(*code); // the serving peer's messages are printed already
            }
            eprintln!("krizlink-node: {}", one_line(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

fn run(cli: Cli, args: Vec<String>) -> Result<()> {
    let dir = match cli.data_dir.clone() {
        Some(d) => d,
        None => default_data_dir().context("no --data-dir given")?,
    };
    let pass_file = cli.passphrase_file.as_deref();
    if !matches!(cli.command, Command::Init { .. } | Command::Serve { .. }) {
        if let Some(code) = serve::forward(&dir, &args, &cli.command)? {
            return if code == 0 {
                Ok(())
            } else {
                Err(anyhow::Error::new(Forwarded(code)))
            };
        }
    }
    if let Command::Init { name } = &cli.command {
        if name.trim().is_empty() {
            bail!("the name must not be empty");
        }
        let pass = secret::passphrase(pass_file, true)?;
        if pass.chars().count() < 8 {
            bail!("the passphrase must have at least 8 characters");
        }
        let node = Node::init(&dir, name, &pass, KdfParams::default())?;
        println!("{}", node.device_id());
        node.close()?;
        return Ok(());
    }
    let pass = secret::passphrase(pass_file, false)?;
    let mut node = Node::open(&dir, &pass)?;
    for (space, reason) in node.damaged_spaces() {
        eprintln!("krizlink-node: warning: space {space} is read-only: {reason}");
    }
    for warning in node.warnings().iter().chain(node.notices()) {
        eprintln!("krizlink-node: warning: {warning}");
    }
    let result = match cli.command {
        Command::Serve {
            listen,
            peer,
            no_mdns,
            blind_relay,
        } => serve::serve(&mut node, listen, peer, !no_mdns, blind_relay),
        Command::Join {
            code: Some(code),
            offline: false,
            welcome: None,
            peer,
        } => serve::join_once(&mut node, &code, &peer),
        command => {
            let mut io = Io::terminal();
            if let Command::Passphrase(PassphraseCmd::Change {
                new_passphrase_file,
            }) = &command
            {
                io.new_passphrase = Some(secret::new_passphrase(new_passphrase_file.as_deref())?);
            }
            dispatch(&mut node, &mut io, None, command)
        }
    };
    // Every change is already durable in the op log; failing to save derived state on the way
    // out loses nothing (the next start replays the log), so it is a warning, not an error.
    if let Err(e) = node.close() {
        eprintln!("krizlink-node: warning: {e}");
    }
    result
}
