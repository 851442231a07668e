//! The domain of an address as the config writes it (`Name <user@domain>` or
//! `user@domain`): what the defaults derived from the sender use (the List-Id, the DKIM
//! domain, the SMTP greeting, the Atom ids of the archive). Reading a whole mailbox is
//! [`crate::publish::mime::mailbox`].

/// The domain of an address written as `Name <user@domain>` or `user@domain`.
pub fn address_domain(from: &str) -> Option<&str> {
    let domain = crate::publish::mime::address_of(from)
        .rsplit_once('@')?
        .1
        .trim();
    (!domain.is_empty()).then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_of_a_named_or_bare_address() {
        assert_eq!(
            address_domain("Boletín Solidaridad <boletin@example.org>"),
            Some("example.org")
        );
        assert_eq!(
            address_domain(" baja@correo.example.mx "),
            Some("correo.example.mx")
        );
        assert_eq!(address_domain("Boletín <boletin@>"), None);
        assert_eq!(address_domain("sin arroba"), None);
    }
}
