//! Which policy store a router asks, as its configuration names it.

use super::{FileStore, PolicyStore, RadiusConfig, RadiusConfigError, RadiusStore};
use crate::policy::Policy;

/// The policy store a router asks.
#[derive(Debug, Clone, Default)]
pub enum AaaConfig {
    /// The policy file: nodes, their prefixes and MAGs.
    #[default]
    File,
    /// A RADIUS server (and fallbacks); the policy file still names the MAGs,
    /// and for a MAG the nodes' MN-IDs by MAC.
    Radius(RadiusConfig),
}

impl AaaConfig {
    /// The store for the router called `name` whose policy file is `policy`.
    pub fn open(
        &self,
        policy: &Policy,
        name: &str,
    ) -> Result<Box<dyn PolicyStore>, RadiusConfigError> {
        Ok(match self {
            AaaConfig::File => Box::new(FileStore::new(policy.clone(), name)),
            AaaConfig::Radius(radius) => Box::new(RadiusStore::new(radius.clone())?),
        })
    }
}

impl std::fmt::Display for AaaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AaaConfig::File => f.write_str("the policy file"),
            AaaConfig::Radius(cfg) => {
                let servers: Vec<String> =
                    cfg.servers.iter().map(|s| s.address.to_string()).collect();
                write!(
                    f,
                    "RADIUS at {} (in that order; NAS-Identifier {})",
                    servers.join(", "),
                    cfg.nas_identifier
                )
            }
        }
    }
}
