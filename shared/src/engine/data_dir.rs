//! Where a data dir is when none is named: one rule for the desktop app and `krizlink-node`
//! (an explicit `--data-dir` wins in both, before this is asked).

use std::ffi::OsString;
use std::path::PathBuf;

/// No default data dir can be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("neither KRIZLINK_DATA_DIR, XDG_DATA_HOME nor HOME is set")]
pub struct NoDataDir;

/// The default data dir: `KRIZLINK_DATA_DIR`, else `$XDG_DATA_HOME/krizlink`, else
/// `~/.local/share/krizlink`. Empty variables count as unset.
pub fn default_data_dir() -> Result<PathBuf, NoDataDir> {
    data_dir_from(|name| std::env::var_os(name))
}

/// [`default_data_dir`] over any environment (for tests).
fn data_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, NoDataDir> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(dir) = set("KRIZLINK_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = set("XDG_DATA_HOME") {
        return Ok(PathBuf::from(dir).join("krizlink"));
    }
    set("HOME")
        .map(|home| PathBuf::from(home).join(".local/share/krizlink"))
        .ok_or(NoDataDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn krizlink_data_dir_wins_then_xdg_then_home() {
        let all = [
            ("KRIZLINK_DATA_DIR", "/srv/krizlink"),
            ("XDG_DATA_HOME", "/home/jana/.data"),
            ("HOME", "/home/jana"),
        ];
        assert_eq!(data_dir_from(env(&all)), Ok("/srv/krizlink".into()));
        assert_eq!(
            data_dir_from(env(&[("KRIZLINK_DATA_DIR", ""), ("XDG_DATA_HOME", "/x")])),
            Ok("/x/krizlink".into())
        );
        assert_eq!(
            data_dir_from(env(&[("HOME", "/home/jana")])),
            Ok("/home/jana/.local/share/krizlink".into())
        );
        assert_eq!(data_dir_from(env(&[("HOME", "")])), Err(NoDataDir));
    }
}
