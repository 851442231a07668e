//! `boletin serve` — one-click unsubscribe (RFC 8058) and the web archive — and both
//! servers (`serve`, `preview`) under clients that stall, flood or lie.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::Scratch;
use crate::delivery::{command, edition, header, import, run, setup, world};

/// `boletin serve --listen 127.0.0.1:0` (or `preview`), killed when dropped.
pub struct Serve {
    child: Child,
    pub addr: String,
}

impl Serve {
    pub fn start(s: &Scratch) -> Serve {
        let mut cmd = command(s, &["--json", "serve", "--listen", "127.0.0.1:0"]);
        cmd.stderr(Stdio::inherit());
        Serve::spawn(cmd)
    }

    /// Runs `cmd`, a `--json serve` whose stderr the caller has directed.
    pub fn spawn(mut cmd: std::process::Command) -> Serve {
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
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

    /// `boletin preview editions/2026-W47.toml --port 0`.
    pub fn preview(s: &Scratch) -> Serve {
        let mut child = command(s, &["preview", "editions/2026-W47.toml", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Serve { child, addr }
    }

    /// The server's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// SIGTERM, then the exit status (within `limit`).
    pub fn terminate(mut self, limit: Duration) -> std::process::ExitStatus {
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("still running {limit:?} after SIGTERM");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// A minimal HTTP/1.1 client: one request, `Connection: close`.
pub fn http(addr: &str, method: &str, target: &str, body: &str) -> Response {
    http_with(addr, method, target, &[], body)
}

/// [`http`] with extra header lines (`"Accept-Language: en"`).
pub fn http_with(addr: &str, method: &str, target: &str, headers: &[&str], body: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    // A server that stops answering fails the test instead of hanging it.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
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

/// Sends `request` as it is and reads until the server closes (or 10 s pass).
fn exchange(addr: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

/// `n` connections that send part of a request head and then nothing.
fn stall_headers(addr: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let mut stream = TcpStream::connect(addr).unwrap();
            write!(
                stream,
                "GET /newsletter.html HTTP/1.1\r\nHost: {addr}\r\nX-Lento-{i}: "
            )
            .unwrap();
            stream
        })
        .collect()
}

/// `n` POSTs whose headers promise a body of which a few bytes ever come.
fn stall_bodies(addr: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            write!(
                stream,
                "POST /unsubscribe?token=1.AAAA HTTP/1.1\r\nHost: {addr}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 26\r\n\r\nList-"
            )
            .unwrap();
            stream
        })
        .collect()
}

/// Waits up to `limit` for the server to end every one of `streams`; returns the status
/// line each got before the close ("" when it closed without answering).
fn ended_by_server(streams: Vec<TcpStream>, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    streams
        .into_iter()
        .map(|mut stream| {
            let left = deadline.saturating_duration_since(Instant::now());
            stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let mut raw = Vec::new();
            match stream.read_to_end(&mut raw) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
                Err(e) => panic!("the server kept a stalled connection open for {limit:?}: {e}"),
            }
            let raw = String::from_utf8_lossy(&raw).into_owned();
            raw.lines().next().unwrap_or_default().to_string()
        })
        .collect()
}

/// A normal GET, timed, while other clients misbehave.
fn timed_get(addr: &str, target: &str) -> (Duration, u16) {
    let started = Instant::now();
    let r = http(addr, "GET", target, "");
    (started.elapsed(), r.status)
}

/// One header line of 200 MiB, sent in 1 MiB pieces until the server stops taking them.
/// Returns the bytes it took, the peak of its memory meanwhile, and its answer.
fn huge_header(server: &Serve) -> (usize, u64, String) {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {}\r\nX-Enorme: ",
        server.addr
    )
    .unwrap();
    let piece = vec![b'a'; 1 << 20];
    let mut sent = 0;
    let mut peak = server.rss_kib();
    while sent < 200 << 20 {
        if stream.write_all(&piece).is_err() {
            break;
        }
        sent += piece.len();
        peak = peak.max(server.rss_kib());
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    peak = peak.max(server.rss_kib());
    let answer = String::from_utf8_lossy(&raw);
    (
        sent,
        peak,
        answer.lines().next().unwrap_or_default().to_string(),
    )
}

/// The demo with its digest composed into `out/`, the archive `serve` publishes. Serving
/// needs no mail server (port 9: nothing listens there).
fn composed() -> Scratch {
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
    s
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
    let s = composed();
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

/// What both servers must hold against: 64 clients stalled in their headers and 16 in their
/// bodies while a normal request is answered within a second; a 200 MiB header line refused
/// without the server's memory growing; the stalled clients cut off by the server.
fn holds_against_slow_and_huge_clients(server: &Serve, normal: &str) {
    assert_eq!(timed_get(&server.addr, normal).1, 200);
    let before = server.rss_kib();
    let mut stalled = stall_headers(&server.addr, 64);
    let bodies = stall_bodies(&server.addr, 16);
    std::thread::sleep(Duration::from_millis(200));
    let (took, status) = timed_get(&server.addr, normal);
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_secs(1),
        "answered in {took:?} beside 80 stalled clients"
    );

    let (sent, peak, answer) = huge_header(server);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "a 200 MiB header got {answer:?}"
    );
    assert!(
        sent < 200 << 20,
        "the server read all {sent} bytes of one header"
    );
    assert!(
        peak < before + 8 * 1024,
        "memory went from {before} KiB to {peak} KiB for a 200 MiB header"
    );
    let (took, status) = timed_get(&server.addr, normal);
    assert!(
        status == 200 && took < Duration::from_secs(1),
        "{status} in {took:?}"
    );

    // The server cuts them off (10 s for headers, 10 s for a request), not the clients.
    let header_ends = ended_by_server(std::mem::take(&mut stalled), Duration::from_secs(20));
    assert!(header_ends.iter().all(String::is_empty), "{header_ends:?}");
    let body_ends = ended_by_server(bodies, Duration::from_secs(5));
    assert!(
        body_ends.iter().all(|l| l.starts_with("HTTP/1.1 4")),
        "stalled bodies: {body_ends:?}"
    );
}

#[test]
fn serve_holds_against_stalled_and_huge_clients_and_stops_cleanly() {
    let s = composed();
    let serve = Serve::start(&s);
    holds_against_slow_and_huge_clients(&serve, "/newsletter.html");
    // A stalled body is a request timeout, answered as one.
    let bodies = stall_bodies(&serve.addr, 1);
    let ends = ended_by_server(bodies, Duration::from_secs(15));
    assert_eq!(ends, ["HTTP/1.1 408 Request Timeout"]);
    // Ctrl-C and SIGTERM stop it cleanly, as a service manager expects.
    assert!(serve.terminate(Duration::from_secs(10)).success());
}

#[test]
fn preview_holds_against_stalled_and_huge_clients_and_answers_only_its_own_host() {
    let s = setup(9, "");
    let preview = Serve::preview(&s);
    holds_against_slow_and_huge_clients(&preview, "/");
    let addr = &preview.addr;
    let port = addr.rsplit_once(':').unwrap().1;
    let status = |request: String| {
        let raw = exchange(addr, request.as_bytes());
        raw.split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    // A page the editor visits may point a name of its own at 127.0.0.1 (DNS rebinding).
    for (host, want) in [
        (format!("evil.example:{port}"), "421"),
        (format!("localhost.:{port}"), "421"),
        ("127.0.0.1".to_string(), "421"),
        (format!("localhost:{port}"), "200"),
        (format!("LOCALHOST:{port}"), "200"),
        (addr.clone(), "200"),
    ] {
        let got = status(format!("GET /text HTTP/1.1\r\nHost: {host}\r\n\r\n"));
        assert_eq!(got, want, "Host: {host}");
    }
    assert_eq!(
        status(format!(
            "GET http://evil.example:{port}/text HTTP/1.1\r\nHost: {addr}\r\n\r\n"
        )),
        "421",
        "an absolute-form target names the host too"
    );
    assert_eq!(
        status("GET /text HTTP/1.0\r\n\r\n".into()),
        "421",
        "no Host"
    );
    assert!(preview.terminate(Duration::from_secs(10)).success());
}

#[test]
fn archive_redirects_stay_on_the_host_and_symlinks_stay_inside() {
    let s = composed();
    s.write(
        "out/archive/index.html",
        "<!DOCTYPE html><title>Archivo</title><p>Ediciones</p>",
    );
    let out = s.path().join("out");
    std::os::unix::fs::symlink("/etc", out.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", out.join("usuarios.html")).unwrap();
    std::os::unix::fs::symlink(s.config(), out.join("config.txt")).unwrap();
    std::os::unix::fs::symlink(out.join("archive"), out.join("ultimo")).unwrap();
    let serve = Serve::start(&s);
    let addr = &serve.addr;

    // `//archive` once answered `Location: //archive/`, which a browser reads as a host.
    for target in ["//archive", "http://evil.example//archive", "///archive"] {
        let raw = exchange(
            addr,
            format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        assert!(raw.starts_with("HTTP/1.1 301"), "{target}: {raw}");
        assert!(
            raw.contains("\r\nLocation: /archive/\r\n"),
            "{target}: {raw}"
        );
    }
    assert!(
        http(addr, "GET", "/archive/", "")
            .body
            .contains("Ediciones")
    );

    // A symlink inside the archive may lead anywhere inside it, and nowhere else.
    assert!(http(addr, "GET", "/ultimo/", "").body.contains("Ediciones"));
    for target in [
        "/etc/passwd",
        "/etc/hostname",
        "/usuarios.html",
        "/config.txt",
        "/etc/",
    ] {
        let r = http(addr, "GET", target, "");
        assert_eq!(r.status, 404, "{target}: {}", r.body);
        assert!(!r.body.contains("root:"), "{target}");
    }

    // A huge promised body is refused before any of it is asked for.
    let raw = exchange(
        addr,
        format!(
            "POST /unsubscribe?token=1.AAAA HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Length: 99999999999\r\nExpect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(!raw.contains("100 Continue"), "{raw}");
}
