//! The QR code CreateVirtualMFADevice returns: the `otpauth://` URI AWS documents, as a PNG.
//! The QR matrix comes from `qrcodegen` (no dependencies); the PNG is written here (1-bit
//! grayscale, zlib with stored blocks: an image of a few kilobytes needs no compressor, and
//! the `png` crate would bring four crates of deflate for it).

use qrcodegen::{QrCode, QrCodeEcc};

/// Pixels per module, and modules of white border (the QR specification's quiet zone).
const SCALE: usize = 6;
const BORDER: usize = 4;

/// The URI an authenticator app reads: `otpauth://totp/NAME@ACCOUNT?secret=SEED`, as AWS
/// documents it (the account id stands for the account's name when the device has no user).
pub(crate) fn otpauth_uri(device_name: &str, account: &str, base32_seed: &str) -> String {
    let label: String = format!("{device_name}@{account}")
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'@' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect();
    format!("otpauth://totp/{label}?secret={base32_seed}")
}

/// The PNG of the QR code of `text`, or `None` when the text cannot fit a QR code.
pub(crate) fn png(text: &str) -> Option<Vec<u8>> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let modules = usize::try_from(qr.size()).ok()?;
    let side = (modules + 2 * BORDER) * SCALE;
    let row_bytes = side.div_ceil(8);
    let mut raw = Vec::with_capacity((row_bytes + 1) * side);
    for y in 0..side {
        raw.push(0); // filter: none
        let mut row = vec![0xffu8; row_bytes];
        for x in 0..side {
            let (mx, my) = ((x / SCALE).checked_sub(BORDER), (y / SCALE).checked_sub(BORDER));
            let dark = match (mx, my) {
                (Some(mx), Some(my)) if mx < modules && my < modules => {
                    qr.get_module(i32::try_from(mx).ok()?, i32::try_from(my).ok()?)
                }
                _ => false,
            };
            if let Some(byte) = row.get_mut(x / 8).filter(|_| dark) {
                *byte &= !(0x80 >> (x % 8));
            }
        }
        raw.extend_from_slice(&row);
    }
    let side = u32::try_from(side).ok()?;
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&[1, 0, 0, 0, 0]); // 1 bit, grayscale, deflate, filter 0, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    Some(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of `data` in stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(0xffff).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = blocks.peek().is_none();
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn the_uri_is_awss_and_the_png_is_well_formed() {
        let uri = otpauth_uri("my phone", "123456789012", "JBSWY3DPEHPK3PXP");
        assert_eq!(uri, "otpauth://totp/my%20phone@123456789012?secret=JBSWY3DPEHPK3PXP");
        let image = png(&uri).unwrap();
        assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&image[12..16], b"IHDR");
        let side = u32::from_be_bytes(image[16..20].try_into().unwrap());
        assert_eq!(side % u32::try_from(SCALE).unwrap(), 0);
        assert!(image.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]));
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }
}
