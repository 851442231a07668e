//! `boletin serve` — one-click unsubscribe (RFC 8058) and the web archive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use crate::common::Scratch;
use crate::delivery::{command, edition, header, import, run, setup, world};

/// `boletin serve --listen 127.0.0.1:0`, killed when dropped.
struct Serve {
    child: Child,
    addr: String,
}

impl Serve {
    fn start(s: &Scratch) -> Serve {
        let mut child = command(s, &["--json", "serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut text = String::new();
        // The JSON object spans a few lines; read up to its closing brace.
        while !text.trim_end().ends_with('}') {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("serve exited: {text}");
            }
            text.push_str(&line);
        }
        let j: serde_json::Value = serde_json::from_str(&text).unwrap();
        let addr = j["listening"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://")
            .to_string();
        Serve { child, addr }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    head: String,
    body: String,
}

/// A minimal HTTP/1.1 client: one request, `Connection: close`.
fn http(addr: &str, method: &str, target: &str, body: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    Response {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// The path and query of the https unsubscribe URL in a message.
fn unsubscribe_target(raw: &str) -> String {
    let v = header(raw, "List-Unsubscribe").unwrap();
    let url = &v[1..v.find('>').unwrap()];
    url.trim_start_matches("http://127.0.0.1:8080").to_string()
}

#[test]
fn one_click_unsubscribes_and_the_next_edition_skips_the_address() {
    let (_tmp, smtp, s) = world(0, 0.0, "");
    import(&s, 8, &[]);
    run(&s, &["send", "editions/2026-W47.toml"]).ok();
    let messages = smtp.messages();
    let find = |who: &str| {
        messages
            .iter()
            .find(|(r, _)| r == who)
            .map(|(_, raw)| unsubscribe_target(raw))
            .unwrap()
    };
    let es = find("lector001@example.org");
    let en = find("lector003@example.org");
    let serve = Serve::start(&s);

    // GET only asks, in the subscriber's language.
    let page = http(&serve.addr, "GET", &es, "");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("lang=\"es\""), "{}", page.body);
    assert!(
        page.body.contains("Cancelar mi suscripción"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("name=\"List-Unsubscribe\" value=\"One-Click\"")
    );
    assert!(
        page.head.contains("Referrer-Policy: no-referrer"),
        "{}",
        page.head
    );
    let page_en = http(&serve.addr, "GET", &en, "");
    assert!(page_en.body.contains("Unsubscribe me"), "{}", page_en.body);
    let list = run(&s, &["subscribers", "count"]).ok();
    assert!(
        list.stdout.starts_with("8 active"),
        "GET must not unsubscribe: {}",
        list.stdout
    );

    // Forged and altered tokens: one generic answer that names nobody.
    let mut altered = es.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let forged = http(&serve.addr, "POST", &altered, "List-Unsubscribe=One-Click");
    let garbage = http(
        &serve.addr,
        "GET",
        "/unsubscribe?token=1.AAAAAAAAAAAAAAAAAAAAAA",
        "",
    );
    let missing = http(&serve.addr, "GET", "/unsubscribe", "");
    assert_eq!(
        (forged.status, garbage.status, missing.status),
        (400, 400, 400)
    );
    assert_eq!(forged.body, garbage.body);
    assert_eq!(garbage.body, missing.body);
    assert!(!forged.body.contains("lector"), "{}", forged.body);
    assert!(
        run(&s, &["subscribers", "count"])
            .ok()
            .stdout
            .starts_with("8 active")
    );

    // RFC 8058 one-click: POST, 200, no redirect, no login.
    let done = http(&serve.addr, "POST", &es, "List-Unsubscribe=One-Click");
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(!done.head.to_ascii_lowercase().contains("\r\nlocation:"));
    assert!(done.body.contains("Suscripción cancelada"), "{}", done.body);
    let c = run(&s, &["--json", "subscribers", "count"]).ok().json();
    assert_eq!(
        (c["active"].as_u64(), c["unsubscribed"].as_u64()),
        (Some(7), Some(1))
    );
    // Clicking again is harmless.
    assert_eq!(
        http(&serve.addr, "POST", &es, "List-Unsubscribe=One-Click").status,
        200
    );

    // The next edition skips the address.
    let w48 = edition(&s, "2026-W48", 48, "2026-11-28");
    let r = run(&s, &["--json", "send", &w48]).ok().json();
    assert_eq!(r["sent"], 7, "{r}");
    let w48_for = |who: &str| {
        smtp.messages()
            .iter()
            .filter(|(r, raw)| {
                r == who && header(raw, "Message-ID").unwrap().contains(".2026-W48@")
            })
            .count()
    };
    assert_eq!(w48_for("lector001@example.org"), 0);
    assert_eq!(w48_for("lector003@example.org"), 1);
}

#[test]
fn serves_the_archive_and_nothing_outside_it() {
    // Serving the archive needs no mail server (port 9: nothing listens there).
    let s = setup(9, "");
    run(
        &s,
        &[
            "compose",
            "--since",
            "7d",
            "--now",
            "2026-11-21",
            "--out",
            "out",
        ],
    )
    .ok();
    s.write(
        "out/2026-W47/index.html",
        "<!DOCTYPE html><title>Boletín 47</title><p>Edición 47</p>",
    );
    let serve = Serve::start(&s);
    let page = http(&serve.addr, "GET", "/newsletter.html", "");
    assert_eq!(page.status, 200);
    assert!(
        page.head.contains("Content-Type: text/html; charset=utf-8"),
        "{}",
        page.head
    );
    assert!(
        page.body.contains("Boletín Solidaridad"),
        "served the composed digest"
    );
    let edition = http(&serve.addr, "GET", "/2026-W47/", "");
    assert!(edition.body.contains("Edición 47"), "{}", edition.body);
    assert_eq!(http(&serve.addr, "GET", "/2026-W47", "").status, 301);
    for bad in [
        "/../feeds.toml",
        "/%2e%2e/feeds.toml",
        "/..%2ffeeds.toml",
        "/nada.html",
    ] {
        assert_eq!(http(&serve.addr, "GET", bad, "").status, 404, "{bad}");
    }
    assert_eq!(
        http(&serve.addr, "DELETE", "/newsletter.html", "").status,
        405
    );
}
