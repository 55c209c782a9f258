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
/// unassigned or line-separating characters; no space but U+0020 and the ideographic U+3000,
/// never two in a row; nothing Unicode marks as drawing nothing (Default_Ignorable_Code_Point:
/// the Hangul fillers, the combining grapheme joiner, invisible Khmer vowels…) but one variation
/// selector after a visible character (the ideographic variation sequences of official names,
/// 葛󠄀飾区); no braille blank or object replacement; and not beginning with a combining mark.
pub(crate) fn plain_text(text: &str) -> bool {
    let ignorable = |c: char| {
        matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
    };
    let selector = |c: char| matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}');
    let space = |c: char| c == ' ' || c == '\u{3000}';
    let mut previous: Option<char> = None;
    for c in text.chars() {
        let category = c.general_category();
        let ok = match category {
            GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator => false,
            GeneralCategory::SpaceSeparator => space(c) && !previous.is_some_and(space),
            GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
                if previous.is_none() =>
            {
                false
            }
            _ if selector(c) => previous.is_some_and(|p| !space(p) && !selector(p)),
            _ => !ignorable(c) && c != '\u{2800}' && c != '\u{FFFC}',
        };
        if !ok {
            return false;
        }
        previous = Some(c);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_fillers_and_joiners_are_refused() {
        for bad in [
            "a\u{3164}b",
            "a\u{034F}b",
            "a\u{180B}",
            "\u{115F}",
            "\u{2800}",
            "a\u{2800}b",
            "a\u{17B4}",
            "\u{0301}",
            "a\u{FE0F}\u{FE0F}",
            "\u{FE0F}",
            "a\u{FFFC}",
            "Bank\u{3000}\u{3000}desk",
            "Bank  desk",
        ] {
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
