//! Turns a news page without a feed into [`RawItem`]s using the source's CSS rules.
//!
//! Pure: HTML text and rules in, items out. A rule that matches nothing is an error for the
//! source, never an empty success, so a redesigned partner site is noticed. When no date rule
//! is given (or it finds nothing parsable) the date comes from the markup sites already
//! publish for machines: `<time datetime>`, `itemprop="datePublished"`, the
//! `article:published_time` / `og:` meta tags, or JSON-LD `datePublished`. With
//! `follow = true` the fetch run fetches each item's own page and [`enrich_from_page`] takes
//! its full text (the `content` rule) and, if still missing, its date.
//!
//! Pages are read up to [`MAX_PAGE_TAGS`] tags and a bounded depth ([`parse_page`]), and a
//! `<base href>` counts only when it is http(s): a page cannot turn its links into `file:`
//! paths.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use crate::config::{Extract, ScrapeRules};
use crate::ingest::date::{self, DayOrder};
use crate::ingest::item::RawItem;

/// Why a page could not be scraped.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The item selector found nothing: the site changed or the rule is wrong.
    #[error("selector `{selector}` matched 0 elements on {url}")]
    NoItems {
        /// The item selector as written in feeds.toml.
        selector: String,
        /// The page it was applied to.
        url: String,
    },
}

/// Applies `rules` to the page at `base`; numeric dates read day-first.
pub fn scrape_page(
    html: &str,
    base: &Url,
    rules: &ScrapeRules,
    tz: Tz,
) -> Result<Vec<RawItem>, ScrapeError> {
    scrape_page_with(html, base, rules, tz, DayOrder::DayFirst)
}

/// [`scrape_page`] with the source's day/month order.
pub fn scrape_page_with(
    html: &str,
    base: &Url,
    rules: &ScrapeRules,
    tz: Tz,
    order: DayOrder,
) -> Result<Vec<RawItem>, ScrapeError> {
    let doc = parse_page(html);
    let page_base = document_base(&doc, base);
    let ctx = Ctx {
        base: &page_base,
        rules,
        tz,
        order,
    };
    let items: Vec<RawItem> = doc
        .select(&rules.item)
        .filter_map(|el| ctx.item(el))
        .collect();
    if items.is_empty() {
        return Err(ScrapeError::NoItems {
            selector: rules.item_css.clone(),
            url: base.to_string(),
        });
    }
    Ok(items)
}

/// Completes `item` from its own page (fetched by `ingest::follow` when `follow = true`): the
/// `content` rule's HTML becomes the item's content, and a missing date is looked for in
/// the page's machine-readable markup.
pub fn enrich_from_page(
    item: &mut RawItem,
    html: &str,
    page_url: &Url,
    rules: &ScrapeRules,
    tz: Tz,
    order: DayOrder,
) {
    let doc = parse_page(html);
    let root = doc.root_element();
    if let Some(rule) = &rules.content
        && let Some(found) = root.select(&rule.selector).next()
    {
        let html = match &rule.attr {
            Some(attr) => found
                .value()
                .attr(attr)
                .map(crate::html::escape::escape)
                .unwrap_or_default(),
            None => found.inner_html(),
        };
        if !html.trim().is_empty() {
            item.content = Some(html);
            item.base = Some(page_url.clone());
        }
    }
    if item.published.is_none() {
        item.published = rules
            .date
            .as_ref()
            .and_then(|rule| {
                let text = extract(root, rule)?;
                date::parse(
                    &text,
                    tz,
                    rule.format.as_deref(),
                    rule.order.unwrap_or(order),
                )
            })
            .or_else(|| machine_date(root, tz));
    }
    if item.title.is_none() {
        item.title = meta(root, &OG_TITLE);
    }
}

struct Ctx<'a> {
    base: &'a Url,
    rules: &'a ScrapeRules,
    tz: Tz,
    order: DayOrder,
}

/// A selector written in the code (never from users' config).
pub(crate) fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|_| unreachable!("constant selector {css}"))
}

/// Tags of a page read; the rest is cut. News lists and articles have a few thousand; each
/// tag costs about 150 bytes in the parsed tree, so 15 MiB of `<p>` (five million tags)
/// would take most of a gigabyte.
pub const MAX_PAGE_TAGS: usize = 200_000;

