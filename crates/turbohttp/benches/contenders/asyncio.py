"""The Python asyncio contender of benches/contenders/ (include_str! in main.rs) (standard library only).

Connects with loop.create_connection(..., happy_eyeballs_delay=DELAY), with
loop.getaddrinfo replaced by a coroutine that answers the benchmark's address list,
so that asyncio races exactly the addresses every other contender gets. Times are
taken in-process with time.perf_counter_ns, so interpreter start-up is excluded.

Two modes:
  serve              read commands on stdin, one per line, answer one line each:
                       lat DELAY SPEC N        -> "ok NS NS ..."  (N connects, one at a time)
                       tp DELAY SPEC CONC N    -> "ok WALL_NS"    (N connects, CONC at once)
  once DELAY WARM     one warm-up connect to WARM, then one timed connect to the
                     target read from stdin; print "ok NS MAXRSS_KB", keep the
                     connection open until stdin closes (so that the harness can
                     sample this process).
  many DELAY N WARM  one warm-up connect to WARM, then N connects at once to the
                     target read from stdin, each its own task, each connection closed
                     as soon as it is made; print "ok WALL_NS CPU_NS HWM_GROWTH_KIB V6
                     FIRST_NS FD_LIMIT P50_NS P99_NS MAX_NS" (as the Rust worker does:
                     WALL from the first task created until gather returns; each
                     connect's latency from that start until it is done, nearest rank),
                     wait for stdin to close.

WARM is "PORT;ADDR,ADDR,..." (IPv6 without brackets). The target on stdin is the port,
then one address a line, then an empty line (no copy of the whole list is held).
"""

import asyncio
import resource
import socket
import sys
import time

HOST = "bench.test"
TIMEOUT = 10.0


def info(addr, port):
    if ":" in addr:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (addr, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (addr, port))


def parse_spec(spec):
    port_text, addrs = spec.split(";", 1)
    port = int(port_text)
    return port, [info(addr, port) for addr in addrs.split(",")]


def read_target():
    port = int(sys.stdin.readline())
    infos = []
    while True:
        line = sys.stdin.readline().strip()
        if not line:
            return port, infos
        infos.append(info(line, port))


def hwm_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def fd_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def nearest_rank(ordered, pct):
    """The value at rank ceil(n * pct / 100) of a sorted list, integers only (as the Rust worker)."""
    rank = min(max(-(-len(ordered) * pct // 100), 1), len(ordered))
    return ordered[rank - 1]


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        top = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


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


async def once(delay, warm):
    bench = Contender(asyncio.get_running_loop())
    port, bench.answer = parse_spec(warm)
    (await bench.connect(port, delay)).close()
    await asyncio.sleep(0.001)
    port, bench.answer = read_target()
    start = time.perf_counter_ns()
    transport = await bench.connect(port, delay)
    took = time.perf_counter_ns() - start
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("ok %d %d" % (took, maxrss), flush=True)
    sys.stdin.read()
    transport.close()


async def many(delay, n, warm):
    raise_fd_limit(3 * n + 256)
    bench = Contender(asyncio.get_running_loop())
    port, bench.answer = parse_spec(warm)
    (await bench.connect(port, delay)).close()
    port, bench.answer = read_target()
    hwm0, cpu0 = hwm_kib(), time.process_time_ns()
    start = time.perf_counter_ns()

    async def one():
        transport = await bench.connect(port, delay)
        took = time.perf_counter_ns() - start
        on_v6 = transport.get_extra_info("peername")[0].count(":") > 0
        transport.close()
        return took, on_v6

    tasks = [asyncio.ensure_future(one()) for _ in range(n)]
    done = await asyncio.gather(*tasks, return_exceptions=True)
    wall = time.perf_counter_ns() - start
    cpu, hwm = time.process_time_ns() - cpu0, hwm_kib()
    failed = [d for d in done if isinstance(d, BaseException)]
    if failed:
        first = failed[0]
        print("err %d of %d failed (fd soft limit %d), first: %s: %s" % (len(failed), n, fd_limit(), type(first).__name__, first), flush=True)
    else:
        times = sorted(t for t, _ in done)
        v6 = sum(1 for _, on_v6 in done if on_v6)
        print(
            "ok %d %d %d %d %d %d %d %d %d"
            % (wall, cpu, max(0, hwm - hwm0), v6, times[0], fd_limit(),
               nearest_rank(times, 50), nearest_rank(times, 99), times[-1]),
            flush=True,
        )
    sys.stdin.read()


def main():
    if sys.argv[1] == "serve":
        asyncio.run(serve())
    elif sys.argv[1] == "once":
        try:
            asyncio.run(once(float(sys.argv[2]), sys.argv[3]))
        except Exception as error:
            print("err %s: %s" % (type(error).__name__, error), flush=True)
    elif sys.argv[1] == "many":
        try:
            asyncio.run(many(float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
        except Exception as error:
            print("err %s: %s" % (type(error).__name__, error), flush=True)
    else:
        sys.exit("usage: serve | once DELAY WARM | many DELAY N WARM")


if __name__ == "__main__":
    main()
