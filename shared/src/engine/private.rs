//! Local hardening of the data dir: every directory the engine makes is created 0700 and every
//! file 0600 at creation (never chmod'ed afterwards), and no file operation follows a symbolic
//! link planted inside the data dir.
//!
//! - The data dir itself ([`data_dir`]) must be a real directory (not a link) owned by the user
//!   the process runs as. A data dir of ours that others can read (a directory made by hand
//!   with the usual umask, 0755) is tightened to 0700 and the caller tells the person; one owned
//!   by another user is refused.
//! - Directories inside it ([`dir`]: `spaces/`, `state/`) are created 0700; an existing one must
//!   be a real directory of ours (a planted link is refused, not followed) and is tightened.
//! - Files are opened with `O_NOFOLLOW` ([`options`], [`open`], [`read`]): a link in place of the
//!   op log, the audit log or any other file fails with [`LINK_REFUSED`] instead of reading or
//!   writing the file it points to. An opened file must be a regular file of ours; a file of
//!   ours from an older build with a looser mode is tightened to 0600 (`fchmod` on the open
//!   descriptor, so no path is resolved twice).
//! - Atomic writes ([`write_atomic`]) create their temp file with `O_EXCL | O_NOFOLLOW`, 0600.
//! - sled opens its own files: its directory `state/` is created 0700 before sled opens it, so
//!   its contents are unreachable by others whatever their mode; the binaries also set the
//!   umask to 077 at the start of `main` ([`restrict_umask`]), while they are single-threaded,
//!   so sled's files are 0600 as well. Changing the umask around sled's open instead would be
//!   racy: the umask is per process and other threads create files too.
//!
//! Only the last path component is protected by `O_NOFOLLOW`; the components inside the data dir
//! (`spaces/`, `state/`) are checked by [`dir`] before use, and the data dir is private, so only
//! its owner (or root) could swap them afterwards.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every directory the engine creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the engine creates.
pub const FILE_MODE: u32 = 0o600;

/// What a person reads when a symbolic link stands where a data-dir file or directory should be.
pub const LINK_REFUSED: &str = "it is a symbolic link, which KrizLink never follows inside its data dir (it may have been planted: remove it)";
/// What a person reads when the data dir itself is a symbolic link.
pub const DATA_DIR_LINK_REFUSED: &str = "it is a symbolic link, which KrizLink does not follow for its data dir: give the real directory (--data-dir or KRIZLINK_DATA_DIR)";

/// Why a path in the data dir was refused: the typed inner error of the [`io::Error`]s this
/// module returns for it (see [`refusal`]), so callers can tell the person what it means.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{LINK_REFUSED}")]
    Link,
    #[error("{DATA_DIR_LINK_REFUSED}")]
    DataDirLink,
    #[error("it is not a regular file")]
    NotAFile,
    #[error("it is not a directory")]
    NotADirectory,
    #[error("it belongs to another user (uid {0}); KrizLink uses only what belongs to the user it runs as")]
    ForeignOwner(u32),
    /// Something inside a directory checked by [`check_tree`].
    #[error("{}: {reason}", path.display())]
    Within {
        path: std::path::PathBuf,
        reason: Box<Refused>,
    },
}

impl From<Refused> for io::Error {
    fn from(r: Refused) -> io::Error {
        let kind = match r {
            Refused::Link | Refused::DataDirLink => io::ErrorKind::InvalidInput,
            Refused::NotAFile | Refused::NotADirectory => io::ErrorKind::InvalidInput,
            Refused::ForeignOwner(_) => io::ErrorKind::PermissionDenied,
            Refused::Within { .. } => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, r)
    }
}

/// The refusal behind an error of this module, if that is what it is.
pub fn refusal(e: &io::Error) -> Option<&Refused> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Refused>())
}

/// Sets the process's umask to 077, so files that libraries create (sled's) are private too.
/// Call it first thing in `main`, before any thread exists: the umask is per process.
pub fn restrict_umask() {
    // SAFETY: umask has no preconditions and cannot fail; called before other threads exist.
    unsafe {
        libc::umask(0o077);
    }
}

