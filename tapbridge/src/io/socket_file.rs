//! The file of a unix socket tapbridge binds.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// Removes a socket file a previous run left at `path`, so that binding works;
/// anything else there is left alone and binding fails with "address in use".
pub fn remove_stale(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