/// Parses a fetched page, at most [`MAX_PAGE_TAGS`] tags of it and never deeper than
/// [`crate::html::dom::MAX_OPEN_ELEMENTS`].
pub(crate) fn parse_page(html: &str) -> Html {
    crate::html::dom::document(crate::ingest::normalize::cap_markup(html, MAX_PAGE_TAGS))
}

/// What a page's relative links resolve against: its http(s) `<base href>`, else `base`.
pub(crate) fn document_base(doc: &Html, base: &Url) -> Url {
    doc.select(&BASE_SELECTOR)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| base.join(href.trim()).ok())
        .filter(|b| matches!(b.scheme(), "http" | "https"))
        .unwrap_or_else(|| base.clone())
}

static BASE_SELECTOR: std::sync::LazyLock<Selector> =
    std::sync::LazyLock::new(|| selector("base[href]"));
static TIME: std::sync::LazyLock<Selector> = std::sync::LazyLock::new(|| {
    selector(
        "time[datetime], [itemprop=datePublished][datetime], [itemprop=datePublished][content]",
    )
});
static PUBLISHED_META: std::sync::LazyLock<Selector> = std::sync::LazyLock::new(|| {
    selector(
        "meta[property='article:published_time'], meta[name='article:published_time'], \
         meta[property='og:published_time'], meta[name='date'], meta[name='dc.date'], \
         meta[name='DC.date'], meta[property='og:updated_time'], meta[property='article:modified_time']",
    )
});
static JSON_LD: std::sync::LazyLock<Selector> =
    std::sync::LazyLock::new(|| selector("script[type='application/ld+json']"));
static OG_TITLE: std::sync::LazyLock<Selector> =
    std::sync::LazyLock::new(|| selector("meta[property='og:title']"));

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

fn meta(el: ElementRef<'_>, sel: &Selector) -> Option<String> {
    el.select(sel)
        .find_map(|m| m.value().attr("content"))
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
}

/// A date from markup meant for machines, in order of how reliable it usually is.
fn machine_date(el: ElementRef<'_>, tz: Tz) -> Option<DateTime<Utc>> {
    let parse = |s: &str| date::parse(s, tz, None, DayOrder::DayFirst);
    el.select(&TIME)
        .filter_map(|t| t.value().attr("datetime").or(t.value().attr("content")))
        .find_map(parse)
        .or_else(|| {
            el.select(&PUBLISHED_META)
                .filter_map(|m| m.value().attr("content"))
                .find_map(parse)
        })
        .or_else(|| {
            el.select(&JSON_LD).find_map(|script| {
                let text: String = script.text().collect();
                let value: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
                json_ld_date(&value, 0).and_then(|s| parse(&s))
            })
        })
}

/// `datePublished` anywhere in a JSON-LD document (top level, `@graph`, arrays).
fn json_ld_date(value: &serde_json::Value, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    match value {
        serde_json::Value::Object(map) => map
            .get("datePublished")
            .and_then(|d| d.as_str().map(str::to_string))
            .or_else(|| map.values().find_map(|v| json_ld_date(v, depth + 1))),
        serde_json::Value::Array(list) => list.iter().find_map(|v| json_ld_date(v, depth + 1)),
        _ => None,
    }
}

/// An image URL: `attr` when given, else `src`, `data-src` or the first `srcset` entry.
fn image(el: ElementRef<'_>, rule: &Extract) -> Option<String> {
    let found = el.select(&rule.selector).next()?;
    let v = found.value();
    let raw = match &rule.attr {
        Some(attr) => v.attr(attr),
        None => v
            .attr("src")
            .filter(|s| !s.trim().is_empty() && !s.starts_with("data:"))
            .or_else(|| v.attr("data-src"))
            .or_else(|| {
                v.attr("srcset")
                    .and_then(|s| s.split(',').next())
                    .and_then(|s| s.split_whitespace().next())
            }),
    }?;
    Some(raw.trim().to_string()).filter(|s| !s.is_empty())
}

