//! The comments `draft` writes into an edition file for the editor: above each candidate,
//! its first words, language and tags, so the choice can be made in the file; above the
//! candidates a later draft adds, the `# new since` line; at the end of the file, the ids
//! drafts have offered, so an item the editor deleted is not offered again.
//!
//! The record is read only from the comments after the file's last value (the document's
//! own trailing comments, where `draft` writes it): a line inside a string or above an item
//! is never part of it, and a candidate's words line never starts like a record line, so
//! no feed and no text the editor writes can hide an item from the next draft.
//!
//! Pure text in, comment lines out. Whatever a feed wrote (newlines, `"""`, control and
//! bidirectional characters, words thousands of letters long) comes out as one bounded
//! line that TOML reads as a comment and an editor shows as it is stored.

use std::collections::BTreeSet;

use crate::annotate::fold::fold;
use crate::store::StoredItem;

/// Words of the item's text shown above it.
const WORDS: usize = 25;
/// Longest word shown whole (a pasted URL or a run of letters is cut here).
const WORD_CHARS: usize = 40;
/// Longest words line, in characters after `# `.
const LINE_CHARS: usize = 220;
/// Tags shown on a candidate's second line; more are counted.
const TAGS: usize = 8;

/// `text` fit for one comment line: every control or line-breaking character a space,
/// bidirectional and invisible formatting characters dropped (they could make the line
/// show something other than what it holds), runs of spaces one space.
pub(crate) fn comment_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * LINE_CHARS));
    for c in text.chars() {
        match c {
            c if crate::lang::is_direction_mark(c) => {}
            '\u{200b}'..='\u{200d}' => {}
            '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}' => {}
            c if c.is_control() || c.is_whitespace() => {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    out.trim_end().to_string()
}

/// The first [`WORDS`] words of `item`'s text, without the title when the text repeats
/// it, on one line; `None` when it has no text beyond its title.
pub(crate) fn first_words(item: &StoredItem) -> Option<String> {
    let text = if item.excerpt.trim().is_empty() {
        crate::html::text::to_text(item.summary.as_str())
    } else {
        item.excerpt.clone()
    };
    // Bounded before splitting: only the start of a long text is ever shown.
    let head = match text.char_indices().nth(WORDS * (WORD_CHARS + 1) * 2) {
        Some((cut, _)) => &text[..cut],
        None => text.as_str(),
    };
    let words: Vec<String> = head
        .split(|c: char| c.is_whitespace() || c.is_control())
        .map(comment_safe)
        .filter(|w| !w.is_empty())
        .collect();
    let title: Vec<String> = item
        .title
        .split_whitespace()
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect();
    // Feeds often start the summary with the title; the file shows the title already.
    let (mut matched, mut skip) = (0, 0);
    for (i, word) in words.iter().enumerate() {
        if matched == title.len() {
            break;
        }
        let folded = fold(word);
        if folded.is_empty() {
            continue;
        }
        if title.get(matched) != Some(&folded) {
            break;
        }
        matched += 1;
        skip = i + 1;
    }
    if title.is_empty() || matched < title.len() {
        skip = 0;
    }
    let mut line = String::new();
    let mut cut = false;
    for (n, word) in words.iter().skip(skip).enumerate() {
        let word = match word.char_indices().nth(WORD_CHARS) {
            Some((at, _)) => format!("{}…", &word[..at]),
            None => word.clone(),
        };
        if n == WORDS || line.chars().count() + word.chars().count() + 1 > LINE_CHARS {
            cut = true;
            break;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if line.is_empty() {
        return None;
    }
    if (cut || words.len() > skip + WORDS || head.len() < text.len()) && !line.ends_with('…') {
        line.push('…');
    }
    Some(line)
}

/// The comment lines above a candidate: its first words, then its language and tags.
pub(crate) fn candidate_lines(item: &StoredItem) -> [String; 2] {
    let words = match first_words(item) {
        // A text that starts like the record says so, lest it read as one where it lands.
        Some(w) if w.starts_with(RECORD.trim_start_matches("# ")) => format!("# (text) {w}"),
        Some(w) => format!("# {w}"),
        None => "# (no text beyond the title)".to_string(),
    };
    let lang = item
        .language
        .as_deref()
        .map(comment_safe)
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "?".into());
    let mut tags: Vec<String> = item
        .tags
        .iter()
        .map(|t| comment_safe(t))
        .filter(|t| !t.is_empty())
        .take(TAGS)
        .collect();
    if item.tags.len() > TAGS {
        tags.push(format!("+{}", item.tags.len() - TAGS));
    }
    let tags = if tags.is_empty() {
        "no tags".to_string()
    } else {
        format!("tags: {}", tags.join(", "))
    };
    [words, format!("# lang: {lang} · {tags}")]
}

/// The line above the candidates a later draft adds to a section.
pub(crate) fn new_since(date: chrono::NaiveDate) -> String {
    format!(
        "# new since {}: not included until you set include = true",
        date.format("%Y-%m-%d")
    )
}

/// How the record of offered ids starts; each line of ids starts with [`RECORD`].
const RECORD_NOTE: [&str; 2] = [
    "# Items `boletin draft` has offered: one deleted above is not offered again",
    "# (take its id out of these lines to have it offered again).",
];
const RECORD: &str = "# offered:";
/// Ids per record line.
const RECORD_IDS: usize = 12;

/// The ids the record lists in `trailing`, the comments after the file's last value.
pub(crate) fn offered(trailing: &str) -> BTreeSet<i64> {
    let text = trailing;
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix(RECORD))
        .flat_map(|ids| ids.split([' ', ',']).filter_map(|i| i.trim().parse().ok()))
        .collect()
}

/// `trailing` (the comments after the file's last value) with a record line for each
/// id of `ids` the record does not hold yet (`recorded`). Lines are only ever added, so
/// every line already in the file stays as it was.
pub(crate) fn with_record(trailing: &str, recorded: &BTreeSet<i64>, ids: &BTreeSet<i64>) -> String {
    let new: Vec<String> = ids.difference(recorded).map(i64::to_string).collect();
    let mut out = trailing.to_string();
    if new.is_empty() {
        return out;
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if recorded.is_empty() {
        out.push('\n');
        for note in RECORD_NOTE {
            out.push_str(note);
            out.push('\n');
        }
    }
    for line in new.chunks(RECORD_IDS) {
        out.push_str(&format!("{RECORD} {}\n", line.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::sanitize::SafeHtml;

    fn item(title: &str, excerpt: &str) -> StoredItem {
        let mut item =
            crate::edition::curate::tests::item(1, "s", title, "https://a.example.org/", 20);
        item.summary = SafeHtml::from_text(excerpt);
        item.excerpt = excerpt.into();
        item.language = Some("es".into());
        item.tags = vec!["chiapas".into(), "defensoras".into()];
        item
    }

    #[test]
    fn first_words_skip_a_repeated_title_and_stop_at_a_word() {
        let text = "Acción urgente: desplazamiento en Chenalhó. Más de 300 familias tsotsiles \
                    salieron de sus casas el domingo tras los ataques armados contra la comunidad \
                    de Santa Martha, según el centro de derechos humanos que acompaña a las familias.";
        let got = first_words(&item("Acción urgente: desplazamiento en Chenalhó", text));
        assert_eq!(
            got.as_deref(),
            Some(
                "Más de 300 familias tsotsiles salieron de sus casas el domingo tras los ataques \
                 armados contra la comunidad de Santa Martha, según el centro de…"
            )
        );
        assert_eq!(first_words(&item("Solo título", "Solo título")), None);
    }

    #[test]
    fn hostile_text_becomes_one_bounded_line() {
        let long = "x".repeat(5000);
        let text = format!(
            "Primera\nlínea\r\n\"\"\" # [[section]]\u{2028}id = 9\u{202e}invertido\u{200f} \u{0}\u{7f}\u{85} {long}"
        );
        let words = first_words(&item("Otro", &text)).unwrap_or_default();
        assert!(!words.chars().any(|c| c.is_control()), "{words:?}");
        assert!(!words.contains('\u{2028}') && !words.contains('\u{202e}'));
        assert!(
            words.starts_with("Primera línea \"\"\" # [[section]] id = 9invertido"),
            "{words}"
        );
        assert!(words.chars().count() <= LINE_CHARS + 1, "{}", words.len());
        assert!(words.ends_with("xxx…") && !words.ends_with("……"), "{words}");
        let [a, b] = candidate_lines(&item("Otro", &text));
        let toml = format!("{a}\n{b}\nid = 1\n");
        let parsed: toml::Table = toml::from_str(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        assert_eq!(parsed.len(), 1);
        assert_eq!(b, "# lang: es · tags: chiapas, defensoras");
    }

    #[test]
    fn the_record_only_grows_and_reads_back() {
        let ids: BTreeSet<i64> = (1..=14).collect();
        let first = with_record("\n# fin del boletín\n", &BTreeSet::new(), &ids);
        assert!(
            first.starts_with("\n# fin del boletín\n\n# Items"),
            "{first}"
        );
        assert_eq!(offered(&first), ids);
        let more: BTreeSet<i64> = (1..=20).collect();
        let second = with_record(&first, &offered(&first), &more);
        assert_eq!(offered(&second), more);
        assert!(second.starts_with(&first), "{second}");
        assert!(
            second.ends_with("\n# offered: 15 16 17 18 19 20\n"),
            "{second}"
        );
        assert_eq!(
            with_record(&second, &more, &more),
            second,
            "nothing new, nothing added"
        );
    }
}
