//! The DNS lab: a real DNS server on 127.0.0.1, UDP and TCP on the same port, that
//! answers each (name, record type) the way a test asks: addresses (after a delay),
//! silence, SERVFAIL, REFUSED, NXDOMAIN, NODATA, truncation, garbage, records for
//! another name, thousands of records, CNAME loops.
//!
//! Messages are parsed and built with hickory-proto's `Message`; the only hand-made
//! bytes are the deliberately malformed reply.
//!
//! Names are test names (`*.test`), compared without case and without the final dot.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
/// The record types [`Zone::rule`] takes (hickory's).
pub use hickory_proto::rr::RecordType;
/// What an HTTPS record is made of (hickory's types), for [`Behaviour::Https`].
pub use hickory_proto::rr::rdata::svcb::{
    Alpn, EchConfigList, IpHint, Mandatory, SVCB, SvcParamKey, SvcParamValue, Unknown,
};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, HTTPS, SOA};
use hickory_proto::rr::{Name, RData, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// The TTL of answers when a test does not choose one.
pub const DEFAULT_TTL: u32 = 300;

/// A UDP answer larger than this (or than the query's EDNS payload size, if larger)
/// goes out truncated, as RFC 1035 and RFC 6891 require: the client retries over TCP.
const PLAIN_UDP_LIMIT: usize = 512;
/// TCP frames carry a 16-bit length.
const TCP_LIMIT: usize = u16::MAX as usize;

// Bounds, so that a misbehaving client (or test) cannot make the lab grow without end.
/// Delayed replies waiting on one socket or connection; beyond it, queries are dropped.
const MAX_PENDING_REPLIES: usize = 1024;
/// Open TCP connections; beyond it, new ones are closed at once.
const MAX_TCP_CONNECTIONS: usize = 64;
/// Queries served on one TCP connection before the lab closes it.
const MAX_QUERIES_PER_CONNECTION: usize = 10_000;
/// CNAME records followed inside the zone for one answer.
const MAX_CNAME_HOPS: usize = 16;
/// Entries kept in the query log; later queries are answered but not logged.
const MAX_LOGGED_QUERIES: usize = 100_000;
/// Tries at finding a port free for both UDP and TCP.
const BIND_TRIES: usize = 8;

/// How the lab answers one (name, record type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// One record per address, in this order, after `delay`. Each address becomes an A
    /// or AAAA record by its own family, whatever the query asked, so that a type
    /// mismatch can be staged.
    Answer {
        addrs: Vec<IpAddr>,
        ttl: u32,
        delay: Duration,
    },
    /// Never answer: the query is dropped.
    Silent,
    /// RCODE SERVFAIL.
    ServFail,
    /// RCODE REFUSED.
    Refused,
    /// RCODE NXDOMAIN, with an SOA in the authority section.
    NxDomain,
    /// NOERROR, no answer, an SOA in the authority section.
    NoData,
    /// Over UDP: the TC bit and no records. Over TCP: the full answer.
    Truncated { addrs: Vec<IpAddr> },
    /// Bytes that carry the query's id (so the client reads them) but do not parse as
    /// a DNS message.
    Malformed,
    /// NOERROR with records owned by `owner` instead of the name asked.
    WrongName { owner: String, addrs: Vec<IpAddr> },
    /// HTTPS records (RFC 9460: ServiceMode with its SvcParams, or AliasMode with
    /// priority 0), owned by the name asked, in this order, after `delay`. Build them
    /// with [`service`] or hickory's [`SVCB::new`].
    Https { records: Vec<SVCB>, delay: Duration },
    /// An HTTPS answer whose record cannot be read: its `alpn` value says its first
    /// protocol id is 9 bytes long but holds 2, as a broken signer or middlebox might
    /// send it. The rest of the message is well-formed.
    MalformedHttps,
    /// `count` records of the type asked (10.0.x.y or fd00::x addresses, in order).
    /// Too big for UDP, which then gets the TC bit. One TCP message holds about 2,600
    /// A or 1,700 AAAA records (owner names are not compressed); a bigger answer is
    /// truncated over TCP too.
    Huge { count: u16 },
}

