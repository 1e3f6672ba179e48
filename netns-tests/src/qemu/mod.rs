//! Real QEMU guests in the lab: the guest image ([`image`], built from Debian
//! packages), QEMU's command lines and the KVM-or-TCG choice ([`machine`]), the
//! QMP client ([`qmp`]) and the guest's command channel ([`shell`]). The domain
//! runs them in `crate::domain::qemu_vm`.

pub mod image;
pub mod machine;
pub mod qmp;
pub mod shell;
