//! What the unit tests share: a sink they can read back, and a superframe.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use router::gso::Offload;
use router::wire::virtio_net::{GsoType, GsoTypeField, VirtioNetRepr};

/// A sink whose bytes a test reads after the capture finished.
#[derive(Clone, Default)]
pub struct Bytes(pub Arc<Mutex<Vec<u8>>>);

impl Write for Bytes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A TCP/IPv6 superframe `src` -> `dst` (fd..fd addresses) of three
/// 1000-octet segments, as a kernel with TSO hands it over.
pub fn tcp_superframe(dst: [u8; 6], src: [u8; 6]) -> (Vec<u8>, Offload) {
    let payload = 3000u16;
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&(20 + payload).to_be_bytes());
    f.extend_from_slice(&[6, 64]);
    f.extend_from_slice(&[0xfd; 16]);
    f.extend_from_slice(&[0xfe; 16]);
    f.extend_from_slice(&[0x04, 0x00, 0x08, 0x00, 0, 0, 0, 1, 0, 0, 0, 0]);
    f.extend_from_slice(&[0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend(std::iter::repeat_n(0x5a, usize::from(payload)));
    let vnet = VirtioNetRepr {
        needs_csum: true,
        csum_start: 54,
        csum_offset: 16,
        gso_size: 1000,
        gso_type: GsoTypeField {
            kind: GsoType::TcpV6,
            ecn: false,
        },
        ..VirtioNetRepr::default()
    };
    let offload = Offload::from_vnet(&vnet, &f).unwrap();
    assert!(offload.gso.is_some());
    (f, offload)
}
