//! Where the desktop app saves a document the person asked for (an evaluation, a situation
//! report): the person's documents folder (`$XDG_DOCUMENTS_DIR` if set to an absolute path,
//! else `~/Documents` if it exists, else `~`), in its `KrizLink` subfolder (created if missing),
//! under a file name made from the document's name. An existing file is never overwritten: the
//! next free name gets " (2)", " (3)", ... (taken with `O_EXCL`, so two saves at once never
//! share a file). The file is synced to disk before its path is answered.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The subfolder of the documents folder that KrizLink saves into.
pub const FOLDER: &str = "KrizLink";
/// The most bytes of a file name's stem (a file name has at most 255 bytes on Linux).
pub const MAX_STEM_BYTES: usize = 180;
/// The most " (N)" suffixes tried before giving up.
const MAX_COPIES: u32 = 9_999;

/// The documents folder, from the environment `var` (`std::env::var_os` in the app); None when
/// neither `XDG_DOCUMENTS_DIR` nor `HOME` names a directory.
pub fn documents_dir(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(dir) = var("XDG_DOCUMENTS_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
    {
        return Some(dir);
    }
    let home = var("HOME").map(PathBuf::from).filter(|h| h.is_absolute())?;
    let documents = home.join("Documents");
    Some(if documents.is_dir() { documents } else { home })
}

/// A file name's stem made from a document's name: Czech letters stay; path separators,
/// characters other systems refuse in names (`:*?"<>|`) and control characters become "-";
/// runs of spaces become one; no leading dot; at most [`MAX_STEM_BYTES`]; "dokument" if
/// nothing is left.
pub fn file_stem(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let mut stem = mapped.split_whitespace().collect::<Vec<_>>().join(" ");
    if stem.len() > MAX_STEM_BYTES {
        let mut end = MAX_STEM_BYTES;
        while !stem.is_char_boundary(end) {
            end -= 1;
        }
        stem.truncate(end);
    }
    let stem = stem.trim_start_matches(['.', ' ']).trim_end().to_owned();
    if stem.is_empty() {
        "dokument".to_owned()
    } else {
        stem
    }
}

/// Writes `bytes` as `stem.extension` in `documents/KrizLink` (created if missing), or as
/// `stem (2).extension`, ... when that name is taken; answers the file's full path once the
/// file is on disk.
pub fn save(documents: &Path, stem: &str, extension: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let folder = documents.join(FOLDER);
    std::fs::create_dir_all(&folder)?;
    let stem = file_stem(stem);
    for n in 1..=MAX_COPIES {
        let name = if n == 1 {
            format!("{stem}.{extension}")
        } else {
            format!("{stem} ({n}).{extension}")
        };
        let path = folder.join(name);
        let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        return Ok(path);
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "every file name for this document is taken",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("krizlink-documents-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_documents_folder_is_xdg_then_documents_then_home() {
        let home = temp("home");
        let env = |xdg: Option<&str>| {
            let home = home.clone();
            let xdg = xdg.map(OsString::from);
            move |k: &str| match k {
                "XDG_DOCUMENTS_DIR" => xdg.clone(),
                "HOME" => Some(home.clone().into_os_string()),
                _ => None,
            }
        };
        assert_eq!(
            documents_dir(env(Some("/srv/dokumenty"))).unwrap(),
            PathBuf::from("/srv/dokumenty")
        );
        assert_eq!(documents_dir(env(Some("relativni"))).unwrap(), home);
        assert_eq!(documents_dir(env(None)).unwrap(), home);
        std::fs::create_dir(home.join("Documents")).unwrap();
        assert_eq!(documents_dir(env(None)).unwrap(), home.join("Documents"));
        assert_eq!(documents_dir(|_| None), None);
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn a_file_name_keeps_czech_letters_and_never_a_slash() {
        assert_eq!(
            file_stem("Vyhodnocení cvičení: Povodeň Zlínsko 2026"),
            "Vyhodnocení cvičení- Povodeň Zlínsko 2026"
        );
        assert_eq!(file_stem("../../etc/passwd"), "-..-etc-passwd");
        assert_eq!(file_stem("ORP Vsetín\n\tč. 3"), "ORP Vsetín č. 3");
        assert_eq!(file_stem("  ..  "), "dokument");
        let long = file_stem(&"ž".repeat(500));
        assert!(long.len() <= MAX_STEM_BYTES && long.chars().all(|c| c == 'ž'));
    }

    #[test]
    fn saving_never_overwrites() {
        let docs = temp("save");
        let a = save(&docs, "Situační zpráva č. 3", "pdf", b"one").unwrap();
        let b = save(&docs, "Situační zpráva č. 3", "pdf", b"two").unwrap();
        let c = save(&docs, "Situační zpráva č. 3", "pdf", b"three").unwrap();
        assert_eq!(a, docs.join("KrizLink/Situační zpráva č. 3.pdf"));
        assert_eq!(b, docs.join("KrizLink/Situační zpráva č. 3 (2).pdf"));
        assert_eq!(c, docs.join("KrizLink/Situační zpráva č. 3 (3).pdf"));
        assert_eq!(std::fs::read(&a).unwrap(), b"one");
        assert_eq!(std::fs::read(&c).unwrap(), b"three");
        let _ = std::fs::remove_dir_all(&docs);
    }
}
