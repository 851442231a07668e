//! The HTTP stack both servers run on: hyper 1's HTTP/1.1 connections carrying an axum
//! router, with the limits that keep one slow or hostile client from holding up the others.
//!
//! Owns binding, the accept loop and its connection cap, the per-connection timeouts
//! (headers, idle keep-alive, a peer that stops reading or writing), the request stack
//! (timeout, body cap, in-flight cap) and graceful shutdown. Hands on [`Limits`], [`bind`]
//! and [`run`]; `serve` and `preview` only bring their routers. Each request carries its
//! connection's [`Peer`] address.

use std::future::Future;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tower::limit::ConcurrencyLimitLayer;
use tower::{Layer, ServiceBuilder};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// What one server accepts from its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request line and headers together, in bytes: more gets 431 and the connection closes,
    /// having buffered no more than this.
    pub header_bytes: usize,
    /// Request body, in bytes: a larger `Content-Length` gets 413 before any of the body is
    /// read (so no `100 Continue`), and a chunked body that grows past it gets 413 too.
    pub body_bytes: usize,
    /// From the connection (or the end of the previous response) to the end of the request
    /// headers; it is also how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// From the end of the headers to the response's headers, body read included: 408.
    pub request_timeout: Duration,
    /// A read or write that makes no progress this long closes the connection (a client
    /// that stops reading its response, or trickles nothing).
    pub stall_timeout: Duration,
    /// Connections open at once; more wait in the kernel's listen backlog. Requests in
    /// handlers at once are capped at the same number.
    pub connections: usize,
    /// Whether one connection may carry several requests.
    pub keep_alive: bool,
}

/// The address a request's connection comes from, in its extensions: the client's, or a
/// reverse proxy's.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// How long requests in flight get to finish after a stop signal.
const GRACE: Duration = Duration::from_secs(5);

/// The address could not be listened on.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    /// The address asked for, as written.
    pub addr: String,
    /// Why the operating system refused it.
    #[source]
    pub source: std::io::Error,
}

/// Binds `addr` now, so that a taken port is reported before anything else starts.
pub fn bind(
    addr: impl ToSocketAddrs + std::fmt::Display,
) -> Result<(TcpListener, SocketAddr), BindError> {
    let err = |source| BindError {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(&addr).map_err(err)?;
    let local = listener.local_addr().map_err(err)?;
    listener.set_nonblocking(true).map_err(err)?;
    Ok((listener, local))
}

/// Answers with `app` on `listener` until `stop` completes, then lets requests in flight
/// finish for a few seconds. Must run inside a tokio runtime with I/O and timers.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    // Outermost first. The body cap answers an oversized `Content-Length` at once; the
    // timeout covers waiting for a slot and reading the body.
    let service = ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(ConcurrencyLimitLayer::new(limits.connections))
        .service(app);

    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper refuses buffers under 8 KiB.
    let buffer = limits.header_bytes.max(8 * 1024);
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(buffer)
        .max_header_size(limits.header_bytes)
        .keep_alive(limits.keep_alive)
        // Header names as browsers and the previous server wrote them (`Content-Type`).
        .title_case_headers(true);

    let slots = Arc::new(Semaphore::new(limits.connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut stop = pin!(stop);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was
                    // accepted: pause rather than spin, and keep serving.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let mut io = TimeoutStream::new(stream);
        io.set_read_timeout(Some(limits.stall_timeout));
        io.set_write_timeout(Some(limits.stall_timeout));
        let service = TowerToHyperService::new(axum::Extension(Peer(peer)).layer(service.clone()));
        let conn = http.serve_connection(TokioIo::new(Box::pin(io)), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business, not the server's.
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(GRACE) => {}
    }
    Ok(())
}
