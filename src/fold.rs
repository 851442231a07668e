//! Text folding shared by tagging, de-duplication and tag names: lower case, accents
//! removed, punctuation as spaces, so `México`, `MEXICO` and `mexico.` compare equal.

/// `text` lower-cased, accents and apostrophes removed, every other non-alphanumeric
/// character a single space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        let mapped = match c {
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
            '\'' | '’' | 'ʼ' | '`' | '´' => continue,
            // Combining marks left by decomposed input.
            '\u{300}'..='\u{36f}' => continue,
            c if c.is_alphanumeric() => c,
            _ => ' ',
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
    }
}
