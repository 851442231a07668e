//! Text folding shared by tagging, de-duplication and tag names: lower case, accents
//! removed, punctuation as spaces, so `México`, `MEXICO` and `mexico.` compare equal.

/// `text` lower-cased, accents and apostrophes removed, every other non-alphanumeric
/// character a single space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        let mapped = match base(c) {
            Some(c) => c,
            None => continue,
        };
        if mapped == ' ' {
            if !space {
                out.push(' ');
                space = true;
            }
        } else {
            out.push(mapped);
            space = false;
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
