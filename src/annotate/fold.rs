//! Text folding shared by tagging, de-duplication and tag names: lower case, accents
//! removed, punctuation as spaces, so `México`, `MEXICO` and `mexico.` compare equal.

/// `text` lower-cased, accents and apostrophes removed, every other non-alphanumeric
/// character a single space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    let mut push = |mapped: char| {
        if mapped == ' ' {
            if !space {
                out.push(' ');
                space = true;
            }
        } else {
            out.push(mapped);
            space = false;
        }
    };
    for c in text.chars() {
        // ASCII, most of any text, without the Unicode tables: what `base` makes of its
        // lower case.
        if c.is_ascii() {
            match c {
                'a'..='z' | '0'..='9' => push(c),
                'A'..='Z' => push(c.to_ascii_lowercase()),
                '\'' | '`' => {}
                _ => push(' '),
            }
            continue;
        }
        for lower in c.to_lowercase() {
            if let Some(mapped) = base(lower) {
                push(mapped);
            }
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// A lower-case character without its accent; `' '` for punctuation; `None` for what
/// joins (apostrophes, combining marks).
fn base(c: char) -> Option<char> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'š' | 'ś' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        // Apostrophes inside words (ch'ol, k'iche', women's) join rather than split.
        '\'' | '’' | 'ʼ' | '`' | '´' => return None,
        // Combining marks left by decomposed input.
        '\u{300}'..='\u{36f}' => return None,
        c if c.is_alphanumeric() => c,
        _ => ' ',
    })
}

/// `text` with accents removed and case kept, dashes as `-` (`Boletín Oaxaca–Chiapas` →
/// `Boletin Oaxaca-Chiapas`): for header phrases that must stay ASCII.
pub fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '–' | '—' => '-',
            c if c.is_ascii() => c,
            c => {
                let lower = c.to_lowercase().next().unwrap_or(c);
                match base(lower) {
                    Some(b) if b != ' ' && c.is_uppercase() => b.to_ascii_uppercase(),
                    Some(b) if b != ' ' => b,
                    _ => c,
                }
            }
        })
        .collect()
}

/// A tag name as stored and filtered on: folded, words joined by `-`.
pub fn slug(text: &str) -> String {
    fold(text).replace(' ', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_folds_as_every_other_character() {
        // The ASCII shortcut gives what the Unicode path gives.
        let slow = |text: &str| -> String {
            let mut out = String::new();
            for c in text.chars().flat_map(char::to_lowercase) {
                match base(c) {
                    Some(' ') if out.is_empty() || out.ends_with(' ') => {}
                    Some(m) => out.push(m),
                    None => {}
                }
            }
            out.trim_end().to_string()
        };
        let all: String = (0u8..128).map(char::from).collect();
        for text in [
            all.as_str(),
            "Ch'ol, K`iche' & \"Women's\" RIGHTS: 2026-11-21 (ÁÉ) São Ñuñoa",
            "  ¡Acción urgente!  ",
        ] {
            assert_eq!(fold(text), slow(text), "{text:?}");
        }
    }

    #[test]
    fn accents_case_and_punctuation_fold() {
        assert_eq!(fold("¡MÉXICO, Oaxaca!  Ch'ol"), "mexico oaxaca chol");
        assert_eq!(fold("Nicaragüense — São"), "nicaraguense sao");
        assert_eq!(slug("Acción urgente"), "accion-urgente");
        assert_eq!(
            ascii("Boletín ÑOÑO Oaxaca–Chiapas"),
            "Boletin NONO Oaxaca-Chiapas"
        );
    }
}
