//! The byte-level rules of a line's score, all found in one pass over its bytes: every line of
//! unfenced text is scored, and a pass (or a substring search) per rule made scoring most of the
//! line scan, itself a sixth of a check (`super::reference` has the rules written one by one).

/// What the pass finds in a trimmed line.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Signals {
    /// Characters that are not whitespace, and those of them that are neither letters nor digits.
    pub non_space: usize,
    pub symbols: usize,
    /// How many of the operators ` = `, `==`, `!=`, `+=`, `-=`, `:=`, `=>`, `->`, `&&`, `||`, `::`,
    /// `<<`, `>>`, `++`, `*=`, `|=` the line holds, up to two.
    pub operators: u32,
    /// One of ` + `, ` - `, ` * `, ` / `, ` % `, ` < `, ` > `, ` <= `, ` >= `.
    pub arithmetic: bool,
    /// `name(`: a call or a definition (prose puts a space before a parenthesis).
    pub call: bool,
    /// An identifier joined from words: `snake_case`, `camelCase`, `a.b`.
    pub compound: bool,
    /// Sentence ends inside the line outside double-quoted strings and before a `//` comment: a
    /// lowercase letter or `)`, then `.`, `!` or `?`, a space, a capital.
    pub sentence_breaks: usize,
    pub backticks: usize,
    /// Whitespace-separated tokens; plain words among them (two letters or more, nothing but
    /// letters and sentence punctuation); [`super::FUNCTION_WORDS`] among them, whatever their case
    /// and the punctuation around them.
    pub tokens: usize,
    pub words: usize,
    pub function_words: usize,
}

/// The token being read: where it starts, its letters, and the span from its first letter to the
/// end of its last (the token stripped of what is not a letter at either end).
#[derive(Default)]
struct Token {
    open: bool,
    start: usize,
    letters: usize,
    plain: bool,
    ascii: bool,
    core: (usize, usize),
}

impl Token {
    #[inline]
    fn begin(&mut self, at: usize) {
        if !self.open {
            *self = Token { open: true, start: at, plain: true, ascii: true, ..Token::default() };
        }
    }

    #[inline]
    fn letter(&mut self, at: usize, end: usize) {
        if self.letters == 0 {
            self.core.0 = at;
        }
        self.letters += 1;
        self.core.1 = end;
    }
}

/// Bytes at which some rule may fire: everything else (lowercase letters, digits, most
/// punctuation) only counts towards the symbols.
const SPACE: u8 = 1;
const INTERESTING: u8 = 2;

const fn byte_classes() -> [u8; 256] {
    let mut classes = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        // char::is_whitespace on ASCII (U+000B too, which u8::is_ascii_whitespace leaves out).
        if matches!(c, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            classes[b] |= SPACE;
        }
        if c.is_ascii_uppercase()
            || matches!(
                c,
                b' ' | b'='
                    | b'!'
                    | b'+'
                    | b'-'
                    | b':'
                    | b'&'
                    | b'|'
                    | b'<'
                    | b'>'
                    | b'*'
                    | b'('
                    | b'_'
                    | b'.'
                    | b'"'
                    | b'?'
                    | b'/'
                    | b'`'
            )
        {
            classes[b] |= INTERESTING;
        }
        b += 1;
    }
    classes
}

const CLASSES: [u8; 256] = byte_classes();

/// The operator (its number in [`Signals::operators`]'s list) that `rest` starts with, if any.
#[inline]
fn operator_at(rest: &[u8]) -> Option<u32> {
    Some(match rest {
        [b' ', b'=', b' ', ..] => 0,
        [b'=', b'=', ..] => 1,
        [b'!', b'=', ..] => 2,
        [b'+', b'=', ..] => 3,
        [b'-', b'=', ..] => 4,
        [b':', b'=', ..] => 5,
        [b'=', b'>', ..] => 6,
        [b'-', b'>', ..] => 7,
        [b'&', b'&', ..] => 8,
        [b'|', b'|', ..] => 9,
        [b':', b':', ..] => 10,
        [b'<', b'<', ..] => 11,
        [b'>', b'>', ..] => 12,
        [b'+', b'+', ..] => 13,
        [b'*', b'=', ..] => 14,
        [b'|', b'=', ..] => 15,
        _ => return None,
    })
}

