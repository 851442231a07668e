//! URL cleaning for content: resolving against an item's base, allowed schemes, tracking
//! parameters and open-tracking images, `srcset` lists, and player URLs turned into the
//! page they play. The sanitizer applies it to every URL in partner HTML; normalize strips
//! tracking from item links. Pure.

use ::url::Url;

/// Query parameters that only track the reader.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "_hsenc",
    "_hsmi",
    "__hssc",
    "__hstc",
    "__hsfp",
    "hsctatracking",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "vero_conv",
    "ref_src",
    "s_cid",
    "wt_mc",
    "wt.mc_id",
    "__twitter_impression",
    "_ga",
    "_gl",
    "ga_source",
    "ga_medium",
    "ga_campaign",
    "ga_term",
    "ga_content",
    "cmpid",
    "ncid",
    "sr_share",
    "ocid",
    "rb_clickid",
    "ttclid",
    "twclid",
    "li_fat_id",
    "epik",
    "pk_campaign",
    "pk_kwd",
    "pk_source",
    "pk_medium",
    "mtm_campaign",
    "mtm_source",
    "mtm_medium",
    "spm",
];

/// Hosts whose images are only there to count opens.
const TRACKER_HOSTS: &[&str] = &[
    "pixel.wp.com",
    "stats.wp.com",
    "stats.wordpress.com",
    "feeds.feedburner.com",
    "feedproxy.google.com",
    "www.google-analytics.com",
    "google-analytics.com",
    "ssl.google-analytics.com",
    "www.googletagmanager.com",
    "stats.g.doubleclick.net",
    "ad.doubleclick.net",
    "www.facebook.com",
    "pixel.quantserve.com",
    "mc.yandex.ru",
    "sb.scorecardresearch.com",
    "b.scorecardresearch.com",
    "pixel.mathtag.com",
    "t.co",
    "bat.bing.com",
    "px.ads.linkedin.com",
    "ct.pinterest.com",
    "analytics.twitter.com",
];

/// Whether a query parameter only tracks the reader.
pub fn is_tracking_param(name: &str) -> bool {
    let k = name.to_ascii_lowercase();
    k.starts_with("utm_") || TRACKING_PARAMS.contains(&k.as_str())
}

