//! Keys and the files they are read from.
//!
//! A key file holds one secret and nothing else: the configuration that names
//! it gives its SPI and algorithm. The secret is hex text (`encoding = "hex"`,
//! the default: surrounding whitespace and a final newline are ignored, as
//! `openssl rand -hex 32 > mag1.key` writes it) or the file's raw octets
//! (`encoding = "raw"`, e.g. `head -c 32 /dev/urandom > mag1.key`). A file
//! that its group or other users may read or write is refused: a key others
//! can read lets them move every node the MAG serves.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::algorithm::{Algorithm, Keyed};
use crate::private_file::{PrivateFileError, read_private};

/// SPIs below this are reserved, as IPsec reserves them (RFC 4303 2.1).
pub const MIN_SPI: u32 = 256;
/// No key is longer; a bigger file is a wrong path, not a key.
const MAX_KEY_LEN: usize = 1024;
/// A key file's octets at most: the longest key in hex, with room for spaces.
const MAX_KEY_FILE: usize = 4 * MAX_KEY_LEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEncoding {
    Hex,
    Raw,
}

impl KeyEncoding {
    pub fn from_name(name: &str) -> Option<KeyEncoding> {
        match name {
            "hex" => Some(KeyEncoding::Hex),
            "raw" => Some(KeyEncoding::Raw),
            _ => None,
        }
    }
}

/// Where a key comes from, as the configuration says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub spi: u32,
    pub algorithm: Algorithm,
    pub file: PathBuf,
    pub encoding: KeyEncoding,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Unreadable, not a regular file, too long, or open to others (the
    /// message is the whole story, so it is not also a source).
    #[error("key file {0}")]
    File(PrivateFileError),
    #[error("key file {file}: {error}")]
    Write { file: String, error: std::io::Error },
    #[error("key file {file}: {reason}")]
    Encoding { file: String, reason: String },
    #[error(
        "key for SPI {spi}: {len} octets; {algorithm} needs at least {need} (RFC 4868 2.1.1) and at most {MAX_KEY_LEN}"
    )]
    Length {
        spi: u32,
        len: usize,
        need: usize,
        algorithm: Algorithm,
    },
    #[error("SPI {spi}: 0 to 255 are reserved (RFC 4303 2.1); use 256 or above")]
    ReservedSpi { spi: u32 },
    #[error(
        "mag '{mag}' has no key: give its [[mag]] entry a [[mag.key]] (spi, file), or run with --insecure"
    )]
    NoKeys { mag: String },
    #[error("no [[mag]] named '{mag}' in the policy, so no key for it")]
    NotInPolicy { mag: String },
}

