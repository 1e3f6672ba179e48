//! Secrets read from files only their owner may read: keys, RADIUS shared
//! secrets. A file its group or others can read or write is refused, naming
//! the file, its mode and the fix, rather than used.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const GROUP_OR_OTHERS: u32 = 0o077;

#[derive(Debug, thiserror::Error)]
pub enum PrivateFileError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: not a regular file")]
    NotAFile { file: String },
    #[error(
        "{file}: mode {mode:04o} lets its group or other users read or write it; only its owner may (chmod 600 {file})"
    )]
    Exposed { file: String, mode: u32 },
    #[error("{file}: longer than {limit} octets")]
    TooLong { file: String, limit: usize },
}

/// The contents of `path`, at most `limit` octets, if only its owner may read
/// and write it.
pub fn read_private(path: &Path, limit: usize) -> Result<Vec<u8>, PrivateFileError> {
    let file = path.display().to_string();
    let io = |source| PrivateFileError::Io {
        file: file.clone(),
        source,
    };
    // The mode is read from the opened file, so the check and the read are
    // about the same file even if the path is swapped in between.
    let mut f = std::fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(PrivateFileError::NotAFile { file });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & GROUP_OR_OTHERS != 0 {
        return Err(PrivateFileError::Exposed { file, mode });
    }
    let mut bytes = Vec::new();
    Read::by_ref(&mut f)
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > limit {
        return Err(PrivateFileError::TooLong { file, limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

    #[test]
    fn only_an_owner_only_regular_file_is_read() {
        let dir = std::env::temp_dir().join(format!("tapmip-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, mode: u32, content: &[u8]| {
            let path = dir.join(name);
            let _ = std::fs::remove_file(&path);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
                .unwrap();
            std::io::Write::write_all(&mut f, content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        };
        let ok = write("ok", 0o600, b"secret\n");
        assert_eq!(read_private(&ok, 64).unwrap(), b"secret\n");
        assert!(matches!(
            read_private(&ok, 3),
            Err(PrivateFileError::TooLong { limit: 3, .. })
        ));
        for mode in [0o640, 0o604, 0o660, 0o644] {
            let path = write(&format!("{mode:o}"), mode, b"x");
            let err = read_private(&path, 64).unwrap_err();
            assert!(matches!(err, PrivateFileError::Exposed { mode: m, .. } if m == mode));
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        assert!(matches!(
            read_private(&dir, 64),
            Err(PrivateFileError::NotAFile { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
