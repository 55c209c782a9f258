//! The BER-TLV subset smart cards use, ISO/IEC 7816-4 §5.2 ("BER-TLV data objects", after
//! ISO/IEC 8825-1): tags of one to three bytes, definite lengths of one to three bytes (`81 xx`,
//! `82 xx xx`). Enough for the ticket-item AP's files; nothing here allocates while reading.

/// Why bytes are not a BER-TLV object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// The bytes end inside a tag, length or value.
    #[error("BER-TLV truncated at byte {at}")]
    Truncated {
        /// Offset where more bytes were needed.
        at: usize,
    },
    /// A tag longer than three bytes, an indefinite length, or a length form above `82`.
    #[error("BER-TLV form not supported at byte {at}")]
    Unsupported {
        /// Offset of the offending byte.
        at: usize,
    },
}

/// One data object: its tag (the tag bytes as a big-endian number, e.g. `0xFF20`) and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u32,
    pub value: &'a [u8],
}

/// Reads the data objects of `bytes` one after the other.
pub fn objects(bytes: &[u8]) -> impl Iterator<Item = Result<Tlv<'_>, TlvError>> {
    let mut at = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || at >= bytes.len() {
            return None;
        }
        let item = read(bytes, at);
        match item {
            Ok((tlv, next)) => {
                at = next;
                Some(Ok(tlv))
            }
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}

/// Reads the one object of `bytes`; anything after it is an error.
pub fn single(bytes: &[u8]) -> Result<Tlv<'_>, TlvError> {
    let (tlv, next) = read(bytes, 0)?;
    if next != bytes.len() {
        return Err(TlvError::Unsupported { at: next });
    }
    Ok(tlv)
}

fn read(bytes: &[u8], start: usize) -> Result<(Tlv<'_>, usize), TlvError> {
    let (tag, len, value_at) = read_header(bytes, start)?;
    let end = value_at
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or(TlvError::Truncated { at: bytes.len() })?;
    Ok((
        Tlv {
            tag,
            value: &bytes[value_at..end],
        },
        end,
    ))
}

/// The tag, value length and value offset of the object at `start`; only the header must be
/// present.
fn read_header(bytes: &[u8], start: usize) -> Result<(u32, usize, usize), TlvError> {
    let byte = |i: usize| bytes.get(i).copied().ok_or(TlvError::Truncated { at: i });
    let mut i = start;
    let first = byte(i)?;
    let mut tag = u32::from(first);
    i += 1;
    if first & 0x1F == 0x1F {
        // Subsequent tag bytes: bit 8 set means one more follows.
        loop {
            let b = byte(i)?;
            tag = (tag << 8) | u32::from(b);
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            if i - start >= 3 {
                return Err(TlvError::Unsupported { at: i });
            }
        }
    }
    let len_at = i;
    let len = match byte(i)? {
        n @ 0..=0x7F => {
            i += 1;
            usize::from(n)
        }
        0x81 => {
            i += 2;
            usize::from(byte(len_at + 1)?)
        }
        0x82 => {
            i += 3;
            usize::from(u16::from_be_bytes([byte(len_at + 1)?, byte(len_at + 2)?]))
        }
        _ => return Err(TlvError::Unsupported { at: len_at }),
    };
    Ok((tag, len, i))
}

/// The total length (header and value) of the object `prefix` begins with, read from its header
/// alone; `None` if `prefix` is too short to hold the header or is no supported header.
pub fn object_len(prefix: &[u8]) -> Option<usize> {
    let (_, len, value_at) = read_header(prefix, 0).ok()?;
    Some(value_at + len)
}

/// Appends one object; `tag` is written in as many bytes as it needs (at least one).
pub fn write(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    let tag_bytes = tag.to_be_bytes();
    let skip = tag_bytes.iter().take(3).take_while(|&&b| b == 0).count();
    out.extend_from_slice(&tag_bytes[skip..]);
    match value.len() {
        n @ 0..=0x7F => out.push(n as u8),
        n @ 0x80..=0xFF => out.extend_from_slice(&[0x81, n as u8]),
        n => {
            // Callers keep values under 64 KiB (card files are a few hundred bytes).
            debug_assert!(n <= usize::from(u16::MAX));
            out.push(0x82);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn two_byte_tags_and_long_lengths() {
        let mut out = Vec::new();
        write(&mut out, 0xDF22, &[0xAB; 200]);
        assert_eq!(&out[..4], &[0xDF, 0x22, 0x81, 200]);
        write(&mut out, 0xDF23, &[1; 300]);
        let all: Vec<_> = objects(&out).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].tag, all[0].value.len()), (0xDF22, 200));
        assert_eq!((all[1].tag, all[1].value.len()), (0xDF23, 300));
    }

    #[test]
    fn hostile_encodings_are_errors() {
        assert_eq!(single(&[0xDF]), Err(TlvError::Truncated { at: 1 }));
        assert_eq!(
            single(&[0xDF, 0x21, 0x05, 1, 2]),
            Err(TlvError::Truncated { at: 5 })
        );
        assert_eq!(single(&[0x04, 0x80]), Err(TlvError::Unsupported { at: 1 }));
        assert_eq!(
            single(&[0x04, 0x84, 0, 0, 0, 1]),
            Err(TlvError::Unsupported { at: 1 })
        );
        assert!(single(&[0x1F, 0x81, 0x81, 0x81, 0x01, 0x00]).is_err());
        assert_eq!(
            single(&[0x04, 0x00, 0x00]),
            Err(TlvError::Unsupported { at: 2 })
        );
        assert!(single(&[0x04, 0x82, 0xFF, 0xFF]).is_err());
    }

    #[test]
    fn object_len_from_the_header_alone() {
        assert_eq!(object_len(&[0x30, 0x82, 0x05, 0xA0]), Some(0x5A4));
        assert_eq!(object_len(&[0xFF, 0x20, 0x82, 0x01]), None);
        assert_eq!(object_len(&[0xFF, 0x20, 0x82, 0x01, 0x00]), Some(0x105));
        assert_eq!(object_len(&[0xFF, 0x20, 0x1C]), Some(0x1F));
        assert_eq!(object_len(&[0x30, 0x80]), None);
    }

    proptest! {
        #[test]
        fn write_then_read(tag in prop_oneof![0u32..0x1F, 0xDF00u32..0xDF80, 0xFF00u32..0xFF80],
                           value in proptest::collection::vec(any::<u8>(), 0..700)) {
            let mut out = Vec::new();
            write(&mut out, tag, &value);
            let tlv = single(&out).unwrap();
            prop_assert_eq!(tlv.tag, tag);
            prop_assert_eq!(tlv.value, value.as_slice());
        }

        #[test]
        fn reading_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for item in objects(&bytes) {
                let _ = item;
            }
        }
    }
}

/// What the fuzzer (`fuzz/fuzz_targets/tlv.rs`) drives: reads `bytes` as objects and checks what
/// must hold of any input — each object read lies within the input, writes back to the bytes it
/// was read from (short-form lengths where they fit), and `object_len` agrees with the reader.
#[cfg(fuzzing)]
pub fn fuzz(bytes: &[u8]) {
    let mut at = 0;
    for o in objects(bytes) {
        let Ok(o) = o else { break };
        assert!(o.value.len() <= bytes.len());
        let mut again = Vec::new();
        write(&mut again, o.tag, o.value);
        let back = single(&again).expect("what was written reads back");
        assert_eq!((back.tag, back.value), (o.tag, o.value));
        let len = object_len(&bytes[at..]).expect("a read object has a header");
        assert!(at + len <= bytes.len());
        at += len;
    }
}
