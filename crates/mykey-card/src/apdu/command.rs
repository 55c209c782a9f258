//! Command APDUs, ISO/IEC 7816-4 §5.1 ("Command-response pairs") and its Table 1 (the four cases
//! in short and extended form):
//!
//! ```text
//! case 1   CLA INS P1 P2
//! case 2S  CLA INS P1 P2 Le                     Le: 1 byte, 00 = 256
//! case 3S  CLA INS P1 P2 Lc Data                Lc: 1 byte, 01..FF
//! case 4S  CLA INS P1 P2 Lc Data Le
//! case 2E  CLA INS P1 P2 00 Le1 Le2             Le: 2 bytes, 0000 = 65536
//! case 3E  CLA INS P1 P2 00 Lc1 Lc2 Data        Lc: 2 bytes, 0001..FFFF
//! case 4E  CLA INS P1 P2 00 Lc1 Lc2 Data Le1 Le2
//! ```

use super::ApduError;

/// Most data bytes a short Lc announces.
pub const MAX_SHORT_DATA: usize = 255;
/// Largest Ne a short Le announces (`00`).
pub const MAX_SHORT_LE: usize = 256;
/// Most data bytes an extended Lc announces.
pub const MAX_EXTENDED_DATA: usize = 65_535;
/// Largest Ne an extended Le announces (`00 00`).
pub const MAX_EXTENDED_LE: usize = 65_536;

/// A command APDU. `le` is Ne, the most response bytes expected (`None`: no Le field); short or
/// extended encoding is chosen when encoding, by the lengths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Nc = its length; empty: no Lc field).
    pub data: Vec<u8>,
    /// Ne, the expected response length (1..=65536), if an Le field is present.
    pub le: Option<usize>,
}

impl Command {
    /// A case-1 command (header only); add data and Le with [`Command::with_data`] and
    /// [`Command::with_le`].
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// This command with `data` as its body.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// This command expecting up to `ne` response bytes (256 encodes as short Le `00`).
    pub fn with_le(mut self, ne: usize) -> Self {
        self.le = Some(ne);
        self
    }

