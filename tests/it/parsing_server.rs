//! A tiny HTTP/1.1 server on 127.0.0.1 for the parsing tests: fixed routes, one request per
//! connection, a log of the paths asked for. Real sockets, no mocks.

#![allow(dead_code, reason = "each test uses a different subset")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One route's answer.
#[derive(Clone)]
pub struct Page {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Page {
    pub fn new(content_type: &'static str, body: &str) -> Page {
        Page {
            status: 200,
            content_type,
            body: body.as_bytes().to_vec(),
        }
    }
}

pub struct PageServer {
    pub base: String,
    stop: Arc<AtomicBool>,
    pub log: Arc<Mutex<Vec<String>>>,
    addr: std::net::SocketAddr,
    handle: Option<JoinHandle<()>>,
}

impl PageServer {
    /// Serves `routes` (path → page); anything else is 404.
    pub fn start(routes: Vec<(&str, Page)>) -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes: HashMap<String, Page> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    serve(stream, &routes, &log2);
                }
            }
        });
        PageServer {
            base: format!("http://{addr}"),
            stop,
            log,
            addr,
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn requests(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(mut stream: TcpStream, routes: &HashMap<String, Page>, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    if let Ok(mut l) = log.lock() {
        l.push(path.clone());
    }
    let page = routes.get(&path).cloned().unwrap_or(Page {
        status: 404,
        content_type: "text/plain",
        body: b"not found".to_vec(),
    });
    let reason = if page.status == 200 {
        "OK"
    } else {
        "Not Found"
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        page.status,
        page.content_type,
        page.body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&page.body);
    let _ = stream.flush();
}
