"""The Python asyncio contender of benches/contenders/ (include_str! in main.rs) (standard library only).

Connects with loop.create_connection(..., happy_eyeballs_delay=DELAY), with
loop.getaddrinfo replaced by a coroutine that answers the benchmark's address list,
so that asyncio races exactly the addresses every other contender gets. Times are
taken in-process with time.perf_counter_ns, so interpreter start-up is excluded.

Two modes:
  serve              read commands on stdin, one per line, answer one line each:
                       lat DELAY SPEC N        -> "ok NS NS ..."  (N connects, one at a time)
                       tp DELAY SPEC CONC N    -> "ok WALL_NS"    (N connects, CONC at once)
  once DELAY SPEC WARM
                     one warm-up connect to WARM, then one timed connect to SPEC;
                     print "ok NS MAXRSS_KB", keep the connection open until stdin
                     closes (so that the harness can sample this process).

SPEC is "PORT;ADDR,ADDR,..." (IPv6 without brackets).
"""

import asyncio
import resource
import socket
import sys
import time

HOST = "bench.test"
TIMEOUT = 10.0


def parse_spec(spec):
    port_text, addrs = spec.split(";", 1)
    port = int(port_text)
    infos = []
    for addr in addrs.split(","):
        if ":" in addr:
            infos.append((socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (addr, port, 0, 0)))
        else:
            infos.append((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (addr, port)))
    return port, infos


class Contender:
    def __init__(self, loop):
        self.loop = loop
        self.answer = []

        async def getaddrinfo(host, port, *, family=0, type=0, proto=0, flags=0):
            return list(self.answer)

        loop.getaddrinfo = getaddrinfo

    async def connect(self, port, delay):
        transport, _ = await asyncio.wait_for(
            self.loop.create_connection(asyncio.Protocol, HOST, port, happy_eyeballs_delay=delay),
            TIMEOUT,
        )
        return transport

    async def timed(self, port, delay):
        start = time.perf_counter_ns()
        transport = await self.connect(port, delay)
        took = time.perf_counter_ns() - start
        transport.close()
        return took

    async def latency(self, delay, spec, n):
        port, self.answer = parse_spec(spec)
        return [await self.timed(port, delay) for _ in range(n)]

    async def throughput(self, delay, spec, conc, n):
        port, self.answer = parse_spec(spec)

        async def worker(count):
            for _ in range(count):
                transport = await self.connect(port, delay)
                transport.close()

        share = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
        start = time.perf_counter_ns()
        await asyncio.gather(*(worker(c) for c in share))
        return time.perf_counter_ns() - start


async def serve():
    bench = Contender(asyncio.get_running_loop())
    for line in sys.stdin:
        words = line.split()
        try:
            if words[0] == "lat":
                samples = await bench.latency(float(words[1]), words[2], int(words[3]))
                reply = "ok " + " ".join(str(s) for s in samples)
            elif words[0] == "tp":
                wall = await bench.throughput(float(words[1]), words[2], int(words[3]), int(words[4]))
                reply = "ok %d" % wall
            else:
                reply = "err unknown command %r" % words[0]
        except Exception as error:  # reported to the harness, which prints it
            reply = "err %s: %s" % (type(error).__name__, error)
        print(reply, flush=True)
        await asyncio.sleep(0)


async def once(delay, spec, warm):
    bench = Contender(asyncio.get_running_loop())
    port, bench.answer = parse_spec(warm)
    (await bench.connect(port, delay)).close()
    await asyncio.sleep(0.001)
    port, bench.answer = parse_spec(spec)
    start = time.perf_counter_ns()
    transport = await bench.connect(port, delay)
    took = time.perf_counter_ns() - start
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("ok %d %d" % (took, maxrss), flush=True)
    sys.stdin.read()
    transport.close()


def main():
    if sys.argv[1] == "serve":
        asyncio.run(serve())
    elif sys.argv[1] == "once":
        try:
            asyncio.run(once(float(sys.argv[2]), sys.argv[3], sys.argv[4]))
        except Exception as error:
            print("err %s: %s" % (type(error).__name__, error), flush=True)
    else:
        sys.exit("usage: serve | once DELAY SPEC WARM")


if __name__ == "__main__":
    main()
