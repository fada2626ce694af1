//! Connections, bounded (see [`ConnectionLimits`]). A client has the
//! header timeout to send a request's head (and an idle keep-alive
//! connection is closed after as long), and its body must arrive within the
//! body timeout of the request's start. At most `max_connections` are open; when a new one arrives at the cap, the
//! oldest connection that has not yet sent a request is closed to make
//! room (else the oldest idle keep-alive one), and only if every connection
//! is serving a request is the newcomer turned away. So stalled connections cannot exhaust file
//! descriptors, and a readiness probe still gets through however many an
//! attacker holds open. Over TLS the handshake counts as the request's
//! head: it must finish within the header timeout.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Sleep;

use crate::tls::TlsTermination;

/// How many connections may be open, and how long their clients may take.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once; keep it well below the process's file
    /// descriptor limit (`ulimit -n`).
    pub max_connections: usize,
    /// Time to send a request's head, and the longest idle keep-alive.
    pub header_timeout: Duration,
    /// Time to send a request's body, from the request's start.
    pub body_timeout: Duration,
}

/// Which connections may be closed to make room: those with no request in
/// progress, stalled before idle, oldest first.
struct Registry {
    max_connections: usize,
    state: Mutex<RegistryState>,
}

#[derive(Default)]
struct RegistryState {
    next_id: u64,
    /// Open connections; notifying one closes it.
    open: HashMap<u64, Arc<Notify>>,
    /// Open connections that have not yet sent a whole request head (a
    /// stalled client looks like this), by arrival: closed first.
    fresh: BTreeSet<u64>,
    /// Open connections between requests (keep-alive), by arrival.
    idle: BTreeSet<u64>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, RegistryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes room for a new connection; `None` when every open connection
    /// is busy with a request.
    fn admit(&self) -> Option<(u64, Arc<Notify>)> {
        let mut state = self.lock();
        if state.open.len() >= self.max_connections {
            let oldest = match state.fresh.pop_first() {
                Some(fresh) => fresh,
                None => state.idle.pop_first()?,
            };
            if let Some(close) = state.open.remove(&oldest) {
                close.notify_one();
            }
        }
        state.next_id += 1;
        let id = state.next_id;
        let close = Arc::new(Notify::new());
        state.open.insert(id, close.clone());
        state.fresh.insert(id);
        Some((id, close))
    }

    fn busy(&self, id: u64) {
        let mut state = self.lock();
        state.fresh.remove(&id);
        state.idle.remove(&id);
    }

    fn idle(&self, id: u64) {
        let mut state = self.lock();
        if state.open.contains_key(&id) {
            state.idle.insert(id);
        }
    }

    fn closed(&self, id: u64) {
        let mut state = self.lock();
        state.open.remove(&id);
        state.fresh.remove(&id);
        state.idle.remove(&id);
    }
}

/// Serves `app` on `listener` (over TLS when given a termination) until
/// `shutdown` resolves, then lets the requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsTermination>,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let registry = Arc::new(Registry {
        max_connections: limits.max_connections.max(1),
        state: Mutex::new(RegistryState::default()),
    });
    let (stop_sender, stop) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or the client gave up:
                    // wait a moment rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some((id, close)) = registry.admit() else {
            tracing::warn!("connection refused: every connection is serving a request");
            drop(stream);
            continue;
        };
        let connection = Connection {
            peer,
            app: app.clone(),
            registry: registry.clone(),
            id,
            close,
            limits,
            stop: stop.clone(),
        };
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => connection.serve(stream).await,
                Some(tls) => connection.serve_tls(stream, &tls).await,
            }
        });
    }
    let _ = stop_sender.send(true);
    while connections.join_next().await.is_some() {}
}

/// One accepted connection, admitted to the registry.
struct Connection {
    peer: SocketAddr,
    app: Router,
    registry: Arc<Registry>,
    id: u64,
    /// Notified when the connection is closed to make room.
    close: Arc<Notify>,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn serve_tls(self, stream: TcpStream, tls: &TlsTermination) {
        let handshake =
            tokio::time::timeout(self.limits.header_timeout, tls.acceptor().accept(stream));
        let stream = tokio::select! {
            finished = handshake => match finished {
                Ok(Ok(stream)) => Some(stream),
                // A client that does not trust the certificate, or speaks
                // plain http to the https port: its business, not ours.
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    None
                }
                Err(_) => None,
            },
            () = self.close.notified() => None,
        };
        match stream {
            Some(stream) => self.serve(stream).await,
            None => self.registry.closed(self.id),
        }
    }

    async fn serve(self, stream: impl AsyncRead + AsyncWrite + Unpin + Send + 'static) {
        let Connection {
            peer,
            app,
            registry,
            id,
            close,
            limits,
            mut stop,
        } = self;
        let service = {
            let registry = registry.clone();
            hyper::service::service_fn(move |request: Request<Incoming>| {
                registry.busy(id);
                let guard = IdleOnDrop {
                    registry: registry.clone(),
                    id,
                };
                let mut app = app.clone();
                async move {
                    let (mut parts, body) = request.into_parts();
                    parts.extensions.insert(ConnectInfo(peer));
                    let body = Body::new(DeadlineBody {
                        inner: body,
                        deadline: Box::pin(tokio::time::sleep(limits.body_timeout)),
                    });
                    let response =
                        tower::Service::call(&mut app, Request::from_parts(parts, body)).await?;
                    Ok::<_, Infallible>(response.map(|body| {
                        Body::new(GuardedBody {
                            inner: body,
                            _guard: guard,
                        })
                    }))
                }
            })
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        tokio::select! {
            _ = connection.as_mut() => {}
            // Closed to make room: dropping the connection closes the socket.
            () = close.notified() => {}
            () = async { let _ = stop.wait_for(|stopping| *stopping).await; } => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.as_mut().await;
            }
        }
        registry.closed(id);
    }
}

/// Marks the connection idle again once its response has been sent (or
/// dropped).
struct IdleOnDrop {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for IdleOnDrop {
    fn drop(&mut self) {
        self.registry.idle(self.id);
    }
}

struct GuardedBody {
    inner: Body,
    _guard: IdleOnDrop,
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that fails once its deadline passes.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(BodyTimedOut.into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
