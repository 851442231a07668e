//! Property tests over arbitrary input for the feed parser (with its repairs), the
//! element tree, the page scraper, discovery, OPML import and the date parser. None may
//! panic; some properties also check results. `PROPTEST_CASES=200000` makes a long run.

use boletin::ingest::date::{self, DayOrder};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use url::Url;

const MX: chrono_tz::Tz = chrono_tz::America::Mexico_City;

fn base() -> Url {
    Url::parse("https://partner.example.org/feed/").unwrap()
}

/// Pieces of real feeds, so random documents reach deep into the parsers.
const FRAGMENTS: &[&str] = &[
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
    "\u{feff}",
    "<rss version=\"2.0\">",
    "<rss>",
    "</rss>",
    "<channel>",
    "</channel>",
    "<item>",
    "</item>",
    "<title>",
    "</title>",
    "<link>",
    "</link>",
    "<guid isPermaLink=\"false\">",
    "</guid>",
    "<description>",
    "</description>",
    "<pubDate>",
    "</pubDate>",
    "<dc:creator>",
    "</dc:creator>",
    "<content:encoded>",
    "</content:encoded>",
    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"/es/\">",
    "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">",
    "</feed>",
    "<entry>",
    "</entry>",
    "<content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">",
    "</div></content>",
    "<summary type=\"text/html\" mode=\"escaped\">",
    "<summary mode=\"base64\">",
    "</summary>",
    "<author><name>",
    "</name><url>/a</url></author>",
    "<link href=\"../x\" rel=\"alternate\"/>",
    "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">",
    "<!DOCTYPE rss [<!ENTITY e \"&amp;x\">]>",
    "&e;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "&nbsp;",
    "&rsquo;",
    "&aacute;",
    "&#146;",
    "&#226;&#128;&#166;",
    "&#x1F600;",
    "&#0;",
    "&",
    "<",
    ">",
    "\u{1}",
    "\u{92}",
    "á",
    "ñ",
    "lunes, 3 de junio de 2024",
    "Tue, 17 Nov 2026 09:00:00 CST",
    "{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":[{\"id\":\"1\"}]}",
    " ",
    "\n",
];

fn feedish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(FRAGMENTS).prop_map(str::to_string),
            1 => any::<String>(),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

fn scrape_rules() -> boletin::config::ScrapeRules {
    let text = "[newsletter]\ntitle = \"B\"\nfrom = \"b@example.org\"\n[[section]]\nid = \"n\"\ntitle = \"N\"\n\
        [[source]]\nid = \"p\"\nname = \"P\"\nurl = \"https://p.example.org/\"\nsection = \"n\"\nkind = \"page\"\n\
        [source.scrape]\nitem = \"div, li\"\ntitle = \"h3, a\"\nlink = { selector = \"a\", attr = \"href\" }\n\
        date = \".fecha\"\nsummary = \"p\"\nimage = \"img\"\ncontent = \".cuerpo\"\n";
    let cfg = boletin::config::parse(text, std::path::Path::new("/tmp/feeds.toml")).unwrap();
    match &cfg.sources[0].kind {
        boletin::config::SourceKind::Page(r) => (**r).clone(),
        boletin::config::SourceKind::Feed => unreachable!(),
    }
}

proptest! {
    #[test]
    fn feed_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = boletin::ingest::decode::decode(&bytes, None);
        let _ = boletin::ingest::feed::parse::parse_feed(&text, &base(), MX);
    }

    #[test]
    fn feed_parser_never_panics_on_feedish_text(text in feedish()) {
        let source = boletin::config::Source::adhoc(base());
        if let Ok(feed) = boletin::ingest::feed::parse::parse_feed(&text, &base(), MX) {
            prop_assert_eq!(feed.items.len(), feed.details.len());
            let _ = boletin::ingest::inspect::feed_view(&source, feed);
        }
        let repaired = boletin::ingest::feed::repair::repair(&text);
        // No character XML forbids survives the repair.
        let forbidden = repaired
            .chars()
            .any(|c| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}'));
        prop_assert!(!forbidden, "forbidden character left in {:?}", repaired);
        let _ = boletin::ingest::feed::feedxml::parse(&text);
        let _ = boletin::ingest::discover::sniff(&text);
    }

    #[test]
    fn page_scraper_and_discovery_never_panic(html in feedish(), extra in any::<String>()) {
        let html = format!("<div><h3><a href=\"{extra}\">{html}</a></h3><p class=\"fecha\">{extra}</p><img src=\"{extra}\"></div>{html}");
        let rules = scrape_rules();
        let _ = boletin::ingest::scrape::scrape_page(&html, &base(), &rules, MX);
        let mut item = boletin::ingest::item::RawItem::default();
        boletin::ingest::scrape::enrich_from_page(&mut item, &html, &base(), &rules, MX, DayOrder::MonthFirst);
        let _ = boletin::ingest::discover::feed_links(&html, &base());
        let _ = boletin::ingest::discover::starter_rule(&html);
        let _ = boletin::config::opml::import("[newsletter]\ntitle = \"B\"\nfrom = \"b@example.org\"\n", &html, None);
    }

    #[test]
    fn date_parser_never_panics(text in any::<String>(), fmt in proptest::option::of("[%a-zA-Z: /-]{0,12}")) {
        let _ = date::parse(&text, MX, fmt.as_deref(), DayOrder::DayFirst);
        let _ = date::parse(&text, chrono_tz::UTC, None, DayOrder::MonthFirst);
    }

    #[test]
    fn machine_and_spanish_dates_round_trip(secs in 0i64..4_102_444_800) {
        let instant = Utc.timestamp_opt(secs, 0).single().unwrap();
        let rfc2822 = instant.to_rfc2822();
        prop_assert_eq!(date::parse(&rfc2822, MX, None, DayOrder::DayFirst), Some(instant));
        let rfc3339 = instant.to_rfc3339();
        prop_assert_eq!(date::parse(&rfc3339, MX, None, DayOrder::DayFirst), Some(instant));
        // The digest's own long dates, Spanish and English, read back.
        let local = instant.with_timezone(&MX);
        for lang in [boletin::lang::Lang::Es, boletin::lang::Lang::En] {
            let written = boletin::publish::i18n::long_date(local, lang);
            let parsed = date::parse(&written, MX, None, DayOrder::DayFirst)
                .map(|d| d.with_timezone(&MX).date_naive());
            prop_assert_eq!(parsed, Some(local.date_naive()), "{}", written);
        }
    }
}