impl Behaviour {
    /// These addresses, at once, with the default TTL.
    pub fn answer(addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        Self::answer_after(Duration::ZERO, addrs)
    }

    /// These addresses after `delay`, with the default TTL. The delay holds this
    /// answer only: other queries are answered meanwhile.
    pub fn answer_after(delay: Duration, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        Self::Answer {
            addrs: addrs.into_iter().collect(),
            ttl: DEFAULT_TTL,
            delay,
        }
    }

    /// TC over UDP, these addresses over TCP.
    pub fn truncated(addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        Self::Truncated {
            addrs: addrs.into_iter().collect(),
        }
    }

    /// These addresses, owned by `owner`.
    pub fn wrong_name(owner: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        Self::WrongName {
            owner: owner.to_owned(),
            addrs: addrs.into_iter().collect(),
        }
    }
}

/// What the lab serves: a behaviour per (name, record type) and CNAMEs.
///
/// A name the zone does not mention is NXDOMAIN; a name it mentions, asked for a type
/// it has no behaviour for, is NODATA.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    rules: HashMap<(String, RecordType), Behaviour>,
    cnames: HashMap<String, String>,
}

impl Zone {
    /// An empty zone: every name is NXDOMAIN.
    pub fn new() -> Self {
        Self::default()
    }

    /// How AAAA queries for `name` are answered.
    pub fn aaaa(self, name: &str, behaviour: Behaviour) -> Self {
        self.rule(name, RecordType::AAAA, behaviour)
    }

    /// How A queries for `name` are answered.
    pub fn a(self, name: &str, behaviour: Behaviour) -> Self {
        self.rule(name, RecordType::A, behaviour)
    }

    /// How queries of `record_type` for `name` are answered.
    pub fn rule(mut self, name: &str, record_type: RecordType, behaviour: Behaviour) -> Self {
        self.rules.insert((key(name), record_type), behaviour);
        self
    }

    /// The HTTPS query for `name` behaves as `behaviour`; for an origin on another
    /// port than 443, `name` is `_PORT._https.NAME` (RFC 9460 §9.1).
    pub fn https(self, name: &str, behaviour: Behaviour) -> Self {
        self.rule(name, RecordType::HTTPS, behaviour)
    }

    /// `name` is an alias of `target`, for every record type. The lab follows the
    /// chain inside the zone, as an authoritative server does, and answers with the
    /// CNAMEs then the target's records.
    pub fn cname(mut self, name: &str, target: &str) -> Self {
        fqdn(target); // checked here, where a bad test name is easy to find
        self.cnames.insert(key(name), key(target));
        self
    }

    /// `a` CNAME `b` and `b` CNAME `a`: each answer is the two CNAMEs and nothing else.
    pub fn cname_loop(self, a: &str, b: &str) -> Self {
        self.cname(a, b).cname(b, a)
    }

    fn knows(&self, name: &str) -> bool {
        self.cnames.contains_key(name) || self.rules.keys().any(|(known, _)| known == name)
    }
}

/// The transport a query came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// One query the lab received, in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenQuery {
    /// Lowercase, without the final dot.
    pub name: String,
    pub record_type: RecordType,
    pub transport: Transport,
    /// When it was read, before any delay.
    pub at: Instant,
}

/// A running DNS lab. Dropping it (or [`DnsLab::shutdown`]) stops its tasks and closes
/// its sockets.
#[derive(Debug)]
pub struct DnsLab {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsLab {
    /// Binds UDP then TCP on the same ephemeral 127.0.0.1 port and serves `zone`
    /// there. Call it inside a tokio runtime; the lab's tasks run on it.
    pub async fn start(zone: Zone) -> io::Result<DnsLab> {
        let (udp, tcp) = bind_pair().await?;
        Self::serve(udp, tcp, zone)
    }

