//! The HTTP server's limits on a real socket (review H1, H2): slow and idle connections are
//! closed, connections are capped, requests beyond the concurrency limit are shed with 503 while
//! `/v1/status` still answers, slow requests time out, each client address is rate limited, event
//! streams are capped, and shutdown returns within its deadline with a stream open.

use crate::single::Single;
use epichain_node::api::{ApiState, NodeRole, STREAMS_MAX};
use epichain_node::chain::Chain;
use epichain_node::http::{HttpLimits, HttpServer};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A server over a fresh chain (kept alive by the returned [`Single`]).
fn start(limits: HttpLimits) -> (HttpServer, Single) {
    start_with(limits, ApiState::new)
}

fn start_with(
    limits: HttpLimits,
    state: impl FnOnce(Arc<Chain>, NodeRole, String) -> ApiState,
) -> (HttpServer, Single) {
    let single = Single::new();
    let state = state(single.chain.clone(), NodeRole::Validator, "test".into());
    let address = "127.0.0.1:0".parse().expect("address");
    let server = HttpServer::start(state, address, limits).expect("start");
    (server, single)
}

fn connect(server: &HttpServer) -> TcpStream {
    let stream = TcpStream::connect(server.address()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Sends a request and returns the status code of the answer.
fn request(server: &HttpServer, text: &str) -> u16 {
    let mut stream = connect(server);
    stream.write_all(text.as_bytes()).expect("write");
    status_of(&mut stream)
}

fn status_of(stream: &mut TcpStream) -> u16 {
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("answer");
    std::str::from_utf8(&head[9..12])
        .expect("status")
        .parse()
        .expect("code")
}

const STATUS: &str = "GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
const IDENTITIES: &str = "GET /v1/identities?role=hospital&region=440304 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// True once the server closed the connection (a read returns end of file).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

#[test]
fn slow_and_idle_connections_are_closed_and_connections_are_capped() {
    let (server, _single) = start(HttpLimits {
        header_read_timeout_ms: 300,
        connections_max: 4,
        ..HttpLimits::default()
    });
    // A slowloris: half a request head, then nothing.
    let mut slow = connect(&server);
    slow.write_all(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let started = Instant::now();
    assert!(closed_by_server(&mut slow));
    assert!(started.elapsed() < Duration::from_secs(3));
    // Idle connections fill the cap; one more is closed at once.
    let mut idle: Vec<TcpStream> = (0..4).map(|_| connect(&server)).collect();
    std::thread::sleep(Duration::from_millis(50));
    let mut extra = connect(&server);
    let started = Instant::now();
    assert!(closed_by_server(&mut extra));
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "closed on accept"
    );
    // Idle connections time out too, and the server answers again.
    for stream in &mut idle {
        assert!(closed_by_server(stream));
    }
    assert_eq!(request(&server, STATUS), 200);
}

#[test]
fn requests_beyond_the_limits_are_shed_timed_out_or_rate_limited() {
    let (server, _single) = start(HttpLimits {
        concurrency_max: 1,
        request_timeout_ms: 1_000,
        ..HttpLimits::default()
    });
    // A request whose body never completes holds the only slot.
    let mut holder = connect(&server);
    holder
        .write_all(
            b"POST /v1/transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .expect("write");
    std::thread::sleep(Duration::from_millis(100));
    let mut shed = connect(&server);
    shed.write_all(IDENTITIES.as_bytes()).expect("write");
    let mut answer = String::new();
    shed.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"));
    assert!(answer.contains("\"overloaded\""));
    // Operators still see the node.
    assert_eq!(request(&server, STATUS), 200);
    // The slow request times out.
    assert_eq!(status_of(&mut holder), 408);
    assert_eq!(request(&server, IDENTITIES), 200);

    let (limited, _single_limited) = start(HttpLimits {
        client_requests_per_second: 1,
        client_burst: 2,
        ..HttpLimits::default()
    });
    assert_eq!(request(&limited, IDENTITIES), 200);
    assert_eq!(request(&limited, IDENTITIES), 200);
    assert_eq!(request(&limited, IDENTITIES), 429);
    assert_eq!(request(&limited, STATUS), 200, "status is not rate limited");
}

#[test]
fn event_streams_are_capped_and_shutdown_does_not_wait_for_them() {
    let (server, _single) = start(HttpLimits {
        shutdown_deadline_ms: 500,
        ..HttpLimits::default()
    });
    let stream_request = "GET /v1/signals/stream HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut open: Vec<TcpStream> = Vec::new();
    for _ in 0..STREAMS_MAX {
        let mut stream = connect(&server);
        stream.write_all(stream_request.as_bytes()).expect("write");
        assert_eq!(status_of(&mut stream), 200);
        open.push(stream);
    }
    assert_eq!(request(&server, stream_request), 503);
    // Closing one frees its slot.
    drop(open.pop());
    std::thread::sleep(Duration::from_millis(200));
    let mut again = connect(&server);
    again.write_all(stream_request.as_bytes()).expect("write");
    assert_eq!(status_of(&mut again), 200);
    let started = Instant::now();
    server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown took {:?} with streams open",
        started.elapsed()
    );
}

/// A batch costs its size against its client's budget: a client cannot demand unbounded
/// signature checks by sending large batches under the request rate.
#[test]
fn a_batch_costs_its_size_against_the_clients_budget() {
    let (server, _single) = start_with(HttpLimits::default(), |chain, role, name| ApiState {
        submissions: Arc::new(epichain_node::budget::ClientBudgets::new(10, 10)),
        ..ApiState::new(chain, role, name)
    });
    let batch = |count: usize| {
        let items: Vec<String> = (0..count).map(|_| "\"00\"".to_string()).collect();
        let body = format!("{{\"transactions\": [{}]}}", items.join(","));
        format!(
            "POST /v1/transactions/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    assert_eq!(request(&server, &batch(8)), 200);
    assert_eq!(
        request(&server, &batch(8)),
        429,
        "8 + 8 is over the budget of 10"
    );
    assert_eq!(request(&server, &batch(2)), 200);
}
