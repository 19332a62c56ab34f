//! Serving the API so that no client can hurt consensus or the other clients (review H1, H2).
//!
//! - Its own runtime on its own threads: a request never runs on the consensus runtime's workers.
//! - hyper with a timer: a connection that does not send a complete request head within
//!   `header_read_timeout_ms` (a slowloris, or an idle keep-alive connection) is closed.
//! - At most `connections_max` connections; more are closed on accept.
//! - At most `concurrency_max` requests in flight; more are shed at once with `503 overloaded`
//!   and `Retry-After` rather than queued. `/v1/status` and `/metrics` bypass this limit so that
//!   operators can see a node under load.
//! - Each request finishes within `request_timeout_ms` (`408 timeout`), streams aside.
//! - Each client address gets `client_requests_per_second` (with a burst); more get
//!   `429 rate_limited`.
//! - With a TLS configuration, every connection is TLS 1.3 (rustls); a handshake not done within
//!   `header_read_timeout_ms` is dropped.
//! - Shutdown stops accepting, lets requests in flight finish, and closes what is still open
//!   (event streams) at `shutdown_deadline_ms`.

use crate::api::{self, ApiState, error, retry_later};
use crate::budget::ClientBudgets;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::{BoxError, ServiceBuilder, ServiceExt as _};

/// Limits of the HTTP server.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// Worker threads of the API runtime.
    pub worker_threads: usize,
    /// Most open connections.
    pub connections_max: usize,
    /// Most requests in flight (beyond: 503).
    pub concurrency_max: usize,
    /// Time to send a request head, milliseconds.
    pub header_read_timeout_ms: u64,
    /// Time to answer a request, milliseconds.
    pub request_timeout_ms: u64,
    /// Requests per second per client address.
    pub client_requests_per_second: u32,
    /// Burst per client address.
    pub client_burst: u32,
    /// How long shutdown waits for open requests and streams, milliseconds.
    pub shutdown_deadline_ms: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            worker_threads: 2,
            connections_max: 1_024,
            concurrency_max: 64,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            client_requests_per_second: 2_000,
            client_burst: 4_000,
            shutdown_deadline_ms: 5_000,
        }
    }
}

/// A running API server. Dropping it stops it.
pub struct HttpServer {
    address: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `address` (errors show now, not later) and serves `state` on a runtime of its own,
    /// over TLS when given its configuration.
    pub fn start(
        state: ApiState,
        address: SocketAddr,
        limits: HttpLimits,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<HttpServer, std::io::Error> {
        let tls = tls.map(tokio_rustls::TlsAcceptor::from);
        let tls_enabled = tls.is_some();
        let listener = std::net::TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(limits.worker_threads.max(1))
            .thread_name("epichain-http")
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("epichain-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, state, limits, tls, stopped).await,
                        Err(failure) => tracing::error!(%failure, "HTTP listener"),
                    }
                });
                // Whatever is still running (streams past the deadline) is dropped.
                runtime.shutdown_background();
            })?;
        tracing::info!(%address, https = tls_enabled, "HTTP API listening");
        Ok(HttpServer {
            address,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets requests in flight finish until the shutdown deadline, and returns
    /// once the server's thread has ended.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The answer to a request the limits stopped.
async fn limited(failure: BoxError) -> Response {
    if failure.is::<tower::timeout::error::Elapsed>() {
        return error(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "the request took too long",
        );
    }
    if failure.is::<tower::load_shed::error::Overloaded>() {
        return retry_later(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many requests in flight; retry later",
        ));
    }
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", failure)
}

/// Routes operators need under load, outside the concurrency limit.
fn bypasses_limits(path: &str) -> bool {
    matches!(path, "/v1/status" | "/metrics")
}

/// The router with the load layers: shedding beyond `concurrency_max`, and the request timeout.
fn limited_router(router: axum::Router, limits: HttpLimits) -> axum::Router {
    router.layer(
        ServiceBuilder::new()
            .layer(axum::error_handling::HandleErrorLayer::new(limited))
            .load_shed()
            // Global: `Router::layer` applies to each route, and the limit is for the node.
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                limits.concurrency_max,
            ))
            .timeout(Duration::from_millis(limits.request_timeout_ms)),
    )
}

/// Accepts connections until `stopped`, then shuts down within the deadline.
async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    limits: HttpLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let plain = api::router(state);
    let guarded = limited_router(plain.clone(), limits);
    let clients = Arc::new(ClientBudgets::new(
        limits.client_requests_per_second,
        limits.client_burst,
    ));
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.connections_max));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .keep_alive(true);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(failure) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%failure, "HTTP accept");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let service = connection_service(plain.clone(), guarded.clone(), clients.clone(), peer);
        let Some(acceptor) = tls.clone() else {
            let watched = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                let _ = watched.await;
                drop(permit);
            });
            continue;
        };
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        let handshake_timeout = Duration::from_millis(limits.header_read_timeout_ms);
        tokio::spawn(async move {
            // A failed or slow handshake just closes the connection.
            if let Ok(Ok(stream)) =
                tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await
            {
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let _ = watcher.watch(connection).await;
            }
            drop(permit);
        });
    }
    drop(listener);
    let deadline = Duration::from_millis(limits.shutdown_deadline_ms);
    if tokio::time::timeout(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open at the shutdown deadline are closed");
    }
}

/// One connection's service: the client's rate, then the right router.
fn connection_service(
    plain: axum::Router,
    guarded: axum::Router,
    clients: Arc<ClientBudgets>,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    Request<hyper::body::Incoming>,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<Response, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        let plain = plain.clone();
        let guarded = guarded.clone();
        let clients = clients.clone();
        async move {
            request.extensions_mut().insert(ConnectInfo(peer));
            let bypass = bypasses_limits(request.uri().path());
            if !bypass && !clients.take(peer.ip(), 1) {
                return Ok(retry_later(error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many requests from this address; retry later",
                )));
            }
            let router = if bypass { plain } else { guarded };
            router
                .oneshot(request)
                .await
                .map(IntoResponse::into_response)
        }
    })
}
