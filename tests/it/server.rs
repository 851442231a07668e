//! A small HTTP/1.1 server on loopback, written by hand so tests control every byte: bodies
//! that trickle, stall, never end or explode when decompressed, redirect chains, validators.
//!
//! It records every request (path and headers) and counts connections (to see reuse). Also
//! used by the benchmark (`benches/fetch.rs`), which is why it depends on nothing but std.

#![allow(dead_code, reason = "tests and the benchmark use different parts")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How the body is sent.
pub enum Body {
    /// All at once, with Content-Length.
    Bytes(Vec<u8>),
    /// With Content-Length, `parts` one by one with `pause` before each.
    Trickle {
        parts: Vec<Vec<u8>>,
        pause: Duration,
    },
    /// Content-Length `declared`, then `first`, then silence while the connection stays open.
    Stall { first: Vec<u8>, declared: usize },
    /// Content-Length `len` of filler, written until the client hangs up.
    Huge { len: usize },
    /// Chunked, `chunk` forever until the client hangs up.
    Endless(Vec<u8>),
    /// No response at all: the request is read and nothing is said.
    Silent,
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::new(200)
            .header("Content-Type", content_type)
            .body(Body::Bytes(body.into()))
    }

    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::new(status).header("Location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: Body) -> Reply {
        self.body = body;
        self
    }
}

pub type Route = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    fallback: Mutex<Option<Route>>,
    log: Mutex<Vec<Request>>,
    keep_log: AtomicBool,
    connections: AtomicUsize,
}

/// A running server; its threads live until the process ends.
#[derive(Clone)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// Longest a stalled or silent response holds its connection.
const HOLD: Duration = Duration::from_secs(60);

impl Server {
    pub fn start() -> Server {
        Server::start_on("127.0.0.1")
    }

    /// Listens on `ip` (any 127.x.y.z works on Linux) at a free port.
    pub fn start_on(ip: &str) -> Server {
        let listener = TcpListener::bind((ip, 0)).expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        shared.keep_log.store(true, Ordering::SeqCst);
        let accept_shared = shared.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                accept_shared.connections.fetch_add(1, Ordering::SeqCst);
                let shared = accept_shared.clone();
                thread::spawn(move || serve(stream, &shared));
            }
        });
        Server { addr, shared }
    }

    /// Serves `path` (without query) with `f`; replaces an earlier route.
    pub fn route(&self, path: &str, f: impl Fn(&Request) -> Reply + Send + Sync + 'static) {
        lock(&self.shared.routes).insert(path.to_string(), Arc::new(f));
    }

    /// Serves a fixed reply builder on `path`.
    pub fn fixed(&self, path: &str, f: impl Fn() -> Reply + Send + Sync + 'static) {
        self.route(path, move |_| f());
    }

    /// A server with fixed `200 OK` pages: `(path, content type, body)`; anything else is 404.
    pub fn pages(routes: &[(&str, &str, &str)]) -> Server {
        let server = Server::start();
        for &(path, content_type, body) in routes {
            let (content_type, body) = (content_type.to_string(), body.to_string());
            server.fixed(path, move || Reply::ok(&content_type, body.clone()));
        }
        server
    }

    /// Serves every path without a route.
    pub fn fallback(&self, f: impl Fn(&Request) -> Reply + Send + Sync + 'static) {
        *lock(&self.shared.fallback) = Some(Arc::new(f));
    }

    /// Stop recording requests (the benchmark serves many thousands).
    pub fn quiet(&self) {
        self.shared.keep_log.store(false, Ordering::SeqCst);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.log).clone()
    }

    pub fn hits(&self, path: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    pub fn last(&self, path: &str) -> Option<Request> {
        lock(&self.shared.log)
            .iter()
            .rev()
            .find(|r| r.path == path)
            .cloned()
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits (up to a minute) until `path` has been requested `n` times; false if it never was.
    pub fn wait_for(&self, path: &str, n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.hits(path) >= n {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads requests on one connection until it closes (HTTP/1.1 keep-alive).
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .split('?')
            .next()
            .unwrap_or("/")
            .to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            match reader.read_line(&mut h) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let request = Request { path, headers };
        if shared.keep_log.load(Ordering::SeqCst) {
            lock(&shared.log).push(request.clone());
        }
        let route = lock(&shared.routes)
            .get(&request.path)
            .cloned()
            .or_else(|| lock(&shared.fallback).clone());
        let reply = match route {
            Some(f) => f(&request),
            None => Reply::new(404),
        };
        if !respond(&mut out, reply) {
            return;
        }
    }
}

/// Writes one response; false when the connection must close afterwards.
fn respond(out: &mut TcpStream, reply: Reply) -> bool {
    let mut head = format!("HTTP/1.1 {} X\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let no_body = reply.status == 304 || reply.status == 204;
    match &reply.body {
        Body::Bytes(b) if !no_body => head.push_str(&format!("Content-Length: {}\r\n", b.len())),
        Body::Bytes(_) => {}
        Body::Trickle { parts, .. } => {
            let len: usize = parts.iter().map(Vec::len).sum();
            head.push_str(&format!("Content-Length: {len}\r\n"));
        }
        Body::Stall { declared, .. } => head.push_str(&format!("Content-Length: {declared}\r\n")),
        Body::Huge { len } => head.push_str(&format!("Content-Length: {len}\r\n")),
        Body::Endless(_) => head.push_str("Transfer-Encoding: chunked\r\n"),
        Body::Silent => {
            thread::sleep(HOLD);
            return false;
        }
    }
    head.push_str("\r\n");
    if out.write_all(head.as_bytes()).is_err() {
        return false;
    }
    match reply.body {
        Body::Bytes(b) => no_body || out.write_all(&b).is_ok(),
        Body::Trickle { parts, pause } => {
            for part in parts {
                thread::sleep(pause);
                if out.write_all(&part).and_then(|()| out.flush()).is_err() {
                    return false;
                }
            }
            true
        }
        Body::Stall { first, .. } => {
            let _ = out.write_all(&first);
            let _ = out.flush();
            thread::sleep(HOLD);
            false
        }
        Body::Huge { len } => {
            let filler = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < len {
                let n = filler.len().min(len - sent);
                if out.write_all(&filler[..n]).is_err() {
                    return false;
                }
                sent += n;
            }
            true
        }
        Body::Endless(chunk) => {
            let framed = [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk,
                b"\r\n".to_vec(),
            ]
            .concat();
            while out.write_all(&framed).is_ok() {}
            false
        }
        Body::Silent => false,
    }
}
