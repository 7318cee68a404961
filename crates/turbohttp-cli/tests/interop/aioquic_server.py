#!/usr/bin/env python3
"""An HTTP/3 server on aioquic, for turbohttp's interop test (issue 23).

    python3 aioquic_server.py --host 127.0.0.1 --port 0 --cert server.pem --key server.key

Serves HTTP/3 (ALPN h3) on HOST:PORT (UDP; port 0 picks a free one) with the given
certificate chain and private key (PEM). Every request is answered 200 with the body
"hello from aioquic" and a `server: aioquic` header (HEAD: no body; a request body is
read and ignored).

Standard output is for the test, one line each, flushed at once: first the bound port
when ready (so that a test waits for that line instead of sleeping), then an event per
request (`request CONN METHOD PATH AUTHORITY`) and per connection that ends
(`closed CONN 0xCODE REASON`: the QUIC or HTTP/3 error code and reason phrase of the
CONNECTION_CLOSE, or aioquic's own on an idle timeout). CONN numbers the connections
from 1 in the order they came. aioquic reports a close once its draining period is
over (three probe timeouts), so one connection's `closed` may follow the next one's
`request`. Standard error is a log for
people. It exits when stdin closes (whoever started it is gone or done) or on SIGTERM /
SIGINT.

Needs aioquic (`python3 -m pip install aioquic`); nothing else beyond the standard
library. Written against aioquic 1.7's asyncio API, as its examples/http3_server.py.
"""

import argparse
import asyncio
import itertools
import os
import signal
import sys
import threading

import aioquic
from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, ProtocolNegotiated, QuicEvent

BODY = b"hello from aioquic\n"


def log(message: str) -> None:
    print(f"aioquic_server: {message}", file=sys.stderr, flush=True)


def emit(line: str) -> None:
    print(line, flush=True)
    log(line)


class Http3Server(QuicConnectionProtocol):
    """One QUIC connection: HTTP/3 once ALPN says h3; answers each request stream."""

    numbers = itertools.count(1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._number = next(Http3Server.numbers)
        self._http: H3Connection | None = None
        # Request streams whose head came in: stream id -> method.
        self._requests: dict[int, str] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated):
            log(f"ALPN {event.alpn_protocol}")
            if event.alpn_protocol in H3_ALPN:
                self._http = H3Connection(self._quic)
        elif isinstance(event, ConnectionTerminated):
            emit(
                f"closed {self._number} 0x{event.error_code:x} {event.reason_phrase}"
            )
        if self._http is not None:
            for http_event in self._http.handle_event(event):
                self.http_event_received(http_event)

    def http_event_received(self, event: H3Event) -> None:
        if isinstance(event, HeadersReceived):
            if event.stream_id in self._requests:
                # Trailers: the request is already known.
                if event.stream_ended:
                    self.respond(event.stream_id)
                return
            headers = dict(event.headers)
            method = headers.get(b":method", b"").decode()
            self._requests[event.stream_id] = method
            path = headers.get(b":path", b"").decode()
            authority = headers.get(b":authority", b"").decode()
            emit(f"request {self._number} {method} {path} {authority}")
            if event.stream_ended:
                self.respond(event.stream_id)
        elif isinstance(event, DataReceived):
            if event.stream_ended and event.stream_id in self._requests:
                self.respond(event.stream_id)

    def respond(self, stream_id: int) -> None:
        method = self._requests.pop(stream_id)
        assert self._http is not None
        self._http.send_headers(
            stream_id=stream_id,
            headers=[
                (b":status", b"200"),
                (b"server", b"aioquic"),
                (b"x-aioquic-version", aioquic.__version__.encode()),
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(BODY)).encode()),
            ],
            end_stream=method == "HEAD",
        )
        if method != "HEAD":
            self._http.send_data(stream_id=stream_id, data=BODY, end_stream=True)
        self.transmit()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="the address to bind (UDP)")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--cert", required=True, help="certificate chain, PEM")
    parser.add_argument("--key", required=True, help="private key, PEM")
    args = parser.parse_args()

    configuration = QuicConfiguration(alpn_protocols=H3_ALPN, is_client=False)
    configuration.load_cert_chain(args.cert, args.key)

    server = await serve(
        args.host,
        args.port,
        configuration=configuration,
        create_protocol=Http3Server,
    )
    # aioquic has no public accessor for the bound address; QuicServer keeps the
    # datagram transport of the socket it bound.
    port = server._transport.get_extra_info("sockname")[1]

    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, done.set)

    def watch_stdin() -> None:
        # A thread, as stdin may be anything (a pipe, a terminal, /dev/null): EOF or
        # an error means whoever started us is gone or done.
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except OSError:
            pass
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=watch_stdin, name="stdin", daemon=True).start()

    log(f"aioquic {aioquic.__version__} serving HTTP/3 on {args.host} port {port}")
    print(port, flush=True)
    try:
        await done.wait()
    finally:
        server.close()
    log("stopped")


if __name__ == "__main__":
    asyncio.run(main())
