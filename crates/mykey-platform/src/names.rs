//! Names the platform shows card holders on consent screens, the portal and the phone: a
//! relying party's, a PPID service's. A name is what the person decides on, so it must read as
//! what it is: no bidirectional overrides that turn "Bank of X" into another name, no
//! zero-width or private-use characters that hide or fake letters, no line breaks.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::PlatformError;

/// Longest name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// `name` trimmed and in Unicode normalization form C, if it is 1 to [`MAX_NAME_CHARS`]
/// characters with none of the control, format (bidi controls, zero-width), private-use,
/// surrogate or unassigned classes, and no separator other than the space and the ideographic
/// space (U+3000, as in 山田　太郎).
pub(crate) fn display_name(name: &str) -> Result<String, PlatformError> {
    let name: String = name.trim().nfc().collect();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS || !plain_text(&name) {
        return Err(PlatformError::Invalid(crate::InvalidError::Name));
    }
    Ok(name)
}

/// Whether `text` reads as what it is: no control, format (bidi, zero-width), private-use,
/// unassigned or line-separating characters, no space but U+0020 and the ideographic U+3000,
/// and none of the invisible fillers and joiners that draw nothing (the Hangul fillers, the
/// combining grapheme joiner, the Mongolian variation selectors). Variation selectors that pick a
/// glyph (the ideographic variation sequences of official names, 葛󠄀飾区) are kept.
pub(crate) fn plain_text(text: &str) -> bool {
    let allowed = |c: char| {
        let invisible = matches!(
            c,
            '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{180B}'
                ..='\u{180F}'
        );
        !invisible
            && match c.general_category() {
                GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::PrivateUse
                | GeneralCategory::Surrogate
                | GeneralCategory::Unassigned
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator => false,
                GeneralCategory::SpaceSeparator => c == ' ' || c == '\u{3000}',
                _ => true,
            }
    };
    text.chars().all(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_fillers_and_joiners_are_refused() {
        for bad in ["a\u{3164}b", "a\u{034F}b", "a\u{180B}", "\u{115F}"] {
            assert!(display_name(bad).is_err(), "{bad:?}");
        }
        assert!(display_name("葛\u{E0100}飾区").is_ok());
    }

    #[test]
    fn names_read_as_what_they_are() {
        assert_eq!(display_name("  みらい銀行 ").unwrap(), "みらい銀行");
        assert_eq!(display_name("Hakata Books").unwrap(), "Hakata Books");
        assert_eq!(
            display_name("山田\u{3000}商店").unwrap(),
            "山田\u{3000}商店"
        );
        // Composed to NFC: a decomposed が becomes one character.
        assert_eq!(display_name("か\u{3099}").unwrap(), "が");
        for bad in [
            "",
            "   ",
            "Bank\u{202E}evil",      // right-to-left override
            "Ba\u{200B}nk",          // zero-width space
            "Bank\u{2066}x\u{2069}", // isolates
            "\u{E000}Bank",          // private use
            "Bank\u{2028}Two",       // line separator
            "Bank\u{00A0}X",         // no-break space
            "a\nb",
        ] {
            assert!(display_name(bad).is_err(), "{bad:?}");
        }
        assert!(display_name(&"x".repeat(200)).is_ok());
        assert!(display_name(&"x".repeat(201)).is_err());
    }
}
