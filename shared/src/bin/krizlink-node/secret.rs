//! Passphrases: from a file, an environment variable, or a prompt on the terminal of the
//! process a person started — never in a serving peer. A command forwarded over the control
//! socket brings any passphrase it needs with it (the client asks for it where the person is,
//! `serve::forward`); the serving peer reads none from its own environment, files or terminal,
//! so a forwarded command can never wait on a prompt on the serving process's terminal.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// The first line of a passphrase file.
fn from_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read passphrase file {}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// Asks on this process's terminal (twice when `confirm`), or says how else to give it.
fn prompt(label: &str, confirm: bool, how: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("{how}");
    }
    let p = rpassword::prompt_password(label).context("cannot read the passphrase")?;
    if confirm {
        let again =
            rpassword::prompt_password("Znovu / again: ").context("cannot read the passphrase")?;
        if again != p {
            bail!("the two passphrases differ");
        }
    }
    Ok(p)
}

/// The keystore's passphrase: `--passphrase-file`, `KRIZLINK_PASSPHRASE`, or a prompt.
pub(crate) fn passphrase(file: Option<&Path>, confirm: bool) -> Result<String> {
    if let Some(path) = file {
        return from_file(path);
    }
    if let Ok(p) = std::env::var("KRIZLINK_PASSPHRASE") {
        return Ok(p);
    }
    prompt(
        "Heslo / passphrase: ",
        confirm,
        "no passphrase: set KRIZLINK_PASSPHRASE, use --passphrase-file, or run in a terminal",
    )
}

/// The new passphrase of `passphrase change`: `--new-passphrase-file`,
/// `KRIZLINK_NEW_PASSPHRASE`, or a prompt (twice).
pub(crate) fn new_passphrase(file: Option<&Path>) -> Result<String> {
    if let Some(path) = file {
        return from_file(path);
    }
    if let Ok(p) = std::env::var("KRIZLINK_NEW_PASSPHRASE") {
        return Ok(p);
    }
    prompt(
        "Nové heslo / new passphrase: ",
        true,
        "no new passphrase: set KRIZLINK_NEW_PASSPHRASE, use --new-passphrase-file, or run in a terminal",
    )
}
