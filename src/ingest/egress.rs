//! Which addresses fetched content may send boletin to: http(s) only, and never a
//! loopback, private, link-local or otherwise non-public address unless it is the
//! configured source's own origin. Pure: the fetcher asks before every request and its
//! resolver asks after every name lookup.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

use crate::ingest::fetch::FetchError;

/// Which client a request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The configured origin itself: any address.
    Origin,
    /// Anywhere else: public addresses only.
    Outward,
}

/// Decides whether `url` may be requested for `origin`, and through which client.
pub(crate) fn route(url: &Url, origin: &Url) -> Result<Route, FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Refused(format!(
            "{}: only http(s) addresses may be followed from fetched content",
            shown_url(url)
        )));
    }
    if matches!(origin.scheme(), "http" | "https") && url.origin() == origin.origin() {
        return Ok(Route::Origin);
    }
    // An IP literal is connected to without asking the resolver, so it is checked here.
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) | None => None,
    };
    if let Some(ip) = ip
        && let Some(kind) = inward_kind(ip)
    {
        return Err(refused_address(url, ip, kind));
    }
    Ok(Route::Outward)
}

/// A URL for an error message: no query, and not longer than a line.
pub(crate) fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let text = shown.to_string();
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

pub(crate) fn refused_address(url: &Url, ip: IpAddr, kind: &str) -> FetchError {
    FetchError::Refused(format!(
        "{}: {ip} is {kind} address, and only the source's own address may be one",
        shown_url(url)
    ))
}

/// What kind of non-public address `ip` is, or `None` for an address on the internet.
/// Addresses that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by it.
pub fn inward_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => inward_v4(v4),
        IpAddr::V6(v6) => inward_v6(v6),
    }
}

fn inward_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "an unspecified (0.0.0.0/8)",
        (127, _, _) => "a loopback",
        (10, _, _) | (192, 168, _) => "a private",
        (172, 16..=31, _) => "a private",
        (169, 254, _) => "a link-local",
        (100, 64..=127, _) => "a shared (carrier-grade NAT)",
        (192, 0, 0) => "a reserved (IETF protocol)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation",
        (198, 18..=19, _) => "a benchmarking",
        (224..=239, _, _) => "a multicast",
        (240..=255, _, _) => "a reserved (240.0.0.0/4 or broadcast)",
        _ => return None,
    })
}

fn inward_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("an unspecified");
    }
    if ip.is_loopback() {
        return Some("a loopback");
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated).
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return inward_v4(embedded(s[6], s[7]));
    }
    // NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return inward_v4(embedded(s[6], s[7]));
    }
    // 6to4 (2002::/16) embeds the relay's IPv4 address.
    if s[0] == 0x2002 {
        return inward_v4(embedded(s[1], s[2]));
    }
    Some(match s[0] {
        0xfc00..=0xfdff => "a unique-local",
        0xfe80..=0xfebf => "a link-local",
        0xfec0..=0xfeff => "a site-local",
        0xff00..=0xffff => "a multicast",
        0x0064 if s[1] == 0xff9b => "a local NAT64",
        0x0100 if s[1..4] == [0, 0, 0] => "a discard",
        0x2001 if s[1] == 0x0db8 => "a documentation",
        // Teredo tunnels to whatever IPv4 address the server names.
        0x2001 if s[1] == 0 => "a Teredo",
        _ => return None,
    })
}
