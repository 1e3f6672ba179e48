//! The virtio-net packet header (`struct virtio_net_hdr`, Virtual I/O Device
//! specification 1.2 section 5.1.6 "Device Operation", as in Linux's
//! `include/uapi/linux/virtio_net.h`): the 10 octets a TAP device opened with
//! `IFF_VNET_HDR` puts before every frame it hands over and expects before every
//! frame written to it. It says whether the checksum still has to be completed
//! and whether the frame is a superframe (GSO) to be cut into segments.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Flags     |   GSO Type    |       Header Length (LE)      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        GSO Size (LE)          |      Checksum Start (LE)      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Checksum Offset (LE)      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Multi-octet fields are little-endian (virtio 1.x; the TAP is switched to that
//! order with `TUNSETVNETLE`). Flags: `NEEDS_CSUM` (the L4 checksum is partial:
//! it holds the pseudo-header sum, and the one's complement sum from Checksum
//! Start to the end of the frame goes at Checksum Start + Checksum Offset),
//! `DATA_VALID` (the sender already verified the checksum). GSO Type: NONE,
//! TCPV4, UDP (the obsolete UFO), TCPV6, UDP_L4 (USO), with the ECN bit (the
//! superframe carries CWR). GSO Size is the payload of each segment; Header
//! Length the headers repeated in each, a hint that senders fill loosely.

use super::array;

mod field {
    pub type Field = core::ops::Range<usize>;

    pub const FLAGS: usize = 0;
    pub const GSO_TYPE: usize = 1;
    pub const HDR_LEN: Field = 2..4;
    pub const GSO_SIZE: Field = 4..6;
    pub const CSUM_START: Field = 6..8;
    pub const CSUM_OFFSET: Field = 8..10;
}

/// Octets of the header (`sizeof(struct virtio_net_hdr)`, what `TUNSETVNETHDRSZ`
/// defaults to).
pub const HEADER_LEN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`.
pub const FLAG_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`.
pub const FLAG_DATA_VALID: u8 = 2;
/// `VIRTIO_NET_HDR_GSO_ECN`, or-ed into the GSO type.
pub const GSO_ECN: u8 = 0x80;

/// The GSO type without its ECN bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GsoType {
    /// `VIRTIO_NET_HDR_GSO_NONE`: an ordinary frame.
    None,
    /// `VIRTIO_NET_HDR_GSO_TCPV4`.
    TcpV4,
    /// `VIRTIO_NET_HDR_GSO_UDP`: IP fragmentation offload, which Linux dropped.
    Udp,
    /// `VIRTIO_NET_HDR_GSO_TCPV6`.
    TcpV6,
    /// `VIRTIO_NET_HDR_GSO_UDP_L4`: UDP segmentation, one datagram per segment.
    UdpL4,
    Unknown(u8),
}

impl From<u8> for GsoType {
    fn from(value: u8) -> Self {
        match value {
            0 => GsoType::None,
            1 => GsoType::TcpV4,
            3 => GsoType::Udp,
            4 => GsoType::TcpV6,
            5 => GsoType::UdpL4,
            other => GsoType::Unknown(other),
        }
    }
}

