//! What a router binary needs to talk RADIUS: its configuration from the
//! command line's servers and secret file, and its UDP socket, bound in the
//! network namespace the servers are reached from.

use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{AaaConfig, RadiusConfig, RadiusServer};
use crate::netio::{NetnsError, within};
use crate::private_file::{PrivateFileError, read_private};

/// RFC 2865 3 puts no bound on a shared secret; 128 octets is a generous one.
const MAX_SECRET: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum AaaSetupError {
    #[error("--aaa {0:?}: expected file or radius,server=ADDR:PORT,secret_file=PATH[,netns=PATH]")]
    Syntax(String),
    #[error("--aaa: {key}={value:?}: {reason}")]
    Value {
        key: String,
        value: String,
        reason: String,
    },
    #[error("--aaa file takes no options, got {0:?}")]
    FileOptions(String),
    #[error("--aaa radius needs secret_file=PATH")]
    NoSecretFile,
    #[error("--aaa radius needs server=ADDR:PORT (at least one)")]
    NoServer,
    #[error(
        "--aaa radius: servers {first} and {other} are of different address families; one socket reaches them all"
    )]
    MixedFamilies {
        first: SocketAddr,
        other: SocketAddr,
    },
    #[error("--aaa radius secret_file: {0}")]
    Secret(#[from] PrivateFileError),
    #[error("--aaa radius secret_file {file}: empty (RFC 2865 3 forbids an empty shared secret)")]
    EmptySecret { file: String },
    #[error("RADIUS socket in {netns}: {source}")]
    Netns { netns: String, source: NetnsError },
    #[error("RADIUS socket {bind}: {source}")]
    Bind {
        bind: SocketAddr,
        source: std::io::Error,
    },
}

/// The RADIUS configuration of the router `nas` (NAS-Identifier) at
/// `nas_address`: `servers` in order of preference, all sharing the secret in
/// `secret_file` (its trailing newline, if any, is not part of it).
fn radius_config(
    nas: &str,
    nas_address: Option<Ipv6Addr>,
    servers: &[SocketAddr],
    secret_file: &Path,
) -> Result<RadiusConfig, AaaSetupError> {
    let Some(&first) = servers.first() else {
        return Err(AaaSetupError::NoServer);
    };
    if let Some(&other) = servers.iter().find(|s| s.is_ipv4() != first.is_ipv4()) {
        return Err(AaaSetupError::MixedFamilies { first, other });
    }
    let mut secret = read_private(secret_file, MAX_SECRET)?;
    while secret.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        secret.pop();
    }
    if secret.is_empty() {
        return Err(AaaSetupError::EmptySecret {
            file: secret_file.display().to_string(),
        });
    }
    let servers = servers
        .iter()
        .map(|&address| RadiusServer {
            address,
            secret: secret.clone(),
        })
        .collect();
    let mut cfg = RadiusConfig::new(nas, servers);
    cfg.nas_ipv6_address = nas_address;
    Ok(cfg)
}

/// A UDP socket on an ephemeral port of the family of `cfg`'s servers, bound
/// inside the network namespace file `netns` when one is given: the servers
/// may live where the router's TAPs do not.
fn radius_socket(cfg: &RadiusConfig, netns: Option<&Path>) -> Result<UdpSocket, AaaSetupError> {
    let v4 = cfg.servers.first().is_none_or(|s| s.address.is_ipv4());
    let bind: SocketAddr = if v4 {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    };
    let open = || UdpSocket::bind(bind).map_err(|source| AaaSetupError::Bind { bind, source });
    match netns {
        None => open(),
        Some(path) => within(path, open).map_err(|source| AaaSetupError::Netns {
            netns: path.display().to_string(),
            source,
        })?,
    }
}

/// Which kind of policy store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreKind {
    #[default]
    File,
    Radius,
}

/// Every router binary's `--aaa` option: `file` (the default), or
/// `radius,server=ADDR:PORT[,server=..],secret_file=PATH[,netns=PATH]`:
/// the servers in order of preference, the file with the shared secret, and
/// the network namespace file the servers are reached from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AaaOptions {
    pub kind: StoreKind,
    pub servers: Vec<SocketAddr>,
    pub secret_file: Option<PathBuf>,
    /// The network namespace file the servers are reached from.
    pub netns: Option<PathBuf>,
}

impl AaaOptions {
    /// The store configuration, and for RADIUS the socket the loop carries
    /// its datagrams on.
    pub fn open(
        &self,
        nas: &str,
        nas_address: Option<Ipv6Addr>,
    ) -> Result<(AaaConfig, Option<UdpSocket>), AaaSetupError> {
        match self.kind {
            StoreKind::File => Ok((AaaConfig::File, None)),
            StoreKind::Radius => {
                let secret_file = self
                    .secret_file
                    .as_deref()
                    .ok_or(AaaSetupError::NoSecretFile)?;
                let cfg = radius_config(nas, nas_address, &self.servers, secret_file)?;
                let socket = radius_socket(&cfg, self.netns.as_deref())?;
                Ok((AaaConfig::Radius(cfg), Some(socket)))
            }
        }
    }
}

impl FromStr for AaaOptions {
    type Err = AaaSetupError;
    fn from_str(s: &str) -> Result<AaaOptions, AaaSetupError> {
        let mut parts = s.split(',');
        match parts.next() {
            Some("file") => {
                return match parts.next() {
                    None => Ok(AaaOptions::default()),
                    Some(extra) => Err(AaaSetupError::FileOptions(extra.to_string())),
                };
            }
            Some("radius") => {}
            _ => return Err(AaaSetupError::Syntax(s.to_string())),
        }
        let mut options = AaaOptions {
            kind: StoreKind::Radius,
            ..AaaOptions::default()
        };
        for part in parts {
            let Some((key, value)) = part.split_once('=') else {
                return Err(AaaSetupError::Syntax(s.to_string()));
            };
            let bad = |reason: &str| AaaSetupError::Value {
                key: key.to_string(),
                value: value.to_string(),
                reason: reason.to_string(),
            };
            match key {
                "server" => options.servers.push(
                    value
                        .parse()
                        .map_err(|_| bad("not ADDR:PORT, e.g. 127.0.0.1:1812 or [::1]:1812"))?,
                ),
                "secret_file" => options.secret_file = Some(PathBuf::from(value)),
                "netns" => options.netns = Some(PathBuf::from(value)),
                _ => return Err(bad("unknown key (server, secret_file, netns)")),
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_refuse_with_the_reason() {
        assert_eq!("file".parse::<AaaOptions>().unwrap(), AaaOptions::default());
        let o: AaaOptions = "radius,server=127.0.0.1:1812,server=127.0.0.2:1812,secret_file=/k,netns=/run/netns/aaa"
            .parse()
            .unwrap();
        assert_eq!(o.kind, StoreKind::Radius);
        assert_eq!(o.servers.len(), 2);
        assert_eq!(o.secret_file.as_deref(), Some(Path::new("/k")));
        assert_eq!(o.netns.as_deref(), Some(Path::new("/run/netns/aaa")));
        for (text, says) in [
            ("ldap", "expected file or radius"),
            ("file,server=1.2.3.4:1", "takes no options"),
            ("radius,server=1.2.3.4", "not ADDR:PORT"),
            ("radius,colour=red", "unknown key"),
        ] {
            let e = text.parse::<AaaOptions>().unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        let e = "radius,secret_file=/k"
            .parse::<AaaOptions>()
            .unwrap()
            .open("lma", None)
            .unwrap_err();
        assert!(e.to_string().contains("server=ADDR:PORT"), "{e}");
    }
}
