//! Turns a news page without a feed into [`RawItem`]s using the source's CSS rules.
//!
//! Pure: HTML text and rules in, items out. A rule that matches nothing is an error for the
//! source, never an empty success, so a redesigned partner site is noticed.

use chrono_tz::Tz;
use scraper::{ElementRef, Html};
use url::Url;

use crate::config::{Extract, ScrapeRules};
use crate::date::{self, DayOrder};
use crate::item::RawItem;

/// Why a page could not be scraped.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The item selector found nothing: the site changed or the rule is wrong.
    #[error("selector `{selector}` matched 0 elements on {url}")]
    NoItems { selector: String, url: String },
}

/// Applies `rules` to the page at `base`.
pub fn scrape_page(
    html: &str,
    base: &Url,
    rules: &ScrapeRules,
    tz: Tz,
) -> Result<Vec<RawItem>, ScrapeError> {
    let doc = Html::parse_document(html);
    let page_base = doc
        .select(&BASE_SELECTOR)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| base.join(href).ok())
        .unwrap_or_else(|| base.clone());
    let items: Vec<RawItem> = doc
        .select(&rules.item)
        .filter_map(|el| scrape_item(el, &page_base, rules, tz))
        .collect();
    if items.is_empty() {
        return Err(ScrapeError::NoItems {
            selector: rules.item_css.clone(),
            url: base.to_string(),
        });
    }
    Ok(items)
}

static BASE_SELECTOR: std::sync::LazyLock<scraper::Selector> = std::sync::LazyLock::new(|| {
    scraper::Selector::parse("base[href]").unwrap_or_else(|_| unreachable!("constant selector"))
});

fn text_of(el: ElementRef<'_>) -> String {
    el.text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn extract(el: ElementRef<'_>, rule: &Extract) -> Option<String> {
    let found = el.select(&rule.selector).next()?;
    let value = match &rule.attr {
        Some(attr) => found.value().attr(attr)?.trim().to_string(),
        None => text_of(found),
    };
    Some(value).filter(|v| !v.is_empty())
}

fn scrape_item(el: ElementRef<'_>, base: &Url, rules: &ScrapeRules, tz: Tz) -> Option<RawItem> {
    let title = extract(el, &rules.title);
    let link = extract(el, &rules.link).and_then(|l| base.join(&l).ok());
    if title.is_none() && link.is_none() {
        return None;
    }
    let published = rules.date.as_ref().and_then(|rule| {
        let text = extract(el, rule)?;
        date::parse(&text, tz, rule.format.as_deref(), DayOrder::DayFirst)
    });
    let summary = rules.summary.as_ref().and_then(|rule| match &rule.attr {
        Some(_) => extract(el, rule).map(|t| crate::sanitize::escape(&t)),
        None => el.select(&rule.selector).next().map(|s| s.inner_html()),
    });
    let author = rules
        .author
        .as_ref()
        .and_then(|rule| extract(el, rule))
        .map(|a| strip_byline(&a));
    Some(RawItem {
        guid: None,
        link: link.map(String::from),
        title,
        authors: author.into_iter().filter(|a| !a.is_empty()).collect(),
        summary,
        content: None,
        published,
        updated: None,
        categories: Vec::new(),
        base: Some(base.clone()),
    })
}

/// `by Andrea Caraballo` / `por Andrea` → `Andrea Caraballo`.
fn strip_byline(text: &str) -> String {
    let t = text.trim();
    for prefix in ["by ", "By ", "BY ", "por ", "Por ", "POR "] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return rest.trim().to_string();
        }
    }
    t.to_string()
}