    /// Parses a command APDU in either length form. Every byte must be accounted for.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(ApduError::TooShort {
                len: bytes.len(),
                min: 4,
            });
        };
        let (data, le) = parse_body(body)?;
        Ok(Self {
            cla: *cla,
            ins: *ins,
            p1: *p1,
            p2: *p2,
            data: data.to_vec(),
            le,
        })
    }

    /// Encodes the command, in short form when Nc ≤ 255 and Ne ≤ 256, else in extended form.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ApduError> {
        let nc = self.data.len();
        if nc > MAX_EXTENDED_DATA {
            return Err(ApduError::DataTooLong {
                len: nc,
                max: MAX_EXTENDED_DATA,
            });
        }
        if let Some(le) = self.le
            && !(1..=MAX_EXTENDED_LE).contains(&le)
        {
            return Err(ApduError::LeOutOfRange { le });
        }
        let extended = nc > MAX_SHORT_DATA || self.le.is_some_and(|le| le > MAX_SHORT_LE);
        let mut out = Vec::with_capacity(4 + 3 + nc + 2);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if extended {
            if nc > 0 {
                out.push(0);
                out.extend_from_slice(&(nc as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                if nc == 0 {
                    out.push(0);
                }
                // 65536 wraps to 00 00, as §5.1 wants.
                out.extend_from_slice(&(le as u16).to_be_bytes());
            }
        } else {
            if nc > 0 {
                out.push(nc as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                // 256 wraps to 00.
                out.push(le as u8);
            }
        }
        Ok(out)
    }
}

/// Splits the body (everything after P2) into data and Ne.
fn parse_body(body: &[u8]) -> Result<(&[u8], Option<usize>), ApduError> {
    let short_ne = |b: u8| if b == 0 { MAX_SHORT_LE } else { usize::from(b) };
    let ext_ne = |hi: u8, lo: u8| match u16::from_be_bytes([hi, lo]) {
        0 => MAX_EXTENDED_LE,
        n => usize::from(n),
    };
    let inconsistent = ApduError::InconsistentLength { body: body.len() };
    match body {
        [] => Ok((&[], None)),
        [le] => Ok((&[], Some(short_ne(*le)))),
        [0, hi, lo] => Ok((&[], Some(ext_ne(*hi, *lo)))),
        [0, hi, lo, rest @ ..] => {
            let nc = usize::from(u16::from_be_bytes([*hi, *lo]));
            if nc == 0 {
                return Err(ApduError::ZeroExtendedLc);
            }
            match rest.len().checked_sub(nc) {
                Some(0) => Ok((rest, None)),
                Some(2) => Ok((&rest[..nc], Some(ext_ne(rest[nc], rest[nc + 1])))),
                _ => Err(inconsistent),
            }
        }
        [0, ..] => Err(inconsistent),
        [lc, rest @ ..] => {
            let nc = usize::from(*lc);
            match rest.len().checked_sub(nc) {
                Some(0) => Ok((rest, None)),
                Some(1) => Ok((&rest[..nc], Some(short_ne(rest[nc])))),
                _ => Err(inconsistent),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(hex_str: &str) -> Result<Command, ApduError> {
        Command::parse(&hex::decode(hex_str.replace(' ', "")).unwrap())
    }

    #[test]
    fn the_four_short_cases() {
        assert_eq!(
            parse("00 20 00 80").unwrap(),
            Command::new(0, 0x20, 0, 0x80)
        );
        assert_eq!(parse("00 B0 01 00 00").unwrap().le, Some(256));
        assert_eq!(parse("00 B0 01 00 04").unwrap().le, Some(4));
        let select = parse("00 A4 02 0C 02 00 0A").unwrap();
        assert_eq!(
            (select.data.as_slice(), select.le),
            (&[0x00, 0x0A][..], None)
        );
        let sign = parse("80 2A 00 80 03 01 02 03 00").unwrap();
        assert_eq!((sign.data.as_slice(), sign.le), (&[1, 2, 3][..], Some(256)));
    }

    #[test]
    fn the_three_extended_cases() {
        assert_eq!(parse("00 B0 00 00 00 00 00").unwrap().le, Some(65_536));
        assert_eq!(parse("00 B0 00 00 00 01 00").unwrap().le, Some(256));
        let c3 = parse("00 20 00 80 00 00 02 31 32").unwrap();
        assert_eq!((c3.data.as_slice(), c3.le), (&b"12"[..], None));
        let c4 = parse("80 2A 00 80 00 00 01 AA 01 00").unwrap();
        assert_eq!((c4.data.as_slice(), c4.le), (&[0xAA][..], Some(256)));
    }

    #[test]
    fn malformed_commands_are_errors() {
        assert_eq!(
            parse("00 A4 04"),
            Err(ApduError::TooShort { len: 3, min: 4 })
        );
        assert_eq!(parse(""), Err(ApduError::TooShort { len: 0, min: 4 }));
        // Lc says 3, two bytes follow.
        assert_eq!(
            parse("00 A4 04 0C 03 01 02"),
            Err(ApduError::InconsistentLength { body: 3 })
        );
        // Lc says 1, three bytes follow (data + two would-be Le bytes).
        assert!(parse("00 A4 04 0C 01 01 02 03").is_err());
        // 00 then one byte: neither short nor extended.
        assert!(parse("00 B0 00 00 00 01").is_err());
        assert_eq!(
            parse("00 20 00 80 00 00 00 31"),
            Err(ApduError::ZeroExtendedLc)
        );
        // Extended Lc with a one-byte trailer.
        assert!(parse("00 20 00 80 00 00 01 31 00").is_err());
    }

    #[test]
    fn encoding_picks_the_short_form_when_it_fits() {
        let c = Command::new(0x80, 0x2A, 0, 0x80)
            .with_data(vec![7; 51])
            .with_le(256);
        let b = c.to_bytes().unwrap();
        assert_eq!((b[4], b.len(), b[b.len() - 1]), (51, 4 + 1 + 51 + 1, 0));
        let big = Command::new(0, 0xB0, 0, 0).with_le(257).to_bytes().unwrap();
        assert_eq!(big, [0, 0xB0, 0, 0, 0, 0x01, 0x01]);
        let long = Command::new(0, 0xD6, 0, 0)
            .with_data(vec![0; 300])
            .with_le(1)
            .to_bytes()
            .unwrap();
        assert_eq!(&long[4..7], &[0, 0x01, 0x2C]);
        assert_eq!(&long[long.len() - 2..], &[0, 1]);
    }

    #[test]
    fn unencodable_commands_are_errors() {
        assert_eq!(
            Command::new(0, 0, 0, 0).with_le(0).to_bytes(),
            Err(ApduError::LeOutOfRange { le: 0 })
        );
        assert!(Command::new(0, 0, 0, 0).with_le(65_537).to_bytes().is_err());
        assert!(
            Command::new(0, 0, 0, 0)
                .with_data(vec![0; 65_536])
                .to_bytes()
                .is_err()
        );
    }

    fn any_command() -> impl Strategy<Value = Command> {
        let data = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..=255),
            proptest::collection::vec(any::<u8>(), 256..=1024),
        ];
        let le = prop_oneof![
            Just(None),
            (1usize..=256).prop_map(Some),
            (1usize..=65_536).prop_map(Some)
        ];
        (any::<[u8; 4]>(), data, le).prop_map(|([cla, ins, p1, p2], data, le)| Command {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
        })
    }

    proptest! {
        #[test]
        fn encode_then_parse_is_identity(c in any_command()) {
            let bytes = c.to_bytes().unwrap();
            prop_assert_eq!(Command::parse(&bytes).unwrap(), c);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics_and_reencodes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(c) = Command::parse(&bytes) {
                let again = c.to_bytes().unwrap();
                prop_assert_eq!(Command::parse(&again).unwrap(), c);
            }
        }
    }
}
