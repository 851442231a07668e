//! A `[source.scrape]` draft for a page without a feed, for `boletin add`.
//!
//! News pages repeat one block per post; so do menus, sidebars and tag clouds. Every set
//! of repeated siblings is a candidate, and what each block carries decides: a heading, a
//! link and a date (a post), or a link and a date, or a heading and a link, or only a link
//! (a menu row). Blocks inside navigation, headers, footers, sidebars and widgets count
//! after those elsewhere; then more blocks beat fewer. The item selector is the shortest
//! one found (the blocks' class, then qualified by an ancestor's id or class) that picks
//! exactly those blocks, so a sidebar built from the same markup is left out. Pure: the
//! page's text in, the rule's text out; the walk is bounded ([`MAX_VISITS`]).

use std::collections::{HashMap, HashSet};

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};

use crate::ingest::date::{self, DayOrder};
use crate::lang::is_direction_mark;

/// Elements looked at while judging blocks, over the whole page: a page of a few thousand
/// tags needs a few tens of thousands.
const MAX_VISITS: usize = 2_000_000;
/// Elements looked at inside one block.
const BLOCK_VISITS: usize = 400;
/// Blocks of a set judged (the rest are counted).
const SAMPLE: usize = 40;
/// Ancestors tried to tell a set of blocks from look-alikes elsewhere.
const ANCESTORS: usize = 5;

/// Class and id words of page furniture.
const FURNITURE: &[&str] = &[
    "nav",
    "menu",
    "sidebar",
    "widget",
    "footer",
    "header",
    "breadcrumb",
    "pager",
    "pagination",
    "social",
    "share",
    "related",
    "tags",
    "skip",
];

/// Class words that say an element holds a date.
const DATE_WORDS: &[&str] = &[
    "date",
    "fecha",
    "time",
    "published",
    "submitted",
    "posted",
    "created",
];

/// What one block holds.
#[derive(Default)]
struct Traits {
    link: bool,
    heading: Option<&'static str>,
    time: bool,
    time_datetime: bool,
    /// Selector of an element whose class says "date" and whose text reads as one.
    date_class: Option<String>,
    /// A short text that reads as a date.
    text_date: bool,
    title_class: Option<String>,
}

impl Traits {
    fn dated(&self) -> bool {
        self.time || self.date_class.is_some() || self.text_date
    }
}

/// A set of repeated siblings and what they hold.
struct Candidate<'a> {
    parent: ElementRef<'a>,
    tag: String,
    class: Option<String>,
    members: Vec<ElementRef<'a>>,
    traits: Vec<Traits>,
    tier: u8,
    furniture: bool,
}

impl Candidate<'_> {
    fn rank(&self) -> (u8, bool, usize) {
        (self.tier, !self.furniture, self.members.len())
    }
}

/// A class or id usable in a selector as written: no escaping needed, and no digits,
/// which mark per-post names (`post-123`, `views-row-4`).
fn stable(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_')
        && !matches!(
            name,
            "odd" | "even" | "first" | "last" | "active" | "current" | "clearfix"
        )
}

/// `el`'s usable classes in the order the page writes them (sites put the telling ones
/// first: `view view-noticias view-display-id-page`).
fn classes<'a>(el: &ElementRef<'a>) -> impl Iterator<Item = &'a str> {
    el.value()
        .attr("class")
        .unwrap_or_default()
        .split_ascii_whitespace()
        .filter(|c| stable(c))
}

fn furniture_word(word: &str) -> bool {
    let word = word.to_ascii_lowercase();
    FURNITURE.iter().any(|f| word.starts_with(f))
}

/// Whether `el` is page furniture: a navigation, header, footer or aside element, or
/// named like one.
fn is_furniture(el: &ElementRef<'_>) -> bool {
    matches!(el.value().name(), "nav" | "header" | "footer" | "aside")
        || el.value().classes().any(furniture_word)
        || el.value().id().is_some_and(furniture_word)
        || el
            .value()
            .attr("role")
            .is_some_and(|r| matches!(r, "navigation" | "banner" | "contentinfo" | "complementary"))
}

/// A short text that reads as a day (not a bare year or month).
fn reads_as_date(text: &str) -> bool {
    let text = text.trim();
    (6..=60).contains(&text.len())
        && text.chars().filter(char::is_ascii_digit).count() >= 2
        && date::parse(text, chrono_tz::UTC, None, DayOrder::DayFirst).is_some()
        && !(text.len() <= 7 && text.chars().all(|c| c.is_ascii_digit() || c == '-'))
}