impl Ctx<'_> {
    fn item(&self, el: ElementRef<'_>) -> Option<RawItem> {
        let rules = self.rules;
        let title = extract(el, &rules.title);
        let link = extract(el, &rules.link).and_then(|l| self.base.join(&l).ok());
        if title.is_none() && link.is_none() {
            return None;
        }
        let published = rules
            .date
            .as_ref()
            .and_then(|rule| {
                let text = extract(el, rule)?;
                date::parse(
                    &text,
                    self.tz,
                    rule.format.as_deref(),
                    rule.order.unwrap_or(self.order),
                )
            })
            .or_else(|| machine_date(el, self.tz));
        let mut summary = rules.summary.as_ref().and_then(|rule| match &rule.attr {
            Some(_) => extract(el, rule).map(|t| crate::html::escape::escape(&t)),
            None => el.select(&rule.selector).next().map(|s| s.inner_html()),
        });
        // The picture leads the summary; the sanitizer keeps `<img>` with a resolved `src`.
        if let Some(src) = rules.image.as_ref().and_then(|rule| image(el, rule))
            && let Ok(url) = self.base.join(&src)
        {
            let alt = title
                .as_deref()
                .map(crate::html::escape::escape)
                .unwrap_or_default();
            let img = format!(
                "<p><img src=\"{}\" alt=\"{alt}\"></p>",
                crate::html::escape::escape(url.as_str())
            );
            summary = Some(img + summary.as_deref().unwrap_or_default());
        }
        let content = match (&rules.content, rules.follow) {
            (Some(rule), false) => el.select(&rule.selector).next().map(|c| match &rule.attr {
                Some(attr) => crate::html::escape::escape(c.value().attr(attr).unwrap_or_default()),
                None => c.inner_html(),
            }),
            _ => None,
        };
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
            content,
            published,
            updated: None,
            categories: Vec::new(),
            base: Some(self.base.clone()),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_rules: &str) -> ScrapeRules {
        let text = format!(
            "[newsletter]\ntitle = \"B\"\nfrom = \"b@example.org\"\n[[section]]\nid = \"n\"\ntitle = \"N\"\n\
             [[source]]\nid = \"p\"\nname = \"P\"\nurl = \"https://cdh.example.org/\"\nsection = \"n\"\nkind = \"page\"\n\
             [source.scrape]\n{toml_rules}"
        );
        match crate::config::parse(&text, std::path::Path::new("/tmp/feeds.toml")) {
            Ok(cfg) => match &cfg.sources[0].kind {
                crate::config::SourceKind::Page(r) => (**r).clone(),
                crate::config::SourceKind::Feed => unreachable!(),
            },
            Err(e) => panic!("{e}"),
        }
    }

    const MX: Tz = chrono_tz::America::Mexico_City;

    fn base() -> Url {
        Url::parse("https://cdh.example.org/noticias/").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn drupal_views_with_image_attribute_and_date_format() {
        let html = r#"<html><body><div class="view">
          <div class="views-row"><h3><a href="/nota/1">Desplazamiento en Chiapas</a></h3>
            <span class="fecha">lunes, 3 de junio de 2024</span>
            <img class="thumb" data-src="/files/chiapas.jpg">
            <div class="resumen"><p>Familias tsotsiles…</p></div></div>
          <div class="views-row"><h3><a href="/nota/2">Informe anual</a></h3>
            <span class="fecha" data-ts="2024/05/30">30/05/2024</span></div>
        </div></body></html>"#;
        let r = rules(
            "item = \".views-row\"\ntitle = \"h3\"\nlink = { selector = \"h3 a\", attr = \"href\" }\n\
             date = \".fecha\"\nsummary = \".resumen\"\nimage = { selector = \"img.thumb\", attr = \"data-src\" }\n",
        );
        let items = scrape_page(html, &base(), &r, MX).map_err(|e| e.to_string());
        let items = items.as_deref().unwrap_or_default();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].link.as_deref(),
            Some("https://cdh.example.org/nota/1")
        );
        assert_eq!(
            items[0].published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-06-03T06:00:00+00:00")
        );
        let summary = items[0].summary.as_deref().unwrap_or_default();
        assert!(
            summary.starts_with("<p><img src=\"https://cdh.example.org/files/chiapas.jpg\""),
            "{summary}"
        );
        assert_eq!(
            items[1].published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-05-30T06:00:00+00:00")
        );

        let r = rules(
            "item = \".views-row\"\ntitle = \"h3\"\nlink = { selector = \"h3 a\", attr = \"href\" }\n\
             date = { selector = \".fecha\", attr = \"data-ts\", format = \"%Y/%m/%d\" }\n",
        );
        let items = scrape_page(html, &base(), &r, MX).map_err(|e| e.to_string());
        let dates: Vec<_> = items
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|i| i.published.map(|d| d.date_naive().to_string()))
            .collect();
        assert_eq!(dates, vec![None, Some("2024-05-30".to_string())]);
    }

    #[test]
    fn dates_found_without_a_rule() {
        let html = r#"<ul><li class="n"><a href="a">Uno</a><time datetime="2024-06-03T10:00:00-06:00">3 jun</time></li>
          <li class="n"><a href="b">Dos</a><span itemprop="datePublished" content="2024-06-04">4 jun</span></li>
          <li class="n"><a href="c">Tres</a><script type="application/ld+json">{"@graph":[{"@type":"NewsArticle","datePublished":"2024-06-05T09:00:00Z"}]}</script></li>
          <li class="n"><a href="d">Cuatro</a></li></ul>"#;
        let r =
            rules("item = \"li.n\"\ntitle = \"a\"\nlink = { selector = \"a\", attr = \"href\" }\n");
        let items = scrape_page(html, &base(), &r, MX).map_err(|e| e.to_string());
        let dates: Vec<_> = items
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|i| i.published.map(|d| d.to_rfc3339()))
            .collect();
        assert_eq!(
            dates,
            vec![
                Some("2024-06-03T16:00:00+00:00".to_string()),
                Some("2024-06-04T06:00:00+00:00".to_string()),
                Some("2024-06-05T09:00:00+00:00".to_string()),
                None
            ]
        );
    }

    #[test]
    fn a_base_href_that_is_not_http_is_ignored() {
        let r =
            rules("item = \"li\"\ntitle = \"a\"\nlink = { selector = \"a\", attr = \"href\" }\n");
        for base_href in ["file:///etc/", "javascript:alert(1)//", "data:text/html,x/"] {
            let html = format!(
                "<html><head><base href=\"{base_href}\"></head><body><ul><li><a href=\"hostname\">Uno</a></li></ul></body></html>"
            );
            let items = scrape_page(&html, &base(), &r, MX).map_err(|e| e.to_string());
            let link = items
                .ok()
                .and_then(|i| i.first().and_then(|i| i.link.clone()));
            assert_eq!(
                link.as_deref(),
                Some("https://cdh.example.org/noticias/hostname"),
                "{base_href}"
            );
        }
        let html = "<base href=\"https://espejo.example.org/es/\"><ul><li><a href=\"nota\">Uno</a></li></ul>";
        let items = scrape_page(html, &base(), &r, MX).map_err(|e| e.to_string());
        let link = items
            .ok()
            .and_then(|i| i.first().and_then(|i| i.link.clone()));
        assert_eq!(link.as_deref(), Some("https://espejo.example.org/es/nota"));
    }

    #[test]
    fn zero_matches_is_an_error_naming_selector_and_url() {
        let r = rules("item = \".views-row\"\ntitle = \"h3\"\nlink = \"a\"\n");
        let err = scrape_page("<p>Sitio en mantenimiento</p>", &base(), &r, MX)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("selector `.views-row` matched 0 elements on https://cdh.example.org/noticias/")
        );
    }

    #[test]
    fn followed_page_gives_content_and_meta_date() {
        let r = rules(
            "item = \"li\"\ntitle = \"a\"\nlink = { selector = \"a\", attr = \"href\" }\n\
             content = \"article .cuerpo\"\nfollow = true\n",
        );
        let mut item = RawItem {
            title: Some("Uno".into()),
            ..RawItem::default()
        };
        let page = r#"<html><head><meta property="article:published_time" content="2024-06-03T12:00:00-06:00"></head>
            <body><article><div class="cuerpo"><p>Texto completo con <a href="/x">enlace</a>.</p></div></article></body></html>"#;
        let url = Url::parse("https://cdh.example.org/nota/1").unwrap_or_else(|_| unreachable!());
        enrich_from_page(&mut item, page, &url, &r, MX, DayOrder::DayFirst);
        assert_eq!(
            item.content.as_deref().map(str::trim),
            Some("<p>Texto completo con <a href=\"/x\">enlace</a>.</p>")
        );
        assert_eq!(
            item.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-06-03T18:00:00+00:00")
        );
    }
}