    /// Binds UDP then TCP on `addr` itself and serves `zone` there: for a lab that
    /// `getaddrinfo` must reach through resolv.conf, which takes no port (127.0.0.1:53
    /// inside a network namespace of the caller's). Call it inside a tokio runtime.
    pub async fn start_on(addr: SocketAddr, zone: Zone) -> io::Result<DnsLab> {
        let udp = UdpSocket::bind(addr).await?;
        let tcp = TcpListener::bind(udp.local_addr()?).await?;
        Self::serve(udp, tcp, zone)
    }

    /// Serves `zone` on a bound pair, UDP and TCP on the same address.
    fn serve(udp: UdpSocket, tcp: TcpListener, zone: Zone) -> io::Result<DnsLab> {
        let addr = udp.local_addr()?;
        let shared = Arc::new(Shared {
            zone,
            log: Mutex::new(Vec::new()),
        });
        let tasks = vec![
            tokio::spawn(serve_udp(udp, Arc::clone(&shared))),
            tokio::spawn(serve_tcp(tcp, Arc::clone(&shared))),
        ];
        Ok(DnsLab {
            addr,
            shared,
            tasks,
        })
    }

    /// `127.0.0.1:port` (or `start_on`'s address), the same for UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every query received so far, in order.
    pub fn queries(&self) -> Vec<SeenQuery> {
        self.shared.log().clone()
    }

    /// The queries received for `name` (any case, with or without the final dot).
    pub fn queries_for(&self, name: &str) -> Vec<SeenQuery> {
        let name = key(name);
        self.queries()
            .into_iter()
            .filter(|query| query.name == name)
            .collect()
    }