/// What `block` holds, looking at no more than [`BLOCK_VISITS`] nodes; `budget` is what
/// the page has left.
fn traits(block: ElementRef<'_>, budget: &mut usize) -> Traits {
    let mut t = Traits::default();
    for node in block.descendants().skip(1).take(BLOCK_VISITS) {
        *budget = budget.saturating_sub(1);
        if *budget == 0 {
            break;
        }
        if let Some(text) = node.value().as_text() {
            if !t.text_date && reads_as_date(text) {
                t.text_date = true;
            }
            continue;
        }
        let Some(el) = ElementRef::wrap(node) else {
            continue;
        };
        let v = el.value();
        match v.name() {
            "a" => {
                let href = v.attr("href").unwrap_or_default().trim();
                if !href.is_empty() && !href.starts_with('#') && !href.starts_with("javascript:") {
                    t.link = true;
                }
            }
            "time" => {
                t.time = true;
                t.time_datetime |= v.attr("datetime").is_some();
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" if t.heading.is_none() => {
                t.heading = ["h1", "h2", "h3", "h4", "h5", "h6"]
                    .into_iter()
                    .find(|h| *h == v.name());
            }
            _ => {}
        }
        for class in classes(&el) {
            let lower = class.to_ascii_lowercase();
            if t.date_class.is_none()
                && DATE_WORDS.iter().any(|w| lower.contains(w))
                && reads_as_date(&el.text().take(8).collect::<String>())
            {
                t.date_class = Some(format!(".{class}"));
            }
            if t.title_class.is_none() && lower.contains("title") {
                t.title_class = Some(format!(".{class}"));
            }
        }
    }
    t
}

/// How well a set of blocks looks like a list of posts: 3 when most carry a heading, a
/// link and a date, 2 a link and a date, 1 a heading and a link, 0 a link; `None` when
/// most carry no link at all.
fn tier(traits: &[Traits]) -> Option<u8> {
    let most =
        |f: &dyn Fn(&Traits) -> bool| traits.iter().filter(|t| f(t)).count() * 2 >= traits.len();
    if !most(&|t| t.link) {
        None
    } else if most(&|t| t.link && t.heading.is_some() && t.dated()) {
        Some(3)
    } else if most(&|t| t.link && t.dated()) {
        Some(2)
    } else if most(&|t| t.link && t.heading.is_some()) {
        Some(1)
    } else {
        Some(0)
    }
}

/// Every set of at least two same-tag siblings (narrowed to their most shared class),
/// judged.
fn candidates(doc: &Html) -> Vec<Candidate<'_>> {
    let mut budget = MAX_VISITS;
    let mut found = Vec::new();
    for parent in doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        if budget == 0 {
            break;
        }
        let mut by_tag: HashMap<&str, Vec<ElementRef<'_>>> = HashMap::new();
        for child in parent.children().filter_map(ElementRef::wrap) {
            let name = child.value().name();
            if !matches!(name, "script" | "style" | "template" | "option" | "br") {
                by_tag.entry(name).or_default().push(child);
            }
        }
        let mut tags: Vec<_> = by_tag.into_iter().filter(|(_, m)| m.len() >= 2).collect();
        tags.sort_by_key(|(tag, _)| *tag);
        for (tag, members) in tags {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for m in &members {
                for c in classes(m).collect::<HashSet<_>>() {
                    *counts.entry(c).or_default() += 1;
                }
            }
            // The class most blocks share (the shortest, then the first alphabetically).
            let class = counts
                .into_iter()
                .filter(|(_, n)| *n >= 2)
                .max_by(|(a, n), (b, m)| n.cmp(m).then(b.len().cmp(&a.len())).then(b.cmp(a)))
                .map(|(c, _)| c.to_string());
            let members: Vec<ElementRef<'_>> = match &class {
                Some(c) => members
                    .into_iter()
                    .filter(|m| m.value().classes().any(|x| x == c))
                    .collect(),
                None => members,
            };
            let traits: Vec<Traits> = members
                .iter()
                .take(SAMPLE)
                .map(|m| traits(*m, &mut budget))
                .collect();
            let Some(tier) = tier(&traits) else {
                continue;
            };
            let furniture = members.iter().take(1).any(is_furniture)
                || std::iter::successors(Some(parent), |p| p.parent().and_then(ElementRef::wrap))
                    .any(|a| is_furniture(&a));
            found.push(Candidate {
                parent,
                tag: tag.to_string(),
                class,
                members,
                traits,
                tier,
                furniture,
            });
        }
    }
    found
}

