//! How a batch of log events is kept in one row of `log_batches`: the events' timestamps and
//! messages encoded together, and how an event's `seq` names its batch and its place in it.
//!
//! The encoding: the first event's timestamp (8 bytes, little-endian), then per event the
//! time since the previous event (the first's is 0) and the message's length in bytes, both
//! as LEB128 varints, then the message's UTF-8 bytes. Events are in timestamp order (a batch
//! is sorted before it is encoded), so every delta is non-negative; 100 events of 100 bytes
//! take 10,208 bytes.
//!
//! Guarantees: [`decode`] yields exactly what [`encode`] was given, in order, and refuses
//! (rather than misreads) bytes that are not such an encoding; an event's `seq`
//! ([`event_seq`]) grows with its batch's `seq` and then with its place in the batch, so
//! ordering by `seq` is ordering by arrival.

/// How many events one batch holds at most: an event's `seq` is its batch's `seq` times this
/// plus its index. PutLogEvents takes at most 10,000 events.
pub const SLOTS: i64 = 1 << 14;

/// The `seq` of the event at `index` of batch `batch`.
pub fn event_seq(batch: i64, index: usize) -> i64 {
    batch.saturating_mul(SLOTS).saturating_add(i64::try_from(index).unwrap_or(SLOTS - 1))
}

/// The batch and the index an event's `seq` names.
pub fn locate(seq: i64) -> (i64, usize) {
    (seq.div_euclid(SLOTS), usize::try_from(seq.rem_euclid(SLOTS)).unwrap_or(0))
}

/// Encodes `events` (`(timestamp, message)`, in timestamp order).
pub fn encode(events: &[(i64, &str)]) -> Vec<u8> {
    let size: usize = events.iter().map(|(_, message)| message.len() + 4).sum();
    let mut out = Vec::with_capacity(8 + size);
    let first = events.first().map_or(0, |(timestamp, _)| *timestamp);
    out.extend_from_slice(&first.to_le_bytes());
    let mut previous = first;
    for (timestamp, message) in events {
        put_varint(&mut out, timestamp.wrapping_sub(previous) as u64);
        put_varint(&mut out, message.len() as u64);
        out.extend_from_slice(message.as_bytes());
        previous = *timestamp;
    }
    out
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bytes that are not a batch's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// One event of a batch, its message still in the batch's bytes (`start..end`), so an event a
/// read does not want costs no copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub index: usize,
    pub timestamp: i64,
    pub start: usize,
    pub end: usize,
}

/// The events of an encoded batch, in order; an error ends the iteration.
pub fn decode(bytes: &[u8]) -> Decoder<'_> {
    let first = bytes.get(..8).and_then(|head| <[u8; 8]>::try_from(head).ok()).map(i64::from_le_bytes);
    Decoder { bytes, at: 8, index: 0, previous: first.unwrap_or(0), failed: first.is_none() }
}

/// The iterator of [`decode`].
pub struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
    index: usize,
    previous: i64,
    failed: bool,
}

impl Decoder<'_> {
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }

    fn next_slot(&mut self) -> Option<Slot> {
        let delta = self.varint()?;
        let length = usize::try_from(self.varint()?).ok()?;
        let start = self.at;
        let end = start.checked_add(length).filter(|end| *end <= self.bytes.len())?;
        let timestamp = self.previous.wrapping_add(delta as i64);
        self.at = end;
        self.previous = timestamp;
        let slot = Slot { index: self.index, timestamp, start, end };
        self.index += 1;
        Some(slot)
    }
}

impl Iterator for Decoder<'_> {
    type Item = Result<Slot, Corrupt>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            self.failed = false;
            self.at = self.bytes.len();
            return Some(Err(Corrupt));
        }
        if self.at >= self.bytes.len() {
            return None;
        }
        match self.next_slot() {
            Some(slot) => Some(Ok(slot)),
            None => {
                self.at = self.bytes.len();
                Some(Err(Corrupt))
            }
        }
    }
}

/// A slot's message.
pub fn message(bytes: &[u8], slot: Slot) -> Result<&str, Corrupt> {
    bytes.get(slot.start..slot.end).and_then(|text| std::str::from_utf8(text).ok()).ok_or(Corrupt)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail loudly")]

    use super::*;

    fn round_trip(events: &[(i64, &str)]) -> Vec<(i64, String)> {
        let bytes = encode(events);
        decode(&bytes)
            .map(|slot| {
                let slot = slot.unwrap();
                (slot.timestamp, message(&bytes, slot).unwrap().to_owned())
            })
            .collect()
    }

    #[test]
    fn a_batch_decodes_to_what_was_encoded() {
        let long = "é".repeat(200);
        let events =
            [(-5, "before the epoch"), (-5, "same time"), (1_700_000_000_000, long.as_str()), (i64::MAX, "end")];
        let expected: Vec<(i64, String)> = events.iter().map(|(t, m)| (*t, (*m).to_owned())).collect();
        assert_eq!(round_trip(&events), expected);
        assert_eq!(round_trip(&[]), Vec::<(i64, String)>::new());
        let hundred: Vec<(i64, String)> = (0..100).map(|i| (1_000 + i, "x".repeat(100))).collect();
        let borrowed: Vec<(i64, &str)> = hundred.iter().map(|(t, m)| (*t, m.as_str())).collect();
        assert_eq!(encode(&borrowed).len(), 8 + 100 * 102, "two bytes of framing per short event");
    }

    #[test]
    fn bytes_that_are_no_batch_are_refused_not_misread() {
        let bytes = encode(&[(10, "hello"), (20, "world")]);
        for cut in [0, 3, 9, bytes.len() - 1] {
            let decoded: Vec<_> = decode(&bytes[..cut]).collect();
            assert!(decoded.iter().any(Result::is_err), "cut at {cut}: {decoded:?}");
        }
        let mut wrong = bytes.clone();
        wrong[10] = 0xff; // an invalid UTF-8 byte in the first message
        let slot = decode(&wrong).next().unwrap().unwrap();
        assert_eq!(message(&wrong, slot), Err(Corrupt));
    }

    #[test]
    fn an_events_seq_names_its_batch_and_place() {
        assert_eq!(locate(event_seq(7, 0)), (7, 0));
        assert_eq!(locate(event_seq(7, 9_999)), (7, 9_999));
        assert!(event_seq(7, 9_999) < event_seq(8, 0), "arrival order");
    }
}
