//! Status words, ISO/IEC 7816-4 §5.6 ("Status bytes", Tables 5 and 6): one variant per word this
//! project's card and client use, and [`StatusWord::Unknown`] for every other.

use std::fmt;

/// SW1 SW2 of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusWord {
    /// `90 00`: normal processing.
    Ok,
    /// `61 xx`: `xx` more bytes available with GET RESPONSE (`00` = 256).
    BytesAvailable(u8),
    /// `62 82`: end of file reached before reading Ne bytes (the data returned is shorter).
    EndOfFile,
    /// `63 Cx`: verification failed, `x` tries left (`63 C0`: blocked). JPKI cards also answer it
    /// to a VERIFY without data, which asks the count without using a try.
    VerificationFailed {
        /// Tries left, 0..=15.
        tries_left: u8,
    },
    /// `65 81`: memory failure (the card could not record its state).
    MemoryFailure,
    /// `67 00`: wrong length (Lc or Le not what the command takes).
    WrongLength,
    /// `69 81`: command incompatible with the current file's structure.
    IncompatibleFileStructure,
    /// `69 82`: security status not satisfied (verify the PIN first).
    SecurityStatusNotSatisfied,
    /// `69 83`: authentication method blocked (the PIN has no tries left).
    AuthenticationBlocked,
    /// `69 84`: reference data not usable.
    ReferenceDataNotUsable,
    /// `69 85`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `69 86`: command not allowed, no current EF.
    NoCurrentEf,
    /// `6A 80`: incorrect parameters in the command data.
    IncorrectData,
    /// `6A 81`: function not supported.
    FunctionNotSupported,
    /// `6A 82`: file or application not found.
    NotFound,
    /// `6A 86`: incorrect parameters P1-P2.
    IncorrectP1P2,
    /// `6A 87`: Nc inconsistent with parameters P1-P2.
    NcInconsistentWithP1P2,
    /// `6A 88`: referenced data or reference data not found.
    ReferencedDataNotFound,
    /// `6B 00`: wrong parameters P1-P2 (for READ BINARY: offset outside the EF).
    WrongP1P2,
    /// `6C xx`: wrong Le; `xx` is the exact length available (`00` = 256).
    WrongLe {
        /// The length to ask for instead.
        available: u8,
    },
    /// `6D 00`: instruction code not supported or invalid.
    InsNotSupported,
    /// `6E 00`: class not supported.
    ClaNotSupported,
    /// `6F 00`: no precise diagnosis.
    NoPreciseDiagnosis,
    /// Any other word. [`StatusWord::from_u16`] never puts a word listed above here.
    Unknown(u16),
}

impl StatusWord {
    /// The word for SW1 SW2.
    pub const fn from_u16(sw: u16) -> Self {
        let [sw1, sw2] = sw.to_be_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Self::Ok,
            (0x61, n) => Self::BytesAvailable(n),
            (0x62, 0x82) => Self::EndOfFile,
            (0x63, n) if n & 0xF0 == 0xC0 => Self::VerificationFailed {
                tries_left: n & 0x0F,
            },
            (0x65, 0x81) => Self::MemoryFailure,
            (0x67, 0x00) => Self::WrongLength,
            (0x69, 0x81) => Self::IncompatibleFileStructure,
            (0x69, 0x82) => Self::SecurityStatusNotSatisfied,
            (0x69, 0x83) => Self::AuthenticationBlocked,
            (0x69, 0x84) => Self::ReferenceDataNotUsable,
            (0x69, 0x85) => Self::ConditionsNotSatisfied,
            (0x69, 0x86) => Self::NoCurrentEf,
            (0x6A, 0x80) => Self::IncorrectData,
            (0x6A, 0x81) => Self::FunctionNotSupported,
            (0x6A, 0x82) => Self::NotFound,
            (0x6A, 0x86) => Self::IncorrectP1P2,
            (0x6A, 0x87) => Self::NcInconsistentWithP1P2,
            (0x6A, 0x88) => Self::ReferencedDataNotFound,
            (0x6B, 0x00) => Self::WrongP1P2,
            (0x6C, n) => Self::WrongLe { available: n },
            (0x6D, 0x00) => Self::InsNotSupported,
            (0x6E, 0x00) => Self::ClaNotSupported,
            (0x6F, 0x00) => Self::NoPreciseDiagnosis,
            _ => Self::Unknown(sw),
        }
    }

    /// The word for two bytes SW1, SW2.
    pub const fn from_bytes(sw1: u8, sw2: u8) -> Self {
        Self::from_u16(u16::from_be_bytes([sw1, sw2]))
    }

    /// SW1 SW2 as one number. A `tries_left` above 15 is clamped to 15.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::Ok => 0x9000,
            Self::BytesAvailable(n) => 0x6100 | n as u16,
            Self::EndOfFile => 0x6282,
            Self::VerificationFailed { tries_left } => {
                0x63C0
                    | if tries_left > 15 {
                        15
                    } else {
                        tries_left as u16
                    }
            }
            Self::MemoryFailure => 0x6581,
            Self::WrongLength => 0x6700,
            Self::IncompatibleFileStructure => 0x6981,
            Self::SecurityStatusNotSatisfied => 0x6982,
            Self::AuthenticationBlocked => 0x6983,
            Self::ReferenceDataNotUsable => 0x6984,
            Self::ConditionsNotSatisfied => 0x6985,
            Self::NoCurrentEf => 0x6986,
            Self::IncorrectData => 0x6A80,
            Self::FunctionNotSupported => 0x6A81,
            Self::NotFound => 0x6A82,
            Self::IncorrectP1P2 => 0x6A86,
            Self::NcInconsistentWithP1P2 => 0x6A87,
            Self::ReferencedDataNotFound => 0x6A88,
            Self::WrongP1P2 => 0x6B00,
            Self::WrongLe { available } => 0x6C00 | available as u16,
            Self::InsNotSupported => 0x6D00,
            Self::ClaNotSupported => 0x6E00,
            Self::NoPreciseDiagnosis => 0x6F00,
            Self::Unknown(sw) => sw,
        }
    }

    /// SW1 and SW2.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.to_u16().to_be_bytes()
    }

    /// Whether processing completed normally (`90 00`; ISO also counts `61 xx`, handled by the
    /// client before it gets here).
    pub const fn is_ok(self) -> bool {
        matches!(self, Self::Ok)
    }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        Self::from_u16(sw)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [sw1, sw2] = self.to_bytes();
        write!(f, "{sw1:02X} {sw2:02X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn words_used_by_the_card() {
        assert_eq!(
            StatusWord::from_u16(0x63C2),
            StatusWord::VerificationFailed { tries_left: 2 }
        );
        assert_eq!(StatusWord::from_u16(0x6300), StatusWord::Unknown(0x6300));
        assert_eq!(
            StatusWord::from_bytes(0x6C, 0x10),
            StatusWord::WrongLe { available: 0x10 }
        );
        assert_eq!(StatusWord::NotFound.to_bytes(), [0x6A, 0x82]);
        assert_eq!(StatusWord::AuthenticationBlocked.to_string(), "69 83");
        assert_eq!(
            StatusWord::VerificationFailed { tries_left: 99 }.to_u16(),
            0x63CF
        );
    }

    proptest! {
        #[test]
        fn every_word_round_trips(sw in any::<u16>()) {
            let word = StatusWord::from_u16(sw);
            prop_assert_eq!(word.to_u16(), sw);
            prop_assert_eq!(StatusWord::from_u16(word.to_u16()), word);
        }
    }
}