/// The selectors tried for `c`'s blocks, simplest first.
fn selectors(c: &Candidate<'_>) -> Vec<String> {
    let own = match &c.class {
        Some(class) => vec![format!(".{class}"), format!("{}.{class}", c.tag)],
        None => vec![c.tag.clone()],
    };
    let last = own.first().cloned().unwrap_or_else(|| c.tag.clone());
    let mut out = own;
    let ancestors =
        std::iter::successors(Some(c.parent), |p| p.parent().and_then(ElementRef::wrap))
            .take(ANCESTORS);
    for (depth, a) in ancestors.enumerate() {
        let mut names: Vec<String> = a
            .value()
            .id()
            .filter(|id| stable(id))
            .map(|id| format!("#{id}"))
            .into_iter()
            .collect();
        names.extend(classes(&a).map(|class| format!(".{class}")));
        if names.is_empty() && depth == 0 {
            names.push(a.value().name().to_string());
        }
        for name in names {
            if depth == 0 {
                out.push(format!("{name} > {last}"));
            }
            out.push(format!("{name} {last}"));
        }
    }
    out
}

/// The first of `c`'s selectors that picks exactly its blocks, else the one picking the
/// fewest others.
fn item_selector(doc: &Html, c: &Candidate<'_>) -> String {
    let wanted: HashSet<NodeId> = c.members.iter().map(|m| m.id()).collect();
    let mut best: Option<(usize, String)> = None;
    for css in selectors(c) {
        let Ok(sel) = Selector::parse(&css) else {
            continue;
        };
        let picked: HashSet<NodeId> = doc
            .select(&sel)
            .map(|e| e.id())
            .take(wanted.len() * 4 + 1)
            .collect();
        if !wanted.iter().all(|id| picked.contains(id)) {
            continue;
        }
        if picked.len() == wanted.len() {
            return css;
        }
        if best.as_ref().is_none_or(|(n, _)| picked.len() < *n) {
            best = Some((picked.len(), css));
        }
    }
    best.map_or_else(|| c.tag.clone(), |(_, css)| css)
}

/// The value most blocks give (first seen on ties).
fn most_common<T: Clone + PartialEq>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: Vec<(T, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(x, _)| *x == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    let top = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == top).map(|(v, _)| v)
}

fn quoted(text: &str) -> String {
    toml_edit::Value::from(text).to_string().trim().to_string()
}