/// Removes tracking parameters (utm_*, fbclid, gclid, mc_cid, …) from `url`.
pub fn strip_tracking(url: &mut Url) {
    if url.query().is_none() {
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking_param(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else if kept.len() != url.query_pairs().count() {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

/// `value` resolved against `base`, kept only if its scheme is in `schemes`, tracking
/// parameters removed.
pub(crate) fn resolve(value: &str, base: &Url, schemes: &[&str]) -> Option<Url> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let mut url = base.join(value).ok()?;
    if !schemes.contains(&url.scheme()) {
        return None;
    }
    if matches!(url.scheme(), "http" | "https") && url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    strip_tracking(&mut url);
    Some(url)
}

/// Schemes whatever loads without a click (images, embeds) may use.
pub(crate) const WEB: &[&str] = &["http", "https"];
/// Schemes a link may use.
pub(crate) const LINKS: &[&str] = &["http", "https", "mailto"];

/// The page a player URL plays: `youtube.com/embed/ID` → `youtube.com/watch?v=ID`,
/// `player.vimeo.com/video/ID` → `vimeo.com/ID`; anything else as is.
pub(crate) fn original_of_embed(url: &Url) -> Url {
    let host = url.host_str().unwrap_or_default();
    let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
    let rewritten = match (host, segments.as_slice()) {
        (
            "www.youtube.com" | "youtube.com" | "www.youtube-nocookie.com" | "youtube-nocookie.com",
            ["embed", id],
        ) if !id.is_empty() => format!("https://www.youtube.com/watch?v={id}"),
        ("player.vimeo.com", ["video", id]) if !id.is_empty() => {
            format!("https://vimeo.com/{id}")
        }
        _ => return url.clone(),
    };
    Url::parse(&rewritten).unwrap_or_else(|_| url.clone())
}

/// Every candidate of a `srcset` resolved, web-only and untracked; `None` when none is.
pub(crate) fn clean_srcset(srcset: &str, base: &Url) -> Option<String> {
    let mut out = Vec::new();
    for candidate in srcset.split(',') {
        let mut parts = candidate.split_whitespace();
        let Some(url) = parts.next().and_then(|u| resolve(u, base, WEB)) else {
            continue;
        };
        let descriptor: String = parts
            .next()
            .filter(|d| {
                d.len() < 8
                    && d.ends_with(['w', 'x'])
                    && d[..d.len() - 1]
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '.')
            })
            .map(|d| format!(" {d}"))
            .unwrap_or_default();
        // A comma inside a URL would split the list differently when read back.
        if url.as_str().contains(',') {
            continue;
        }
        out.push(format!("{}{descriptor}", url.as_str()));
    }
    (!out.is_empty()).then(|| out.join(", "))
}

/// Images that only count opens: known tracker hosts and open-tracking paths.
pub(crate) fn is_tracker(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let path = url.path().to_ascii_lowercase();
    TRACKER_HOSTS.contains(&host.as_str())
        || host.starts_with("pixel.")
        || host.starts_with("tracking.")
        || path.contains("/pixel")
        || path.ends_with("/open")
        || path.contains("/track/open")
        || path.contains("/wf/open")
        || path.contains("/beacon")
        || path.ends_with("/1x1.gif")
        || path.ends_with("/1x1.png")
        || path.contains("/~r/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://colectivo.example.org/noticias/").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn tracking_parameters_go_and_the_rest_stay() {
        let mut u = Url::parse("https://e.example/nota?UTM_Source=x&id=2&fbclid=y&mc_eid=3")
            .unwrap_or_else(|_| unreachable!());
        strip_tracking(&mut u);
        assert_eq!(u.as_str(), "https://e.example/nota?id=2");
        let mut only = Url::parse("https://e.example/?gclid=1").unwrap_or_else(|_| unreachable!());
        strip_tracking(&mut only);
        assert_eq!(only.as_str(), "https://e.example/");
    }

    #[test]
    fn resolve_keeps_allowed_schemes_only() {
        let r = |v: &str, s: &[&str]| resolve(v, &base(), s).map(|u| u.to_string());
        assert_eq!(
            r(" ../2026/acción?utm_medium=rss ", WEB).as_deref(),
            Some("https://colectivo.example.org/2026/acci%C3%B3n")
        );
        assert_eq!(r("mailto:prensa@colectivo.example.org", WEB), None);
        assert!(r("mailto:prensa@colectivo.example.org", LINKS).is_some());
        assert_eq!(r("javascript:alert(1)", LINKS), None);
        assert_eq!(r("   ", LINKS), None);
    }

    #[test]
    fn srcset_players_and_trackers() {
        assert_eq!(
            clean_srcset(
                "/a.jpg 1x, javascript:x 2x, /d.jpg 600w, /e.jpg 99999999w",
                &base()
            )
            .as_deref(),
            Some(
                "https://colectivo.example.org/a.jpg 1x, https://colectivo.example.org/d.jpg 600w, \
                 https://colectivo.example.org/e.jpg"
            )
        );
        assert_eq!(clean_srcset("javascript:x 1x, vbscript:y", &base()), None);
        let u = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!());
        assert_eq!(
            original_of_embed(&u("https://www.youtube-nocookie.com/embed/abc123")).as_str(),
            "https://www.youtube.com/watch?v=abc123"
        );
        assert_eq!(
            original_of_embed(&u("https://player.vimeo.com/video/42")).as_str(),
            "https://vimeo.com/42"
        );
        assert!(is_tracker(&u("https://pixel.wp.com/g.gif")));
        assert!(is_tracker(&u("https://boletin.example/wf/open?u=1")));
        assert!(!is_tracker(&u(
            "https://colectivo.example.org/fotos/marcha.jpg"
        )));
    }
}
