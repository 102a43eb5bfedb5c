//! The `application/vnd.amazon.eventstream` message format, as AWS's streaming responses
//! (CloudWatch Logs' StartLiveTail) carry their events and the SDKs read them: a prelude (total
//! length, headers length, both big-endian `u32`, and the CRC-32 of those 8 bytes), the
//! headers, the payload, and the CRC-32 of everything before it.
//!
//! Only string headers (type 7) are written, the only kind an awsJson event needs
//! (`:message-type`, `:event-type` or `:exception-type`, `:content-type`). [`decode`] reads a
//! message back (tests, and any client written here), checking both checksums; it never
//! panics and reads no further than the lengths the message states.

/// A string header's type tag.
const STRING: u8 = 7;

/// The CRC-32 (IEEE 802.3, reflected, as zlib's) table, computed at compile time (a `const`
/// block cannot use `get_mut`; `n` stays below 256).
#[expect(clippy::indexing_slicing, reason = "a const loop over the table's own bounds")]
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        #[expect(clippy::cast_possible_truncation, reason = "n < 256")]
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// The CRC-32 of `bytes` (zlib's).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        let index = usize::from((crc as u8) ^ byte);
        crc = CRC_TABLE.get(index).copied().unwrap_or(0) ^ (crc >> 8);
    }
    !crc
}

/// One message: its string headers and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl Message {
    /// An event (`:message-type` `event`) of type `event_type` with a JSON payload.
    pub fn event(event_type: &str, payload: Vec<u8>) -> Message {
        Message {
            headers: vec![
                (":message-type".to_owned(), "event".to_owned()),
                (":event-type".to_owned(), event_type.to_owned()),
                (":content-type".to_owned(), "application/json".to_owned()),
            ],
            payload,
        }
    }

    /// A modeled exception of the stream (`:message-type` `exception`) with a JSON payload.
    pub fn exception(exception_type: &str, payload: Vec<u8>) -> Message {
        Message {
            headers: vec![
                (":message-type".to_owned(), "exception".to_owned()),
                (":exception-type".to_owned(), exception_type.to_owned()),
                (":content-type".to_owned(), "application/json".to_owned()),
            ],
            payload,
        }
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The message on the wire. A header name is cut at 255 bytes and a value at 65,535 (the
    /// format's bounds; the names and values written here are short).
    pub fn encode(&self) -> Vec<u8> {
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let name = name.as_bytes().get(..name.len().min(255)).unwrap_or_default();
            let value = value.as_bytes().get(..value.len().min(65_535)).unwrap_or_default();
            headers.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
            headers.extend_from_slice(name);
            headers.push(STRING);
            headers.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
            headers.extend_from_slice(value);
        }
        let total = 12 + headers.len() + self.payload.len() + 4;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&u32::try_from(headers.len()).unwrap_or(u32::MAX).to_be_bytes());
        let prelude_crc = crc32(&out);
        out.extend_from_slice(&prelude_crc.to_be_bytes());
        out.extend_from_slice(&headers);
        out.extend_from_slice(&self.payload);
        let message_crc = crc32(&out);
        out.extend_from_slice(&message_crc.to_be_bytes());
        out
    }
}

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the message says it has: read more.
    Incomplete,
    /// Not a valid message (a checksum or a length is wrong, or a header is not a string).
    Invalid(&'static str),
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let chunk: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(chunk))
}

/// The first message of `bytes` and how many bytes it took.
pub fn decode(bytes: &[u8]) -> Result<(Message, usize), DecodeError> {
    let (Some(total), Some(headers_len), Some(prelude_crc)) = (be_u32(bytes, 0), be_u32(bytes, 4), be_u32(bytes, 8))
    else {
        return Err(DecodeError::Incomplete);
    };
    if crc32(bytes.get(..8).unwrap_or_default()) != prelude_crc {
        return Err(DecodeError::Invalid("prelude checksum"));
    }
    let total = usize::try_from(total).map_err(|_| DecodeError::Invalid("length"))?;
    let headers_len = usize::try_from(headers_len).map_err(|_| DecodeError::Invalid("length"))?;
    if total < 16 + headers_len {
        return Err(DecodeError::Invalid("length"));
    }
    let Some(message) = bytes.get(..total) else { return Err(DecodeError::Incomplete) };
    let body = message.get(..total - 4).unwrap_or_default();
    if be_u32(message, total - 4) != Some(crc32(body)) {
        return Err(DecodeError::Invalid("message checksum"));
    }
    let mut headers = Vec::new();
    let mut rest = body.get(12..12 + headers_len).ok_or(DecodeError::Invalid("length"))?;
    while let Some((&name_len, after)) = rest.split_first() {
        let name_len = usize::from(name_len);
        let name = after.get(..name_len).ok_or(DecodeError::Invalid("header"))?;
        if after.get(name_len) != Some(&STRING) {
            return Err(DecodeError::Invalid("header type"));
        }
        let value_len = after
            .get(name_len + 1..name_len + 3)
            .map(|b| usize::from(u16::from_be_bytes([b.first().copied().unwrap_or(0), b.get(1).copied().unwrap_or(0)])))
            .ok_or(DecodeError::Invalid("header"))?;
        let value = after.get(name_len + 3..name_len + 3 + value_len).ok_or(DecodeError::Invalid("header"))?;
        headers.push((String::from_utf8_lossy(name).into_owned(), String::from_utf8_lossy(value).into_owned()));
        rest = after.get(name_len + 3 + value_len..).unwrap_or_default();
    }
    let payload = body.get(12 + headers_len..).unwrap_or_default().to_vec();
    Ok((Message { headers, payload }, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_message_reads_back_and_a_flipped_byte_is_refused() {
        let message = Message::event("sessionUpdate", br#"{"sessionResults":[]}"#.to_vec());
        let mut wire = message.encode();
        wire.extend_from_slice(b"next");
        let (read, used) = decode(&wire).unwrap();
        assert_eq!(read, message);
        assert_eq!(used, wire.len() - 4);
        assert_eq!(read.header(":event-type"), Some("sessionUpdate"));
        assert_eq!(decode(wire.get(..used - 1).unwrap()), Err(DecodeError::Incomplete));
        let mut flipped = wire.clone();
        flipped[used - 6] ^= 1;
        assert_eq!(decode(&flipped), Err(DecodeError::Invalid("message checksum")));
        flipped = wire;
        flipped[2] ^= 1;
        assert_eq!(decode(&flipped), Err(DecodeError::Invalid("prelude checksum")));
    }

    #[test]
    fn a_known_message_of_awss_documentation_shape() {
        // An empty message is 16 bytes: prelude, its checksum, no headers, no payload, the
        // message checksum.
        let wire = Message { headers: vec![], payload: vec![] }.encode();
        assert_eq!(wire.len(), 16);
        assert_eq!(&wire[..8], &[0, 0, 0, 16, 0, 0, 0, 0]);
        assert_eq!(u32::from_be_bytes(wire[8..12].try_into().unwrap()), 0x05C2_48EB);
    }
}
