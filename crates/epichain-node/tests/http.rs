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
    let server = HttpServer::start(state, address, limits, None).expect("start");
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

/// The wall clock: TLS certificates are checked at the real time (a test edge).
#[allow(clippy::disallowed_methods)]
fn wall_clock_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A TLS server over a fresh chain, with a node certificate for 127.0.0.1 and
/// `node.shenzhen-cdc.example` under the chain's roots; returns it and the node's key.
fn start_tls(single: &mut Single) -> (HttpServer, epichain_core::KeyPair) {
    use epichain_core::cert::ServerName;
    let region = "440300".parse().expect("region");
    let role = epichain_core::Role::Validator;
    let world = &mut single.world;
    world
        .add_identity(
            "tls-node",
            "Shenzhen CDC node",
            role,
            region,
            2,
            "shenzhen-cdc",
        )
        .expect("node identity");
    let names: Vec<ServerName> = ["127.0.0.1", "node.shenzhen-cdc.example"]
        .iter()
        .map(|name| name.parse().expect("name"))
        .collect();
    let pem = world
        .server_certificate("tls-node", &names)
        .expect("issued");
    let chain = epichain_core::cert::certificates_from_pem_or_der(pem.as_bytes()).expect("pem");
    let key = world
        .identity("tls-node")
        .expect("node")
        .signer
        .key()
        .clone();
    let roots = &world.genesis.root_certificates;
    // The wrong key for the certificate is refused when the server is configured.
    let other_key = epichain_core::KeyPair::from_seed([9; 32]);
    assert!(matches!(
        epichain_tls::server_config(chain.clone(), &other_key, roots, wall_clock_seconds()),
        Err(epichain_tls::TlsError::KeyMismatch { .. })
    ));
    let tls = epichain_tls::server_config(chain, &key, roots, wall_clock_seconds()).expect("tls");
    let state = ApiState::new(single.chain.clone(), NodeRole::Validator, "tls".into());
    let address = "127.0.0.1:0".parse().expect("address");
    let server = HttpServer::start(state, address, HttpLimits::default(), Some(Arc::new(tls)))
        .expect("start");
    (server, key)
}

/// Issue 14 §4: a node serving HTTPS with a node TLS certificate issued under the genesis roots.
/// A client trusting those roots gets answers; pinned to the node's key too. A client without
/// roots, with another chain's roots, pinned to another key, or dialling a name the certificate
/// does not carry is refused with the reason; plain HTTP gets no answer.
#[test]
fn the_api_speaks_tls_to_clients_that_trust_the_genesis_roots_only() {
    use epichain_client::{Client, ClientError, NodeTrust};
    use epichain_core::cert::CertError;
    use epichain_tls::Refusal;
    let mut single = Single::new();
    let (server, key) = start_tls(&mut single);
    let genesis = single.world.genesis.clone();
    let other_key = epichain_core::KeyPair::from_seed([9; 32]);
    let port = server.address().port();
    let url = format!("https://127.0.0.1:{port}");
    let trust = NodeTrust::from_genesis(&genesis);
    // Another chain's root: the same name and validity, another key.
    let other_root = epichain_core::cert::create_root(
        &other_key,
        "epichain National Root CA",
        "national-root-ca".parse().expect("institution"),
        epichain_core::cert::Validity::days_from(wall_clock_seconds() as i64 - 86_400, 30),
    )
    .expect("root");
    let refusal = |result: Result<_, ClientError>| match result {
        Err(ClientError::Untrusted { refusal, .. }) => refusal,
        other => panic!("not refused for its certificate: {other:?}"),
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let status = Client::new(&url).trusting(trust.clone()).status().await;
        assert_eq!(
            status.expect("status over TLS").chain_id,
            genesis.chain_id()
        );
        let pinned = Client::new(&url).trusting(trust.clone().pinned(key.public_key()));
        assert!(pinned.status().await.is_ok());
        // A verifying client takes the roots from the genesis it verifies with.
        assert!(Client::new(&url).verifying(&genesis).status().await.is_ok());

        let wrong_pin = trust.clone().pinned(other_key.public_key());
        let held = refusal(Client::new(&url).trusting(wrong_pin).status().await);
        assert_eq!(
            held,
            Refusal::Pin {
                held: key.public_key(),
                pinned: other_key.public_key()
            }
        );
        assert_eq!(refusal(Client::new(&url).status().await), Refusal::NoRoots);
        let foreign = Client::new(&url).trusting(NodeTrust::new(vec![other_root]));
        assert!(matches!(
            refusal(foreign.status().await),
            Refusal::Certificate(CertError::Chain(..))
        ));
        // `localhost` reaches the same socket, but the certificate does not name it.
        let unnamed = Client::new(&format!("https://localhost:{port}")).trusting(trust.clone());
        assert!(matches!(
            refusal(unnamed.status().await),
            Refusal::Certificate(CertError::Server(_))
        ));
        let plain = Client::new(&format!("http://127.0.0.1:{port}"))
            .status()
            .await;
        assert!(matches!(plain, Err(ClientError::Http { .. })), "{plain:?}");
    });
    drop(server);
}

/// Plain HTTP beyond this machine is refused by the client unless asked for, before anything
/// is sent.
#[test]
fn plain_http_beyond_this_machine_is_refused_unless_asked_for() {
    use epichain_client::{Client, ClientError};
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        // TEST-NET-1 (RFC 5737): nothing answers there; the refusal comes first.
        let remote = Client::new("http://192.0.2.1:8000");
        assert!(matches!(
            remote.status().await,
            Err(ClientError::PlainHttp { .. })
        ));
        let allowed = remote.allow_plain_http();
        assert!(matches!(
            allowed.status().await,
            Err(ClientError::Http { .. })
        ));
    });
}