    /// Stops the lab (as dropping it does).
    pub fn shutdown(self) {}
}

impl Drop for DnsLab {
    fn drop(&mut self) {
        // Aborting the two server tasks drops their sockets and their JoinSet of TCP
        // connections, which aborts those in turn.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// UDP first, then TCP on its port: the OS picks a port free for UDP, which may be
/// taken for TCP by another process, so try again with a new one a few times.
async fn bind_pair() -> io::Result<(UdpSocket, TcpListener)> {
    let mut last_error = None;
    for _ in 0..BIND_TRIES {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no port free for UDP and TCP")))
}

/// What both server tasks read: the zone, and the log they write.
#[derive(Debug)]
struct Shared {
    zone: Zone,
    log: Mutex<Vec<SeenQuery>>,
}

impl Shared {
    fn log(&self) -> std::sync::MutexGuard<'_, Vec<SeenQuery>> {
        // A panicking test thread must not hide the log from the next assertion.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The reply to one received packet and how long to hold it, or `None` to stay
    /// silent.
    fn reply(&self, packet: &[u8], transport: Transport) -> Option<(Vec<u8>, Duration)> {
        // Garbage in, silence out: the lab only plays faults it was asked to play.
        let request = Message::from_vec(packet).ok()?;
        if request.metadata.message_type != MessageType::Query {
            return None;
        }
        let id = request.metadata.id;
        let [query] = request.queries.as_slice() else {
            return encode(
                &refusal(&request, ResponseCode::FormErr),
                transport,
                &request,
            )
            .map(|bytes| (bytes, Duration::ZERO));
        };
        let asked = key(&query.name().to_ascii());
        {
            let mut log = self.log();
            if log.len() < MAX_LOGGED_QUERIES {
                log.push(SeenQuery {
                    name: asked.clone(),
                    record_type: query.query_type(),
                    transport,
                    at: Instant::now(),
                });
            }
        }

        let mut response = Message::response(id, OpCode::Query);
        response.metadata.authoritative = true;
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        response.add_query(query.clone());

        // Follow CNAMEs inside the zone; a loop ends the chain where it closes.
        let mut owner = query.name().clone();
        let mut current = asked.clone();
        let mut visited = HashSet::from([current.clone()]);
        let mut looped = false;
        while let Some(target) = self.zone.cnames.get(&current) {
            if visited.len() > MAX_CNAME_HOPS {
                looped = true;
                break;
            }
            let target_name = fqdn(target);
            response.add_answer(Record::from_rdata(
                owner,
                DEFAULT_TTL,
                RData::CNAME(CNAME(target_name.clone())),
            ));
            owner = target_name;
            current.clone_from(target);
            if !visited.insert(current.clone()) {
                looped = true;
                break;
            }
        }

        let behaviour = if looped {
            None
        } else {
            self.zone.rules.get(&(current.clone(), query.query_type()))
        };
        let mut delay = Duration::ZERO;
        match behaviour {
            // A CNAME loop answers with its CNAMEs alone.
            None if looped => {}
            None if self.zone.knows(&current) => add_soa(&mut response, &owner),
            None => {
                response.metadata.response_code = ResponseCode::NXDomain;
                add_soa(&mut response, &owner);
            }
            Some(Behaviour::Answer {
                addrs,
                ttl,
                delay: wait,
            }) => {
                response.add_answers(records(&owner, *ttl, addrs));
                delay = *wait;
            }
            Some(Behaviour::Silent) => return None,
            Some(Behaviour::ServFail) => response.metadata.response_code = ResponseCode::ServFail,
            Some(Behaviour::Refused) => response.metadata.response_code = ResponseCode::Refused,
            Some(Behaviour::NxDomain) => {
                response.metadata.response_code = ResponseCode::NXDomain;
                add_soa(&mut response, &owner);
            }
            Some(Behaviour::NoData) => add_soa(&mut response, &owner),
            Some(Behaviour::Truncated { addrs }) => match transport {
                Transport::Udp => response.metadata.truncation = true,
                Transport::Tcp => {
                    response.add_answers(records(&owner, DEFAULT_TTL, addrs));
                }
            },
            Some(Behaviour::Malformed) => return Some((malformed(id), Duration::ZERO)),
            Some(Behaviour::Https {
                records,
                delay: wait,
            }) => {
                response.add_answers(records.iter().map(|svcb| {
                    Record::from_rdata(
                        owner.clone(),
                        DEFAULT_TTL,
                        RData::HTTPS(HTTPS(svcb.clone())),
                    )
                }));
                delay = *wait;
            }
            Some(Behaviour::MalformedHttps) => {
                let record = service(1, ".", vec![alpn(&["h2"])]);
                response.add_answer(Record::from_rdata(
                    owner,
                    DEFAULT_TTL,
                    RData::HTTPS(HTTPS(record)),
                ));
                let mut bytes = encode(&response, transport, &request)?;
                // key 1 (alpn), length 3, then the id "h2" with its length byte: claim 9.
                let at = bytes
                    .windows(7)
                    .position(|w| w == [0, 1, 0, 3, 2, b'h', b'2'])?;
                bytes[at + 4] = 9;
                return Some((bytes, Duration::ZERO));
            }
            Some(Behaviour::WrongName {
                owner: other,
                addrs,
            }) => {
                response.add_answers(records(&fqdn(other), DEFAULT_TTL, addrs));
            }
            Some(Behaviour::Huge { count }) => {
                let addrs = (0..*count).map(|index| numbered(query.query_type(), index));
                response.add_answers(records(&owner, DEFAULT_TTL, &addrs.collect::<Vec<_>>()));
            }
        }
        encode(&response, transport, &request).map(|bytes| (bytes, delay))
    }
}

/// The wire bytes of `response`, truncated (TC, no records) when too big for the
/// transport, as a real server does. (Over TCP, hickory's encoder itself stops at
/// 64 KiB and sets TC, keeping the records that fit.)
fn encode(response: &Message, transport: Transport, request: &Message) -> Option<Vec<u8>> {
    let limit = match transport {
        Transport::Udp => request.edns.as_ref().map_or(PLAIN_UDP_LIMIT, |edns| {
            usize::from(edns.max_payload()).max(PLAIN_UDP_LIMIT)
        }),
        Transport::Tcp => TCP_LIMIT,
    };
    let bytes = response.to_vec().ok()?;
    if bytes.len() <= limit {
        return Some(bytes);
    }
    let mut truncated = response.clone();
    truncated.answers.clear();
    truncated.authorities.clear();
    truncated.additionals.clear();
    truncated.metadata.truncation = true;
    truncated.to_vec().ok()
}

/// An error reply without records (for requests the lab does not understand).
fn refusal(request: &Message, code: ResponseCode) -> Message {
    let mut response = Message::error_msg(request.metadata.id, OpCode::Query, code);
    response.add_queries(request.queries.iter().cloned());
    response
}

/// A header that promises one question and one answer, then a label that claims 63
/// bytes and stops after two: no DNS parser can read past it.
fn malformed(id: u16) -> Vec<u8> {
    let [high, low] = id.to_be_bytes();
    // QR=1 RD=1 RA=1, NOERROR; QDCOUNT 1, ANCOUNT 1, NSCOUNT 0, ARCOUNT 0.
    vec![
        high, low, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 63, b'x', b'x',
    ]
}

/// A ServiceMode HTTPS record (AliasMode with priority 0): `target` is `.` for the
/// origin itself, else a name.
pub fn service(priority: u16, target: &str, params: Vec<(SvcParamKey, SvcParamValue)>) -> SVCB {
    let target = if target == "." {
        Name::root()
    } else {
        fqdn(target)
    };
    SVCB::new(priority, target, params)
}

/// The `alpn` SvcParam: these protocol ids (`h3`, `h2`, `http/1.1`).
pub fn alpn(ids: &[&str]) -> (SvcParamKey, SvcParamValue) {
    (
        SvcParamKey::Alpn,
        SvcParamValue::Alpn(Alpn(ids.iter().map(|id| (*id).to_owned()).collect())),
    )
}

/// One A or AAAA record per address, owned by `owner`, in order.
fn records(owner: &Name, ttl: u32, addrs: &[IpAddr]) -> Vec<Record> {
    addrs
        .iter()
        .map(|addr| {
            let data = match addr {
                IpAddr::V4(v4) => RData::A(A(*v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
            };
            Record::from_rdata(owner.clone(), ttl, data)
        })
        .collect()
}

/// The `index`th address of a huge answer: 10.0.x.y for A, fd00::x for AAAA.
fn numbered(record_type: RecordType, index: u16) -> IpAddr {
    match record_type {
        RecordType::AAAA => IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, index)),
        _ => {
            let [high, low] = index.to_be_bytes();
            IpAddr::V4(Ipv4Addr::new(10, 0, high, low))
        }
    }
}

/// The SOA of a negative answer (RFC 2308), owned by the parent of `name`, with a
/// short negative TTL.
fn add_soa(response: &mut Message, name: &Name) {
    let zone = name.base_name();
    let soa = SOA::new(
        fqdn("ns.lab.test"),
        fqdn("hostmaster.lab.test"),
        1,
        3600,
        600,
        86_400,
        60,
    );
    response.add_authority(Record::from_rdata(zone, 60, RData::SOA(soa)));
}

/// The zone's spelling of a name: lowercase, no final dot.
fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A test name as a fully qualified DNS name. Panics on a name DNS cannot carry: that
/// is a bug in the test.
fn fqdn(name: &str) -> Name {
    let mut parsed =
        Name::from_ascii(name).unwrap_or_else(|error| panic!("bad lab name {name:?}: {error}"));
    parsed.set_fqdn(true);
    parsed
}

/// Replies held for their delay, sent when due.
struct Outbox<T> {
    held: Vec<(Instant, T)>,
}

impl<T> Outbox<T> {
    fn new() -> Self {
        Self { held: Vec::new() }
    }

    /// Holds `reply` until `due`; drops it when the outbox is full.
    fn hold(&mut self, due: Instant, reply: T) {
        if self.held.len() < MAX_PENDING_REPLIES {
            self.held.push((due, reply));
        }
    }

    fn next_due(&self) -> Option<Instant> {
        self.held.iter().map(|(due, _)| *due).min()
    }

    /// The replies due at `now`, in due order.
    fn take_due(&mut self, now: Instant) -> Vec<T> {
        self.held.sort_by_key(|(due, _)| *due);
        let ready = self.held.partition_point(|(due, _)| *due <= now);
        self.held.drain(..ready).map(|(_, reply)| reply).collect()
    }
}

/// Sleeps until `due`, or forever when nothing is held.
async fn until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

async fn serve_udp(socket: UdpSocket, shared: Arc<Shared>) {
    // The largest datagram; the client's EDNS size is far smaller.
    let mut buffer = vec![0; usize::from(u16::MAX)];
    let mut outbox = Outbox::new();
    loop {
        let due = outbox.next_due();
        tokio::select! {
            received = socket.recv_from(&mut buffer) => {
                // An error here is about one datagram (e.g. an ICMP report); carry on.
                let Ok((len, peer)) = received else { continue };
                let Some((bytes, delay)) = shared.reply(&buffer[..len], Transport::Udp) else {
                    continue;
                };
                if delay.is_zero() {
                    let _ = socket.send_to(&bytes, peer).await;
                } else {
                    outbox.hold(Instant::now() + delay, (peer, bytes));
                }
            }
            () = until(due) => {
                for (peer, bytes) in outbox.take_due(Instant::now()) {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        }
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, most likely: give the process a moment.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        while connections.try_join_next().is_some() {}
        if connections.len() < MAX_TCP_CONNECTIONS {
            connections.spawn(serve_connection(stream, Arc::clone(&shared)));
        }
    }
}

/// One TCP connection: length-prefixed queries in, replies out as they come due, so
/// that a delayed answer does not hold the others on the same connection.
async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut received = Vec::new();
    let mut chunk = vec![0; 4096];
    let mut outbox = Outbox::new();
    let mut served = 0;
    loop {
        let due = outbox.next_due();
        tokio::select! {
            // `read` is cancel-safe (read_exact is not): bytes are kept in `received`.
            read = stream.read(&mut chunk) => {
                let len = match read {
                    Ok(0) | Err(_) => return,
                    Ok(len) => len,
                };
                received.extend_from_slice(&chunk[..len]);
                while let Some(packet) = take_frame(&mut received) {
                    served += 1;
                    if served > MAX_QUERIES_PER_CONNECTION {
                        return;
                    }
                    let Some((bytes, delay)) = shared.reply(&packet, Transport::Tcp) else {
                        continue;
                    };
                    if delay.is_zero() {
                        if write_frame(&mut stream, &bytes).await.is_err() {
                            return;
                        }
                    } else {
                        outbox.hold(Instant::now() + delay, bytes);
                    }
                }
            }
            () = until(due) => {
                for bytes in outbox.take_due(Instant::now()) {
                    if write_frame(&mut stream, &bytes).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The first complete length-prefixed message in `received`, removed from it.
fn take_frame(received: &mut Vec<u8>) -> Option<Vec<u8>> {
    let [high, low, ..] = received[..] else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([high, low]));
    if received.len() < 2 + len {
        return None;
    }
    let frame = received[2..2 + len].to_vec();
    received.drain(..2 + len);
    Some(frame)
}

async fn write_frame(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| io::Error::other("reply too long"))?;
    let mut frame = Vec::with_capacity(2 + bytes.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(bytes);
    stream.write_all(&frame).await
}
