//! Where a command's output goes and how it ends: the [`Io`] of a command (the terminal, or the
//! text collected for a control-socket client), `outln!`/`errln!`, the exit codes of
//! docs/CLI.md and the one-line error message.

use std::io::{BufRead, Write};

use krizlink_core::engine::node::{NodeError, WriteError};

/// Exit codes (docs/CLI.md).
pub(crate) const EXIT_ERROR: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;
pub(crate) const EXIT_WRONG_PASSPHRASE: u8 = 3;
pub(crate) const EXIT_IN_USE: u8 = 4;
pub(crate) const EXIT_NOT_INITIALIZED: u8 = 5;

/// What a command reads and writes: the terminal (output streamed, so a long import shows each
/// id as soon as it is durable), or a control-socket client's text (collected).
pub(crate) struct Io {
    pub(crate) out: String,
    pub(crate) err: String,
    pub(crate) input: Box<dyn BufRead + Send>,
    /// The new passphrase of `passphrase change`, asked for by the process the person started
    /// (`secret`), never by the command itself.
    pub(crate) new_passphrase: Option<String>,
    /// Print at once instead of collecting.
    stream: bool,
}

impl Io {
    pub(crate) fn terminal() -> Io {
        Io {
            out: String::new(),
            err: String::new(),
            input: Box::new(std::io::BufReader::new(std::io::stdin())),
            new_passphrase: None,
            stream: true,
        }
    }

    /// Collects the output for a control-socket client; `input` is what it sent as stdin,
    /// `new_passphrase` what it asked its person for.
    pub(crate) fn collected(input: Vec<u8>, new_passphrase: Option<String>) -> Io {
        Io {
            out: String::new(),
            err: String::new(),
            input: Box::new(std::io::Cursor::new(input)),
            new_passphrase,
            stream: false,
        }
    }

    /// Whether this is a control-socket client's command (its input came with it).
    pub(crate) fn is_collected(&self) -> bool {
        !self.stream
    }

    pub(crate) fn write_out(&mut self, args: std::fmt::Arguments<'_>) {
        if self.stream {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_fmt(args).and_then(|()| stdout.flush());
        } else {
            use std::fmt::Write as _;
            let _ = self.out.write_fmt(args);
        }
    }

    pub(crate) fn write_err(&mut self, args: std::fmt::Arguments<'_>) {
        if self.stream {
            let _ = std::io::stderr().lock().write_fmt(args);
        } else {
            use std::fmt::Write as _;
            let _ = self.err.write_fmt(args);
        }
    }
}

/// A line on the command's standard output.
macro_rules! outln {
    ($io:expr, $($arg:tt)*) => {
        $io.write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// A line on the command's standard error.
macro_rules! errln {
    ($io:expr, $($arg:tt)*) => {
        $io.write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, outln};

/// The exit code a command ended with on the serving peer (its output is already shown).
#[derive(Debug)]
pub(crate) struct Forwarded(pub(crate) u8);

impl std::fmt::Display for Forwarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for Forwarded {}

/// The exit code for a failed command (docs/CLI.md).
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    let node = e.downcast_ref::<NodeError>().or(match e.downcast_ref() {
        Some(WriteError::Node(n)) => Some(n),
        _ => None,
    });
    match node {
        Some(NodeError::WrongPassphrase) => EXIT_WRONG_PASSPHRASE,
        Some(NodeError::InUse(_)) => EXIT_IN_USE,
        Some(NodeError::NotInitialized(_)) => EXIT_NOT_INITIALIZED,
        _ => EXIT_ERROR,
    }
}

/// The error and its causes on one line, without repeating a cause the message already holds.
pub(crate) fn one_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text.replace('\n', " ")
}
