//! Where an edition points its readers, derived from the config alone: its page in the web
//! archive, the archive's Atom feed, the address that unsubscribes by mail, and the base
//! the editor's relative links resolve against. Pure.

use url::Url;

use crate::config::Config;

/// The public address of an edition's web page: `out/archive/` is published at
/// `archive_url`, so `out/<week>/` is at `archive_url/../<week>/`.
pub fn edition_url(config: &Config, week: &str) -> Option<String> {
    let archive = config.newsletter.archive_url.as_ref()?;
    archive
        .join(&format!("../{week}/"))
        .ok()
        .map(|u| u.to_string())
}

/// The public address of `archive/feed.xml`.
pub fn feed_url(config: &Config) -> Option<String> {
    let archive = config.newsletter.archive_url.as_ref()?;
    archive.join("feed.xml").ok().map(|u| u.to_string())
}

/// The address that unsubscribes by mail: `[delivery] unsubscribe_mailto`, else the
/// sender. Every message lists it in `List-Unsubscribe` beside any personal link.
pub fn unsubscribe_address(config: &Config) -> String {
    config
        .delivery
        .unsubscribe_mailto
        .clone()
        .unwrap_or_else(|| crate::publish::mime::address_of(&config.newsletter.from).to_string())
}

/// Where subscribers unsubscribe when there is no per-subscriber link (compose, preview,
/// the web archive, `send` without `unsubscribe_url`): a mail to [`unsubscribe_address`].
/// (`boletin serve` only answers personal links, so there is no public web page to point to.)
pub fn default_unsubscribe_url(config: &Config) -> String {
    unsubscribe_mailto(&unsubscribe_address(config))
}

/// `mailto:<address>?subject=unsubscribe` (RFC 6068), the address percent-encoded where a
/// URI needs it: a `?`, `&` or `%` in a local part must not add a header or a recipient.
pub fn unsubscribe_mailto(address: &str) -> String {
    let mut uri = String::from("mailto:");
    for b in address.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$'()*+,;:@".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?subject=unsubscribe");
    uri
}

/// The base relative links in the editor's Markdown resolve against: the archive, else
/// the sender's domain.
pub fn link_base(config: &Config) -> Url {
    config.newsletter.archive_url.clone().unwrap_or_else(|| {
        let domain =
            crate::publish::address::address_domain(&config.newsletter.from).unwrap_or("localhost");
        Url::parse(&format!("https://{domain}/"))
            .or_else(|_| Url::parse("https://localhost/"))
            .unwrap_or_else(|_| unreachable!("a constant URL parses"))
    })
}
