//! [`QuicEndpoints`]: the client's UDP sockets for QUIC, one per family.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use turbohttp_proto::{AddressFamily, AttemptError};

use crate::dial::socket::{SocketOptions, udp_socket};

/// The client's QUIC endpoints: one UDP socket per family, bound with the socket
/// options that apply to UDP (interface, local address, buffer sizes) on first use,
/// and shared by every QUIC attempt after it from the same tokio runtime: quinn
/// tells connections apart by their connection ids, so one socket serves a whole
/// race and every later connect.
///
/// quinn drives an endpoint on a task of the runtime that bound it, which ends with
/// that runtime: a QUIC attempt from another runtime (one per test, say) binds that
/// runtime an endpoint of its own in the family's place, and the old socket closes
/// once its connections have ended.
pub struct QuicEndpoints {
    socket: SocketOptions,
    /// IPv6, IPv4: each with the runtime that drives it.
    bound: Mutex<[Option<(quinn::Endpoint, tokio::runtime::Id)>; 2]>,
}

impl QuicEndpoints {
    /// Endpoints whose sockets get `socket`'s options; none is bound yet.
    pub fn new(socket: SocketOptions) -> Self {
        Self {
            socket,
            bound: Mutex::new([None, None]),
        }
    }

    /// The endpoint of `family`, bound now if it is the first use. Failures are
    /// what a TCP socket with the same options would get (a missing interface ends
    /// the race).
    pub(crate) fn endpoint(&self, family: AddressFamily) -> Result<quinn::Endpoint, AttemptError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| AttemptError::terminal(std::io::Error::other(e)))?
            .id();
        let mut bound = self.bound.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = &mut bound[index(family)];
        if let Some((endpoint, id)) = slot
            && *id == runtime
        {
            return Ok(endpoint.clone());
        }
        let socket = udp_socket(family, &self.socket)?;
        let endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            None,
            socket,
            Arc::new(quinn::TokioRuntime),
        )
        .map_err(AttemptError::connect)?;
        *slot = Some((endpoint.clone(), runtime));
        Ok(endpoint)
    }

    /// The local address of `family`'s endpoint, once bound.
    pub fn local_addr(&self, family: AddressFamily) -> Option<SocketAddr> {
        let bound = self.bound.lock().unwrap_or_else(PoisonError::into_inner);
        bound[index(family)]
            .as_ref()
            .and_then(|(e, _)| e.local_addr().ok())
    }

    /// How many QUIC connections the endpoints hold now (open or still closing):
    /// after a race, only the winner's.
    pub fn open_connections(&self) -> usize {
        let bound = self.bound.lock().unwrap_or_else(PoisonError::into_inner);
        bound
            .iter()
            .flatten()
            .map(|(endpoint, _)| endpoint.open_connections())
            .sum()
    }
}

fn index(family: AddressFamily) -> usize {
    match family {
        AddressFamily::V6 => 0,
        AddressFamily::V4 => 1,
    }
}

impl fmt::Debug for QuicEndpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuicEndpoints")
            .field("v6", &self.local_addr(AddressFamily::V6))
            .field("v4", &self.local_addr(AddressFamily::V4))
            .finish_non_exhaustive()
    }
}