/// A key ready to authenticate messages. Its secret never appears in `Debug`.
#[derive(Clone)]
pub struct Key {
    spi: u32,
    algorithm: Algorithm,
    pub(super) keyed: Keyed,
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Key")
            .field("spi", &self.spi)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Key {
    pub fn new(spi: u32, algorithm: Algorithm, secret: &[u8]) -> Result<Key, KeyError> {
        if spi < MIN_SPI {
            return Err(KeyError::ReservedSpi { spi });
        }
        let need = algorithm.min_key_len();
        if !(need..=MAX_KEY_LEN).contains(&secret.len()) {
            return Err(KeyError::Length {
                spi,
                len: secret.len(),
                need,
                algorithm,
            });
        }
        Ok(Key {
            spi,
            algorithm,
            keyed: Keyed::new(algorithm, secret),
        })
    }

    pub fn spi(&self) -> u32 {
        self.spi
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Reads the key `spec` names, refusing a file others may get at.
    pub fn load(spec: &KeySpec) -> Result<Key, KeyError> {
        let secret = read_secret(&spec.file, spec.encoding)?;
        Key::new(spec.spi, spec.algorithm, &secret)
    }
}

/// Writes a fresh random key for `algorithm` to a new file at `path`, hex,
/// readable by its owner only (what the lab gives each MAG).
pub fn write_new_key_file(path: &Path, algorithm: Algorithm) -> Result<(), KeyError> {
    let io = |error| KeyError::Write {
        file: path.display().to_string(),
        error,
    };
    let mut secret = vec![0; algorithm.min_key_len()];
    getrandom::fill(&mut secret).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    writeln!(f, "{hex}").map_err(io)
}

fn read_secret(path: &Path, encoding: KeyEncoding) -> Result<Vec<u8>, KeyError> {
    let bytes = read_private(path, MAX_KEY_FILE).map_err(KeyError::File)?;
    match encoding {
        KeyEncoding::Raw => Ok(bytes),
        KeyEncoding::Hex => decode_hex(&bytes).map_err(|reason| KeyError::Encoding {
            file: path.display().to_string(),
            reason: reason.into(),
        }),
    }
}

fn decode_hex(text: &[u8]) -> Result<Vec<u8>, &'static str> {
    let text = text.trim_ascii();
    if !text.len().is_multiple_of(2) {
        return Err("an odd number of hex digits (encoding = \"hex\")");
    }
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    text.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or("not hex digits; use encoding = \"raw\" for a binary key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, name: &str, mode: u32, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tapmip-key-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn spec(file: PathBuf, encoding: KeyEncoding) -> KeySpec {
        KeySpec {
            spi: 257,
            algorithm: Algorithm::HmacSha256,
            file,
            encoding,
        }
    }

    #[test]
    fn hex_and_raw_files() {
        let d = dir("formats");
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
        let a = write(&d, "a.key", 0o600, hex.as_bytes());
        let b = write(&d, "b.key", 0o400, &[0xab; 32]);
        assert_eq!(
            read_secret(&a, KeyEncoding::Hex).unwrap()[..2],
            [0x00, 0x11]
        );
        assert_eq!(read_secret(&b, KeyEncoding::Raw).unwrap(), vec![0xab; 32]);
        let key = Key::load(&spec(a, KeyEncoding::Hex)).unwrap();
        assert_eq!((key.spi(), key.algorithm()), (257, Algorithm::HmacSha256));
        assert_eq!(
            format!("{key:?}"),
            "Key { spi: 257, algorithm: HmacSha256, .. }"
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn refuses_files_others_may_read_naming_file_and_mode() {
        let d = dir("modes");
        for mode in [0o640, 0o602] {
            let path = write(&d, &format!("{mode:o}.key"), mode, &[1; 32]);
            let err = Key::load(&spec(path.clone(), KeyEncoding::Raw)).unwrap_err();
            assert!(matches!(
                err,
                KeyError::File(PrivateFileError::Exposed { mode: m, .. }) if m == mode
            ));
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(&format!("mode {mode:04o}")), "{text}");
        }
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn refuses_bad_contents_by_name() {
        let d = dir("contents");
        let odd = write(&d, "odd.key", 0o600, b"abc");
        let text = write(&d, "text.key", 0o600, b"not a key at all, really\n");
        let short = write(&d, "short.key", 0o600, &[1; 31]);
        let e = |path: &PathBuf, enc| Key::load(&spec(path.clone(), enc)).unwrap_err();
        assert!(e(&odd, KeyEncoding::Hex).to_string().contains("odd number"));
        assert!(e(&text, KeyEncoding::Hex).to_string().contains("not hex"));
        assert!(
            e(&short, KeyEncoding::Raw)
                .to_string()
                .contains("31 octets; hmac-sha256 needs at least 32")
        );
        let missing = e(&d.join("none.key"), KeyEncoding::Hex).to_string();
        assert!(missing.contains("none.key"), "{missing}");
        assert!(matches!(
            Key::load(&spec(d.clone(), KeyEncoding::Raw)),
            Err(KeyError::File(_))
        ));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn fresh_key_files_are_private_and_load() {
        let d = dir("fresh");
        let path = d.join("new.key");
        write_new_key_file(&path, Algorithm::HmacSha256).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65, "64 hex digits and a newline");
        assert!(Key::load(&spec(path.clone(), KeyEncoding::Hex)).is_ok());
        assert!(
            write_new_key_file(&path, Algorithm::HmacSha256).is_err(),
            "never overwrites"
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn reserved_spis_and_key_lengths() {
        assert!(matches!(
            Key::new(255, Algorithm::HmacSha256, &[0; 32]),
            Err(KeyError::ReservedSpi { spi: 255 })
        ));
        assert!(Key::new(256, Algorithm::HmacSha256, &[0; 32]).is_ok());
        assert!(Key::new(256, Algorithm::HmacSha512, &[0; 32]).is_err());
        assert!(Key::new(256, Algorithm::HmacSha512, &[0; 64]).is_ok());
        assert!(Key::new(256, Algorithm::HmacSha256, &[0; 1025]).is_err());
    }
}
