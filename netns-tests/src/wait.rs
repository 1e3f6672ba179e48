//! Polling for a condition in another process's world (an address appearing, a
//! server listening), with a deadline so a test fails with a reason, never hangs.

use std::time::{Duration, Instant};

use crate::LabError;

/// Calls `probe` every 100 ms until it returns `Some`, or `None` after `timeout`.
pub fn until<T>(
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Option<T>, LabError>,
) -> Result<Option<T>, LabError> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(found) = probe()? {
            return Ok(Some(found));
        }
        if Instant::now() >= end {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
