//! Response APDUs, ISO/IEC 7816-4 §5.1: a body of Nr bytes (possibly empty), then SW1 SW2.

use super::{ApduError, StatusWord};

/// A response APDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The response data.
    pub data: Vec<u8>,
    /// The status word.
    pub sw: StatusWord,
}

impl Response {
    /// A response with data.
    pub fn new(data: Vec<u8>, sw: StatusWord) -> Self {
        Self { data, sw }
    }

    /// A response of a status word alone.
    pub fn status(sw: StatusWord) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    /// Splits `data ‖ SW1 SW2`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let [data @ .., sw1, sw2] = bytes else {
            return Err(ApduError::TooShort {
                len: bytes.len(),
                min: 2,
            });
        };
        Ok(Self {
            data: data.to_vec(),
            sw: StatusWord::from_bytes(*sw1, *sw2),
        })
    }

    /// `data ‖ SW1 SW2`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn status_only_and_short_responses() {
        assert_eq!(
            Response::parse(&[0x90, 0x00]).unwrap(),
            Response::status(StatusWord::Ok)
        );
        assert_eq!(
            Response::parse(&[0x90]),
            Err(ApduError::TooShort { len: 1, min: 2 })
        );
        let r = Response::parse(&[1, 2, 0x62, 0x82]).unwrap();
        assert_eq!(
            (r.data.as_slice(), r.sw),
            (&[1, 2][..], StatusWord::EndOfFile)
        );
    }

    proptest! {
        #[test]
        fn responses_round_trip(data in proptest::collection::vec(any::<u8>(), 0..300), sw in any::<u16>()) {
            let r = Response::new(data, StatusWord::from_u16(sw));
            prop_assert_eq!(Response::parse(&r.to_bytes()).unwrap(), r);
        }
    }
}