impl Signals {
    pub(super) fn of(trimmed: &str) -> Signals {
        let bytes = trimmed.as_bytes();
        let n = bytes.len();
        let mut out = Signals::default();
        let mut operators = 0u32; // one bit per operator found
        let (mut quoted, mut sentences_counted) = (false, true);
        let mut token = Token::default();
        for (i, &b) in bytes.iter().enumerate() {
            let class = CLASSES[b as usize];
            if b < 0x80 {
                if class & SPACE != 0 {
                    out.end_token(&mut token, trimmed, i);
                } else {
                    out.non_space += 1;
                    out.symbols += usize::from(!b.is_ascii_alphanumeric());
                    token.begin(i);
                    if b.is_ascii_alphabetic() {
                        token.letter(i, i + 1);
                    } else {
                        token.plain &=
                            matches!(b, b'\'' | b'-' | b',' | b'.' | b'!' | b'?' | b';' | b':' | b'"');
                    }
                }
            } else if b >= 0xC0 {
                // The first byte of a character (the others, 0x80-0xBF, are skipped here and are
                // no letter, digit or delimiter to the byte rules below, as they are to theirs).
                let c = trimmed[i..].chars().next().unwrap_or(' ');
                if c.is_whitespace() {
                    out.end_token(&mut token, trimmed, i);
                } else {
                    out.non_space += 1;
                    out.symbols += usize::from(!c.is_alphanumeric());
                    token.begin(i);
                    token.ascii = false;
                    if c.is_alphabetic() {
                        token.letter(i, i + c.len_utf8());
                    } else {
                        token.plain = false; // is_word_char: only ASCII punctuation besides letters
                    }
                }
            }
            if class & INTERESTING == 0 {
                continue;
            }
            let (before, after) = (i.checked_sub(1).map(|j| bytes[j]), bytes.get(i + 1).copied());
            let rest = &bytes[i..];
            if let Some(bit) = operator_at(rest) {
                operators |= 1 << bit;
            }
            match b {
                b' ' => {
                    out.arithmetic |= matches!(
                        rest,
                        [b' ', b'+' | b'-' | b'*' | b'/' | b'%' | b'<' | b'>', b' ', ..]
                            | [b' ', b'<' | b'>', b'=', b' ', ..]
                    );
                }
                b'(' => out.call |= before.is_some_and(|p| p.is_ascii_alphanumeric() || p == b'_'),
                b'_' | b'.' => {
                    out.compound |= before.is_some_and(|p| p.is_ascii_alphanumeric())
                        && after.is_some_and(|a| a.is_ascii_alphabetic());
                }
                b'A'..=b'Z' => {
                    out.compound |= before.is_some_and(|p| p.is_ascii_lowercase())
                        && after.is_some_and(|a| a.is_ascii_lowercase());
                }
                b'`' => out.backticks += 1,
                _ => {}
            }
            if sentences_counted {
                match b {
                    b'"' if before != Some(b'\\') => quoted = !quoted,
                    b'/' if !quoted && after == Some(b'/') => sentences_counted = false,
                    b'.' | b'!' | b'?' if !quoted && i > 0 && i + 2 < n => {
                        let lower_before = before.is_some_and(|p| p.is_ascii_lowercase() || p == b')');
                        if lower_before && bytes[i + 1] == b' ' && bytes[i + 2].is_ascii_uppercase() {
                            out.sentence_breaks += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        out.end_token(&mut token, trimmed, n);
        out.operators = operators.count_ones().min(2);
        out
    }

    /// Counts the token being read, if any, which ends at `end`.
    #[inline]
    fn end_token(&mut self, token: &mut Token, trimmed: &str, end: usize) {
        if !token.open {
            return;
        }
        token.open = false;
        self.tokens += 1;
        self.words += usize::from(token.plain && token.letters >= 2);
        let function_word = match (token.letters, token.ascii) {
            (0, _) => false,
            (_, true) => super::is_ascii_function_word(&trimmed.as_bytes()[token.core.0..token.core.1]),
            (_, false) => super::is_function_word(&trimmed[token.start..end]),
        };
        self.function_words += usize::from(function_word);
    }

    /// The share of non-space characters that are neither letters nor digits.
    pub(super) fn symbol_share(&self) -> f64 {
        self.symbols as f64 / self.non_space.max(1) as f64
    }
}