impl From<GsoType> for u8 {
    fn from(value: GsoType) -> u8 {
        match value {
            GsoType::None => 0,
            GsoType::TcpV4 => 1,
            GsoType::Udp => 3,
            GsoType::TcpV6 => 4,
            GsoType::UdpL4 => 5,
            GsoType::Unknown(other) => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VirtioNetError {
    #[error("virtio_net_hdr: {0} octets, shorter than the {HEADER_LEN}-octet header")]
    Truncated(usize),
}

/// A zero-copy view of a `virtio_net_hdr` at the start of `T`.
#[derive(Debug, Clone)]
pub struct VirtioNetHdr<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VirtioNetHdr<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        VirtioNetHdr { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, VirtioNetError> {
        let hdr = Self::new_unchecked(buffer);
        hdr.check_len()?;
        Ok(hdr)
    }

    pub fn check_len(&self) -> Result<(), VirtioNetError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(VirtioNetError::Truncated(len));
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, range: field::Field) -> u16 {
        u16::from_le_bytes(array(&self.buffer.as_ref()[range]))
    }

    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The whole GSO type octet, ECN bit included.
    pub fn gso_type_raw(&self) -> u8 {
        self.buffer.as_ref()[field::GSO_TYPE]
    }

    pub fn hdr_len(&self) -> u16 {
        self.u16_at(field::HDR_LEN)
    }

    pub fn gso_size(&self) -> u16 {
        self.u16_at(field::GSO_SIZE)
    }

    pub fn csum_start(&self) -> u16 {
        self.u16_at(field::CSUM_START)
    }

    pub fn csum_offset(&self) -> u16 {
        self.u16_at(field::CSUM_OFFSET)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VirtioNetHdr<T> {
    fn set_u16_at(&mut self, range: field::Field, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_le_bytes());
    }

    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value;
    }

    pub fn set_gso_type_raw(&mut self, value: u8) {
        self.buffer.as_mut()[field::GSO_TYPE] = value;
    }

    pub fn set_hdr_len(&mut self, value: u16) {
        self.set_u16_at(field::HDR_LEN, value);
    }

    pub fn set_gso_size(&mut self, value: u16) {
        self.set_u16_at(field::GSO_SIZE, value);
    }

    pub fn set_csum_start(&mut self, value: u16) {
        self.set_u16_at(field::CSUM_START, value);
    }

    pub fn set_csum_offset(&mut self, value: u16) {
        self.set_u16_at(field::CSUM_OFFSET, value);
    }
}

/// A parsed `virtio_net_hdr`, every field as sent: nothing here is validated
/// against the frame it describes (see [`crate::gso::Offload::from_vnet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VirtioNetRepr {
    pub needs_csum: bool,
    pub data_valid: bool,
    /// Flag bits this crate does not know (e.g. `RSC_INFO`), kept for logs.
    pub other_flags: u8,
    pub gso_type: GsoTypeField,
    pub hdr_len: u16,
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

/// The GSO type octet split into its type and the ECN bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsoTypeField {
    pub kind: GsoType,
    pub ecn: bool,
}

impl Default for GsoTypeField {
    fn default() -> Self {
        GsoTypeField {
            kind: GsoType::None,
            ecn: false,
        }
    }
}

impl VirtioNetRepr {
    pub fn parse<T: AsRef<[u8]>>(hdr: &VirtioNetHdr<T>) -> Result<Self, VirtioNetError> {
        hdr.check_len()?;
        let flags = hdr.flags();
        let gso = hdr.gso_type_raw();
        Ok(VirtioNetRepr {
            needs_csum: flags & FLAG_NEEDS_CSUM != 0,
            data_valid: flags & FLAG_DATA_VALID != 0,
            other_flags: flags & !(FLAG_NEEDS_CSUM | FLAG_DATA_VALID),
            gso_type: GsoTypeField {
                kind: GsoType::from(gso & !GSO_ECN),
                ecn: gso & GSO_ECN != 0,
            },
            hdr_len: hdr.hdr_len(),
            gso_size: hdr.gso_size(),
            csum_start: hdr.csum_start(),
            csum_offset: hdr.csum_offset(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header; `hdr` must hold [`HEADER_LEN`] octets.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, hdr: &mut VirtioNetHdr<T>) {
        let mut flags = self.other_flags;
        if self.needs_csum {
            flags |= FLAG_NEEDS_CSUM;
        }
        if self.data_valid {
            flags |= FLAG_DATA_VALID;
        }
        hdr.set_flags(flags);
        let ecn = if self.gso_type.ecn { GSO_ECN } else { 0 };
        hdr.set_gso_type_raw(u8::from(self.gso_type.kind) | ecn);
        hdr.set_hdr_len(self.hdr_len);
        hdr.set_gso_size(self.gso_size);
        hdr.set_csum_start(self.csum_start);
        hdr.set_csum_offset(self.csum_offset);
    }

    /// The header as the octets that precede a frame.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0; HEADER_LEN];
        self.emit(&mut VirtioNetHdr::new_unchecked(&mut bytes[..]));
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Linux's tun hands over for a 64 KB TCP/IPv6 superframe: partial
    /// checksum from offset 54 (Ethernet 14 + IPv6 40) at +16, 1428-octet segments
    /// (MTU 1500 - 40 - 32 of TCP with timestamps), 86 octets of headers.
    const TCPV6_SUPERFRAME: [u8; 10] = [0x01, 0x04, 0x56, 0x00, 0x94, 0x05, 0x36, 0x00, 0x10, 0x00];

    #[test]
    fn parses_a_kernel_tcpv6_header() {
        let hdr = VirtioNetHdr::new_checked(&TCPV6_SUPERFRAME[..]).unwrap();
        let repr = VirtioNetRepr::parse(&hdr).unwrap();
        assert_eq!(
            repr,
            VirtioNetRepr {
                needs_csum: true,
                data_valid: false,
                other_flags: 0,
                gso_type: GsoTypeField {
                    kind: GsoType::TcpV6,
                    ecn: false
                },
                hdr_len: 86,
                gso_size: 1428,
                csum_start: 54,
                csum_offset: 16,
            }
        );
        assert_eq!(repr.to_bytes(), TCPV6_SUPERFRAME);
    }

    #[test]
    fn ecn_bit_and_unknown_values_round_trip() {
        let bytes = [0x06, 0x81, 0, 0, 0, 0, 0, 0, 0, 0];
        let repr = VirtioNetRepr::parse(&VirtioNetHdr::new_unchecked(&bytes[..])).unwrap();
        assert!(repr.data_valid && !repr.needs_csum);
        assert_eq!(repr.other_flags, 0x04);
        assert_eq!(repr.gso_type.kind, GsoType::TcpV4);
        assert!(repr.gso_type.ecn);
        assert_eq!(repr.to_bytes(), bytes);

        let odd = [0, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0];
        let repr = VirtioNetRepr::parse(&VirtioNetHdr::new_unchecked(&odd[..])).unwrap();
        assert_eq!(repr.gso_type.kind, GsoType::Unknown(0x7f));
        assert_eq!(repr.to_bytes(), odd);
        for value in 0..=u8::MAX {
            assert_eq!(u8::from(GsoType::from(value)), value);
        }
    }

    #[test]
    fn an_all_zero_header_is_an_ordinary_frame() {
        let repr = VirtioNetRepr::parse(&VirtioNetHdr::new_unchecked(&[0u8; 10][..])).unwrap();
        assert_eq!(repr, VirtioNetRepr::default());
        assert_eq!(repr.to_bytes(), [0; 10]);
    }

    #[test]
    fn a_short_buffer_is_refused() {
        for len in 0..HEADER_LEN {
            let bytes = vec![0xff; len];
            assert_eq!(
                VirtioNetHdr::new_checked(&bytes[..]).unwrap_err(),
                VirtioNetError::Truncated(len)
            );
            assert!(VirtioNetRepr::parse(&VirtioNetHdr::new_unchecked(&bytes[..])).is_err());
        }
    }

    #[test]
    fn setters_write_little_endian() {
        let mut bytes = [0u8; 12];
        let mut hdr = VirtioNetHdr::new_unchecked(&mut bytes[..]);
        hdr.set_gso_size(0x1234);
        hdr.set_csum_start(0x0036);
        assert_eq!(hdr.gso_size(), 0x1234);
        assert_eq!(&bytes[4..8], &[0x34, 0x12, 0x36, 0x00]);
    }
}