/// The effective user id of this process.
fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether `uid` is the user this process runs as.
pub fn is_own_uid(uid: u32) -> bool {
    uid == euid()
}

/// The user id of the process at the other end of a connected Unix socket (`SO_PEERCRED`, as
/// the kernel recorded it at `connect`/`listen`: the peer cannot forge it).
pub fn peer_uid(socket: &impl std::os::fd::AsRawFd) -> io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes and `len` holds the size of `cred`; the
    // descriptor is borrowed from a live socket for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// `ELOOP` from an `O_NOFOLLOW` open means the last component is a link: say so plainly.
fn refuse_link(e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        Refused::Link.into()
    } else {
        e
    }
}

/// Open options for a file in the data dir: created 0600, never through a symbolic link.
pub fn options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.mode(FILE_MODE).custom_flags(libc::O_NOFOLLOW);
    o
}

/// Opens `path` with `opts` (from [`options`]) and checks what was opened: a regular file of this
/// user, tightened to 0600 if an older build left it looser.
pub fn open(path: &Path, opts: &OpenOptions) -> io::Result<File> {
    let file = opts.open(path).map_err(refuse_link)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(Refused::NotAFile.into());
    }
    if meta.uid() != euid() {
        return Err(Refused::ForeignOwner(meta.uid()).into());
    }
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(file)
}

/// Reads a whole data-dir file, never through a link.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(path, options().read(true))?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads a whole data-dir text file, never through a link.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Syncs a directory (after a rename or a creation in it), never through a link.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
        .open(dir)
        .map_err(refuse_link)?
        .sync_all()
}

/// Writes `bytes` to `path` atomically and durably: a temp file `.NAME.tmp` beside it created
/// with `O_EXCL | O_NOFOLLOW` and mode 0600, written and `sync_all`ed, renamed over `path` (a
/// rename replaces a link, it never writes through one), then the directory synced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    // A temp file left by a crash is stale (its content never replaced the file); unlinking
    // removes a planted link itself, never its target.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let written = open(&tmp, options().write(true).create_new(true)).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Checks an existing directory (not followed if it is a link): a directory of this user.
/// Tightens it to 0700 if others could reach it; returns its old mode then.
fn check_dir(path: &Path, link_refused: Refused) -> io::Result<Option<u32>> {
    let handle = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
        .open(path);
    let handle = match handle {
        Ok(h) => h,
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            // O_NOFOLLOW | O_DIRECTORY on a link to a directory also says ENOTDIR.
            let link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            return Err(if link {
                link_refused
            } else {
                Refused::NotADirectory
            }
            .into());
        }
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(link_refused.into()),
        Err(e) => return Err(e),
    };
    let meta = handle.metadata()?;
    if meta.uid() != euid() {
        return Err(Refused::ForeignOwner(meta.uid()).into());
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        handle.set_permissions(fs::Permissions::from_mode(DIR_MODE))?;
        return Ok(Some(mode));
    }
    Ok(None)
}

/// Makes sure `path` is a private directory inside the data dir: created 0700 if missing; an
/// existing one must be a real directory of this user (a link is refused) and is tightened.
pub fn dir(path: &Path) -> io::Result<()> {
    match DirBuilder::new().mode(DIR_MODE).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            check_dir(path, Refused::Link).map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// Checks what is inside a private directory whose files another library opens (sled's
/// `state/`): every entry, at any depth, must be a real file or directory of this user. A link
/// planted in it is refused before the library could follow it.
pub fn check_tree(path: &Path) -> io::Result<()> {
    let mut todo = vec![(path.to_owned(), 0u8)];
    while let Some((dir, depth)) = todo.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let at = entry.path();
            let meta = fs::symlink_metadata(&at)?;
            let refused = |r: Refused| -> io::Error {
                Refused::Within {
                    path: at.clone(),
                    reason: Box::new(r),
                }
                .into()
            };
            if meta.file_type().is_symlink() {
                return Err(refused(Refused::Link));
            }
            if meta.uid() != euid() {
                return Err(refused(Refused::ForeignOwner(meta.uid())));
            }
            if meta.is_dir() {
                // sled nests one level (`blobs/`); deeper trees are not its and are refused.
                if depth >= 4 {
                    return Err(refused(Refused::NotAFile));
                }
                todo.push((at, depth + 1));
            }
        }
    }
    Ok(())
}

