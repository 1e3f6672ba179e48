//! Test payloads that are cheap to make, reproducible, and tell where a copy went wrong.

use std::path::Path;

/// `len` pseudo-random bytes from a fixed seed: incompressible enough that no
/// layer can shortcut it, identical on every run.
pub fn make(len: usize) -> Vec<u8> {
    let mut rng = router::rng::SplitMix64::new(0x007a_706d_6970);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Compares a received file with what was sent, describing the first difference.
pub fn compare(sent: &[u8], received: &Path) -> Result<(), String> {
    let got =
        std::fs::read(received).map_err(|e| format!("reading {}: {e}", received.display()))?;
    if let Some(at) = sent.iter().zip(&got).position(|(a, b)| a != b) {
        return Err(format!("received data differs from sent data at byte {at}"));
    }
    if got.len() != sent.len() {
        return Err(format!(
            "received {} bytes of {} sent",
            got.len(),
            sent.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_reproducible_and_varied() {
        let a = make(1000);
        assert_eq!(a.len(), 1000);
        assert_eq!(a, make(1000));
        assert!(a.iter().filter(|&&b| b == 0).count() < 50);
    }

    #[test]
    fn compare_reports_the_difference() {
        let dir = std::env::temp_dir().join(format!("tapmip-payload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("got");
        let sent = make(100);
        std::fs::write(&file, &sent).unwrap();
        assert_eq!(compare(&sent, &file), Ok(()));
        std::fs::write(&file, &sent[..60]).unwrap();
        assert_eq!(
            compare(&sent, &file),
            Err("received 60 bytes of 100 sent".into())
        );
        let mut bad = sent.clone();
        bad[7] ^= 1;
        std::fs::write(&file, &bad).unwrap();
        assert!(compare(&sent, &file).unwrap_err().contains("byte 7"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