/// `text` on one short line fit for a comment.
fn comment_text(text: &str) -> String {
    let line: String = crate::ingest::normalize::one_line(text)
        .chars()
        .filter(|&c| !(is_direction_mark(c) || matches!(c, '\u{200b}'..='\u{200d}')))
        .collect();
    match line.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// A `[source.scrape]` draft for a page without a feed: the repeated blocks that look
/// most like posts, their heading, link and date.
pub fn starter_rule(html: &str) -> String {
    let doc = crate::ingest::scrape::parse_page(html);
    let found = candidates(&doc);
    let Some(best) = found.iter().max_by_key(|c| c.rank()) else {
        return format!(
            "# No repeated blocks with links were found: write the selectors by hand.\n\
             [source.scrape]\nitem = \".views-row\"\ntitle = \"h2\"\n\
             link = {{ selector = \"h2 a, a\", attr = \"href\" }}\n{NO_DATE}# summary = \"p\"\n# image = \"img\"\n"
        );
    };
    let item = item_selector(&doc, best);
    let heading = most_common(best.traits.iter().filter_map(|t| t.heading));
    let title = heading
        .map(str::to_string)
        .or_else(|| most_common(best.traits.iter().filter_map(|t| t.title_class.clone())))
        .unwrap_or_else(|| "a".to_string());
    let link = match heading {
        Some(h) => format!("{h} a, a"),
        None => "a".to_string(),
    };
    let date = if best.traits.iter().any(|t| t.time_datetime) {
        "date = { selector = \"time\", attr = \"datetime\" }\n".to_string()
    } else if best.traits.iter().any(|t| t.time) {
        "date = \"time\"\n".to_string()
    } else if let Some(class) = most_common(best.traits.iter().filter_map(|t| t.date_class.clone()))
    {
        format!("date = {}\n", quoted(&class))
    } else {
        NO_DATE.to_string()
    };
    let carries = match best.tier {
        3 => "a heading, a link and a date",
        2 => "a link and a date",
        1 => "a heading and a link",
        _ => "a link (no heading or date: check it is not a menu)",
    };
    let first = best
        .members
        .first()
        .and_then(|m| {
            Selector::parse(&title)
                .ok()
                .and_then(|sel| m.select(&sel).next())
        })
        .map(|t| comment_text(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty())
        .map(|t| format!("; the first: {t}"))
        .unwrap_or_default();
    format!(
        "# {} blocks on the page with {carries}{first}\n\
         [source.scrape]\nitem = {}\ntitle = {}\nlink = {{ selector = {}, attr = \"href\" }}\n{date}\
         # summary = \"p\"\n# image = \"img\"\n",
        best.members.len(),
        quoted(&item),
        quoted(&title),
        quoted(&link),
    )
}

const NO_DATE: &str =
    "# date = \".date\"   # or leave out: <time datetime>, og: and JSON-LD dates are found\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_rule_finds_the_repeated_container() {
        let html = r#"<main><div class="views-row"><h3><a href="/a">Uno</a></h3><time datetime="2024-06-03">3 jun</time></div>
            <div class="views-row"><h3><a href="/b">Dos</a></h3></div></main>"#;
        let rule = starter_rule(html);
        assert!(rule.contains("item = \".views-row\""), "{rule}");
        assert!(rule.contains("title = \"h3\""), "{rule}");
        assert!(rule.contains("attr = \"datetime\""), "{rule}");
    }

    #[test]
    fn dated_posts_beat_a_longer_list_of_bare_links_built_alike() {
        let mut side =
            String::from("<div class=\"view view-destacados\"><div class=\"view-content\">");
        for i in 0..10 {
            side.push_str(&format!(
                "<div class=\"views-row\"><a href=\"/destacado/{i}\">Destacado {i}</a></div>"
            ));
        }
        side.push_str("</div></div>");
        let mut main =
            String::from("<div class=\"view view-noticias\"><div class=\"view-content\">");
        for i in 1..=6 {
            main.push_str(&format!(
                "<div class=\"views-row\"><h3><a href=\"/noticia/{i}\">Noticia {i}</a></h3>\
                 <span class=\"fecha\">{i} de junio de 2024</span><p>Texto.</p></div>"
            ));
        }
        main.push_str("</div></div>");
        let rule = starter_rule(&format!("<body>{side}{main}</body>"));
        assert!(
            rule.contains("item = \".view-noticias .views-row\""),
            "{rule}"
        );
        assert!(rule.contains("date = \".fecha\""), "{rule}");
        assert!(
            rule.starts_with(
                "# 6 blocks on the page with a heading, a link and a date; the first: Noticia 1\n"
            ),
            "{rule}"
        );
    }

    #[test]
    fn a_long_list_is_counted_whole_beside_a_longer_menu() {
        let row = "<div class=\"nota\"><h2><a href=\"/n\">Nota</a></h2><span>3 de junio de 2024</span></div>";
        let html = format!(
            "<main>{}</main><ul>{}</ul>",
            row.repeat(20_000),
            "<li><a href=\"/m\">Menú</a></li>".repeat(20_000)
        );
        let rule = starter_rule(&html);
        assert!(
            rule.starts_with("# 20000 blocks on the page with a heading, a link and a date"),
            "{rule}"
        );
        assert!(rule.contains("item = \".nota\""), "{rule}");
    }

    #[test]
    fn dates_are_days_not_years() {
        for yes in [
            "3 de junio de 2024",
            "03/06/2024",
            "June 3, 2024",
            "2024-06-03",
        ] {
            assert!(reads_as_date(yes), "{yes}");
        }
        for no in [
            "2024",
            "Informe anual 2023",
            "Archivo",
            "2024-06",
            "Tel. 951 123 4567",
        ] {
            assert!(!reads_as_date(no), "{no}");
        }
    }
}