/// Makes sure `path` is a private data dir: created 0700 (with any missing parents, also 0700)
/// if missing. An existing one must be a real directory (not a link) of this user; if others
/// could reach it, it is tightened to 0700 and a sentence for the person is returned.
pub fn data_dir(path: &Path) -> io::Result<Option<String>> {
    match DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
    {
        Ok(()) => {}
        // `recursive` reports an existing link to a directory as success and an existing file
        // as AlreadyExists: the check below says which it is.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    Ok(check_dir(path, Refused::DataDirLink)?.map(|old| {
        format!(
            "the data dir {} was open to other users (mode {old:o}); it is now private (700)",
            path.display()
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("krizlink-private-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn created_files_and_dirs_are_private_whatever_the_umask() {
        let root = scratch("modes");
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        let data = root.join("a/b/data");
        assert_eq!(data_dir(&data).unwrap(), None);
        assert_eq!(mode(&root.join("a")), 0o700);
        assert_eq!(mode(&data), 0o700);
        dir(&data.join("spaces")).unwrap();
        assert_eq!(mode(&data.join("spaces")), 0o700);
        open(&data.join("log"), options().append(true).create(true)).unwrap();
        assert_eq!(mode(&data.join("log")), 0o600);
        write_atomic(&data.join("session"), b"1").unwrap();
        assert_eq!(mode(&data.join("session")), 0o600);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_open_data_dir_is_tightened_and_said_so() {
        let root = scratch("open");
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        let said = data_dir(&root).unwrap().expect("a note");
        assert!(said.contains("755"), "{said}");
        assert_eq!(mode(&root), 0o700);
        assert_eq!(data_dir(&root).unwrap(), None);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn links_are_refused_not_followed() {
        let root = scratch("links");
        let outside = root.join("outside");
        fs::write(&outside, b"not yours").unwrap();
        let data = root.join("data");
        data_dir(&data).unwrap();
        let planted = data.join("audit.log");
        symlink(&outside, &planted).unwrap();
        for result in [
            open(&planted, options().append(true).create(true)).map(|_| ()),
            read(&planted).map(|_| ()),
        ] {
            let e = result.expect_err("a link is refused");
            assert_eq!(refusal(&e), Some(&Refused::Link));
            assert_eq!(e.to_string(), LINK_REFUSED);
        }
        // The atomic write replaces the link itself, never writes through it.
        write_atomic(&planted, b"mine").unwrap();
        assert!(!fs::symlink_metadata(&planted)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&outside).unwrap(), b"not yours");
        // A planted temp link is removed, not written through.
        symlink(&outside, data.join(".session.tmp")).unwrap();
        write_atomic(&data.join("session"), b"1").unwrap();
        assert_eq!(fs::read(&outside).unwrap(), b"not yours");
        // Directories: a link to a directory is refused, for the data dir and inside it.
        let elsewhere = root.join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        symlink(&elsewhere, data.join("spaces")).unwrap();
        assert_eq!(
            dir(&data.join("spaces")).unwrap_err().to_string(),
            LINK_REFUSED
        );
        // Inside a tree another library opens (sled's `state/`): a link at any depth.
        let state = data.join("state");
        dir(&state).unwrap();
        dir(&state.join("blobs")).unwrap();
        fs::write(state.join("conf"), b"").unwrap();
        check_tree(&state).unwrap();
        symlink(&outside, state.join("blobs/1")).unwrap();
        let e = check_tree(&state).unwrap_err();
        assert!(
            matches!(refusal(&e), Some(Refused::Within { reason, .. }) if **reason == Refused::Link)
        );
        symlink(&data, root.join("link-to-data")).unwrap();
        let e = data_dir(&root.join("link-to-data")).unwrap_err();
        assert_eq!(e.to_string(), DATA_DIR_LINK_REFUSED);
        fs::remove_dir_all(&root).unwrap();
    }
}
