"""Benchmark: how fast `mcbot serve` acknowledges a slash command, against bare Bolt.

    python bench/ack.py [--concurrency 16] [--requests 3000 | --duration S] [--rounds 5]

Starts, as subprocesses on 127.0.0.1:
  ours          `mcbot serve` (a temp SQLite database, Slack = a SlackStandIn in this process)
  distributed   `mcbot serve` in distributed mode (SLACK_CLIENT_ID/SECRET, ENCRYPTION_KEYS, no
                SLACK_BOT_TOKEN): the workspace's token comes from the installation store
                (encrypted, cached), authorized by Bolt; compared with ours (single workspace)
                in the same rounds: distributed' throughput >= 0.9 x ours'.
  bare          bench/bare_bolt.py: Bolt's AsyncApp, process_before_response=True, a listener
                that only does `await ack("ok")`, through Bolt's Starlette adapter
  bare-default  the same in Bolt's default mode (process_before_response=False): shown to explain
                the choice of stack, no target applies to it
  floor         bare, started with --with-our-libraries: it first imports the libraries ours is
                built on (SQLAlchemy's ORM, pydantic-settings, Jinja, PyYAML, Babel), then serves
                the same `ack("ok")`. Spawned for the cold-start measure only (no rounds): what
                ours' start and memory cannot go below while it is built on them; no target
                applies to it (--no-floor leaves it out)
all on uvicorn with the same settings (one worker, loop asyncio, no access log, log level
warning). It sends each the same signed `/multichannel assess ea:license` commands at the same
concurrency, and prints throughput, p50/p99 under load, p50/p99 of a lone client, cold start and
the ratios against the targets:

  ours' throughput >= 0.9 x bare's      ours' p99 under load <= 1.2 x bare's
  ours' lone-request p50 <= 1 ms
  ours' cold start <= 1.5 x bare's      ours' peak memory (process tree) <= 2 x bare's

Peak memory: after the last round, the sum over the target's process and its descendants
(if any: ours has had none since the decision log's writer became a thread) of each one's peak
resident set (VmHWM, Linux), in MB.

Every response must be 200; ours must carry the decision (JSON with "blocks"), bare's is "ok".
Exit status 1 when any response failed (2 on bad arguments); --strict also fails on a missed
target.

    python bench/ack.py --profile [--requests N]

runs only ours, under cProfile, and prints where its event loop spends the time per command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import math
import os
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# bench/ holds policy.py, named like the package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import aiohttp  # noqa: E402

from bot.testkit import SlackStandIn, new_trigger_id, sign, slash_command_body  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
COMMAND_TEXT = "assess ea:license"
TARGET_THROUGHPUT_RATIO = 0.9
TARGET_P99_RATIO = 1.2
TARGET_LONE_P50_MS = 1.0
TARGET_COLD_RATIO = 1.5  # spawn -> first command 200, ours against bare Bolt
TARGET_MEMORY_RATIO = 2.0  # peak resident memory of the process tree, ours against bare Bolt
TARGET_DISTRIBUTED_RATIO = 0.9  # distributed mode's throughput against single-workspace mode
CLIENT_ID, CLIENT_SECRET = "1111111111.2222222222", "bench-client-secret"
HERE = Path(__file__).resolve().parent
START_TIMEOUT = 60.0  # seconds for a process to answer its first request
DURATION_POOL = 20_000  # pre-signed bodies cycled through in --duration mode


# ---------------------------------------------------------------------------- targets
@dataclass
class Target:
    name: str
    argv: list[str]
    expect: Callable[[bytes], bool]
    has_healthz: bool = False
    env: dict[str, str] = field(default_factory=dict)  # this target's own settings
    unset: tuple[str, ...] = ()  # settings this target must not see
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    cold_healthz: list[float] = field(default_factory=list)  # s, spawn -> first GET /healthz 200
    cold_command: list[float] = field(default_factory=list)  # s, spawn -> first command 200
    load: list[LoadResult] = field(default_factory=list)
    lone: list[LoneResult] = field(default_factory=list)
    failures: int = 0
    failure_samples: list[str] = field(default_factory=list)
    peak_rss: float | None = None  # bytes: the process tree's peaks summed (after the rounds)
    start_rss: list[float] = field(default_factory=list)  # bytes: the same, at the first answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record_failure(self, what: str) -> None:
        self.failures += 1
        if len(self.failure_samples) < 5:
            self.failure_samples.append(what)


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    server_cpu: float | None  # seconds of CPU the server used during the run
    client_cpu: float  # seconds of CPU this process used during the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass
class LoneResult:
    latencies: list[float]


def ours_expect(body: bytes) -> bool:
    return body.startswith(b"{") and b'"blocks"' in body


def bare_expect(body: bytes) -> bool:
    return body == b"ok"


def mcbot_argv() -> list[str]:
    script = Path(sys.executable).parent / "mcbot"
    if script.exists():
        return [str(script)]
    found = shutil.which("mcbot")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from bot.cli.main import main; sys.exit(main())"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads) and of its child processes (ours: the
    decision log's writer before it became a thread), from /proc; None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue  # a thread that ended, or a kernel without the children file
    return own + sum(cpu_seconds(child) or 0.0 for child in children)


# ---------------------------------------------------------------------------- requests
@dataclass
class Signed:
    body: bytes
    headers: dict[str, str]

    def raw(self, port: int) -> bytes:
        """The whole HTTP/1.1 request, as the raw client sends it."""
        head = ["POST /slack/events HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


def signed_pool(n: int) -> list[Signed]:
    """`n` distinct command bodies (fresh trigger_id), each signed now (timestamp + HMAC)."""
    pool = []
    for _ in range(n):
        body = slash_command_body(text=COMMAND_TEXT, trigger_id=new_trigger_id())
        pool.append(Signed(body, sign(SECRET, body)))
    return pool


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: a fraction of aiohttp's CPU per
    request, which matters when the load generator shares 2 cores with the server. Handles
    Content-Length and chunked responses and reconnects when the server closes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, data: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(data)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            # the server closed an idle keep-alive connection: once more on a new one
            await self.close()
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.write(data)
            head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            for _ in range(100_000):
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class Client:
    """`connections` keep-alive connections to one target, raw or aiohttp."""

    def __init__(self, target: Target, connections: int, kind: str) -> None:
        self.target = target
        self.kind = kind
        self.session = new_session(connections) if kind == "aiohttp" else None
        self.free = [RawConnection(target.port) for _ in range(connections)]

    async def post(self, signed: Signed, raw: bytes | None = None) -> tuple[int, bytes]:
        if self.session is not None:
            return await post_command(self.session, self.target, signed.body, signed.headers)
        conn = self.free.pop()
        try:
            return await conn.request(raw if raw is not None else signed.raw(self.target.port))
        except BaseException:
            await conn.close()
            raise
        finally:
            self.free.append(conn)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        for conn in self.free:
            await conn.close()


async def post_command(
    session: aiohttp.ClientSession, target: Target, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    async with session.post(f"{target.url}/slack/events", data=body, headers=headers) as r:
        return r.status, await r.read()


def check(target: Target, status: int, body: bytes) -> bool:
    if status == 200 and target.expect(body):
        return True
    target.record_failure(f"HTTP {status}: {body[:160]!r}")
    return False


def new_session(connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=60)
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=10), auto_decompress=False
    )


CLIENT_ERRORS = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    ConnectionError,
    OSError,
    asyncio.IncompleteReadError,
    ValueError,
)


async def send_many(
    client: Client,
    pool: list[Signed],
    concurrency: int,
    *,
    count: int | None,
    duration: float | None,
    latencies: list[float] | None,
) -> int:
    """Send `count` commands (or for `duration` seconds, cycling through the pool) from
    `concurrency` workers; returns how many were sent."""
    target = client.target
    raws = [s.raw(target.port) for s in pool] if client.kind == "raw" else [None] * len(pool)
    sent = 0
    deadline = time.perf_counter() + duration if duration is not None else math.inf
    limit = count if count is not None else 10_000_000  # bounded either way

    async def worker() -> None:
        nonlocal sent
        while sent < limit and time.perf_counter() < deadline:
            i = sent % len(pool)
            sent += 1
            start = time.perf_counter()
            try:
                async with asyncio.timeout(10):
                    status, data = await client.post(pool[i], raws[i])
            except CLIENT_ERRORS as exc:
                target.record_failure(f"{type(exc).__name__}: {exc}")
                continue
            if latencies is not None:
                latencies.append(time.perf_counter() - start)
            check(target, status, data)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


async def run_load(target: Target, args: argparse.Namespace) -> LoadResult:
    duration = args.duration
    pool = signed_pool(DURATION_POOL if duration is not None else args.requests)
    client = Client(target, args.concurrency, args.client)
    try:
        # open the connections (uvicorn drops idle ones after 5 s) and warm the path again
        warm = signed_pool(args.concurrency * 4)
        await send_many(
            client, warm, args.concurrency, count=len(warm), duration=None, latencies=None
        )
        latencies: list[float] = []
        assert target.proc is not None
        server_cpu0, client_cpu0 = cpu_seconds(target.proc.pid), time.process_time()
        start = time.perf_counter()
        sent = await send_many(
            client,
            pool,
            args.concurrency,
            count=None if duration is not None else args.requests,
            duration=duration,
            latencies=latencies,
        )
        seconds = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu0
        server_cpu1 = cpu_seconds(target.proc.pid)
    finally:
        await client.close()
    server_cpu = None if server_cpu0 is None or server_cpu1 is None else server_cpu1 - server_cpu0
    return LoadResult(sent, seconds, latencies, server_cpu, client_cpu)


async def run_lone(target: Target, args: argparse.Namespace) -> LoneResult:
    """Sequential commands on one keep-alive connection (the first 20 warm up)."""
    pool = signed_pool(args.lone + 20)
    latencies = []
    client = Client(target, 1, args.client)
    try:
        for i, signed in enumerate(pool):
            raw = signed.raw(target.port)
            start = time.perf_counter()
            try:
                async with asyncio.timeout(10):
                    status, data = await client.post(signed, raw)
            except CLIENT_ERRORS as exc:
                target.record_failure(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - start
            if check(target, status, data) and i >= 20:
                latencies.append(elapsed)
    finally:
        await client.close()
    return LoneResult(latencies)


# ---------------------------------------------------------------------------- processes
def spawn(target: Target, env: dict[str, str], workdir: Path) -> float:
    """Start the target's process; returns the perf_counter() of the spawn."""
    target.port = free_port()
    argv = [*target.argv, "--host", "127.0.0.1", "--port", str(target.port)]
    target.log_path = workdir / f"{target.name}.log"
    log = target.log_path.open("ab")
    started = time.perf_counter()
    try:
        own = {k: v for k, v in env.items() if k not in target.unset} | target.env
        target.proc = subprocess.Popen(
            argv, env=own, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
        )
    finally:
        log.close()  # the child holds its own descriptor
    return started


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (Linux /proc), parents first."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                todo.extend(int(child) for child in task.read_text().split())
    return found


def tree_peak_rss(pid: int) -> float | None:
    """The sum of each process's peak resident set (VmHWM) in `pid`'s tree, in bytes; None
    when /proc does not tell (not Linux). An upper bound of the tree's peak: the peaks of
    the processes need not coincide."""
    total, seen = 0.0, False
    for each in descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += float(line.split()[1]) * 1024
                    seen = True
    return total if seen else None


def stop(target: Target) -> None:
    proc, target.proc = target.proc, None
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def log_tail(target: Target, lines: int = 20) -> str:
    if target.log_path is None or not target.log_path.exists():
        return ""
    return "\n".join(target.log_path.read_text(errors="replace").splitlines()[-lines:])


async def cold_start(target: Target, env: dict[str, str], workdir: Path) -> None:
    """Spawn the target and poll (every 2 ms, a fresh connection each time) until it answers:
    GET /healthz 200 (ours), then a signed command 200 (both)."""
    started = spawn(target, env, workdir)
    assert target.proc is not None
    deadline = started + START_TIMEOUT

    async def poll(request: Callable[[aiohttp.ClientSession], Any]) -> float:
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True),
            timeout=aiohttp.ClientTimeout(total=START_TIMEOUT),
        ) as session:
            while time.perf_counter() < deadline:
                if target.proc is None or target.proc.poll() is not None:
                    raise RuntimeError(f"{target.name} exited at start:\n{log_tail(target)}")
                try:
                    status, data = await request(session)
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.002)
                    continue
                if status == 200:
                    return time.perf_counter() - started
                raise RuntimeError(f"{target.name}: first answer HTTP {status}: {data[:300]!r}")
        raise RuntimeError(f"{target.name} did not answer within {START_TIMEOUT:.0f} s")

    async def healthz(session: aiohttp.ClientSession) -> tuple[int, bytes]:
        async with session.get(f"{target.url}/healthz") as r:
            return r.status, await r.read()

    async def command(session: aiohttp.ClientSession) -> tuple[int, bytes]:
        body = slash_command_body(text=COMMAND_TEXT, trigger_id=new_trigger_id())
        status, data = await post_command(session, target, body, sign(SECRET, body))
        if status == 200 and not target.expect(data):
            raise RuntimeError(f"{target.name}: unexpected first answer {data[:300]!r}")
        return status, data

    if target.has_healthz:
        target.cold_healthz.append(await poll(healthz))
    target.cold_command.append(await poll(command))


# ---------------------------------------------------------------------------- report
def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def pick(values: list[float], how: str, better: Callable[[list[float]], float]) -> float:
    return better(values) if how == "best" else statistics.median(values)


def summarize(target: Target, how: str) -> dict[str, float]:
    """One figure per metric over the rounds: the median of each (or the best of each)."""
    rps = [r.rps for r in target.load]
    out = {
        "rps": pick(rps, how, max),
        "p50": pick([percentile(r.latencies, 0.50) for r in target.load], how, min),
        "p99": pick([percentile(r.latencies, 0.99) for r in target.load], how, min),
        "lone_p50": pick([percentile(r.latencies, 0.50) for r in target.lone], how, min),
        "lone_p99": pick([percentile(r.latencies, 0.99) for r in target.lone], how, min),
        "cold": statistics.median(target.cold_command),
    }
    cpu = [r.server_cpu / r.requests for r in target.load if r.server_cpu is not None]
    out["server_cpu"] = statistics.median(cpu) if cpu else math.nan
    out["client_cpu"] = statistics.median(r.client_cpu / r.requests for r in target.load)
    return out


def print_rounds(targets: list[Target]) -> None:
    print("\nper round (load: requests/s, p50, p99 ms | lone: p50, p99 ms):")
    for t in targets:
        for i, (load, lone) in enumerate(zip(t.load, t.lone, strict=True), 1):
            print(
                f"  {t.name:<13} round {i}: {load.rps:8,.0f} req/s  "
                f"{ms(percentile(load.latencies, 0.5)):>7} "
                f"{ms(percentile(load.latencies, 0.99)):>7}"
                f"  | lone {ms(percentile(lone.latencies, 0.5)):>6} "
                f"{ms(percentile(lone.latencies, 0.99)):>6}"
            )


def report(targets: list[Target], args: argparse.Namespace, floor: Target | None) -> bool:
    """Print the table and the targets; True when all are met."""
    how = args.pick
    rows = {t.name: summarize(t, how) for t in targets}
    print_rounds(targets)
    print(
        f"\nsummary ({'median' if how == 'median' else 'best'} of {args.rounds} rounds per "
        f"figure; concurrency {args.concurrency}; lone = 1 client, 1 connection):\n"
    )
    header = (
        f"{'target':<13} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'lone p50':>9} "
        f"{'lone p99':>9} {'cold start ms':>14} {'srv CPU µs/req':>15}"
    )
    print(header)
    print("-" * len(header))
    for t in targets:
        r = rows[t.name]
        cold = ms(r["cold"])
        if t.cold_healthz:
            cold = f"{ms(statistics.median(t.cold_healthz))}/{cold}"
        print(
            f"{t.name:<13} {r['rps']:8,.0f} {ms(r['p50']):>7} {ms(r['p99']):>7} "
            f"{ms(r['lone_p50']):>9} {ms(r['lone_p99']):>9} {cold:>14} "
            f"{r['server_cpu'] * 1e6:>15,.0f}"
        )
    print(
        "\ncold start: spawn -> first 200 (median of "
        f"{len(targets[0].cold_command)} spawns); ours shows healthz/first command, the first "
        "command includes Bolt's auth.test; the first spawn of ours also migrates an empty "
        "database; bot/ and policy/ were byte-compiled first, as pip does for Bolt's packages:"
    )
    for t in targets:
        runs = ", ".join(ms(s) for s in t.cold_command)
        extra = f"  (healthz: {', '.join(ms(s) for s in t.cold_healthz)})" if t.cold_healthz else ""
        print(f"  {t.name:<13} first command ms: {runs}{extra}")
    client = ", ".join(f"{t.name} {rows[t.name]['client_cpu'] * 1e6:.0f}" for t in targets)
    print(f"load generator CPU µs/req (shares the 2 cores): {client}")
    peaks = ", ".join(
        f"{t.name} {t.peak_rss / 2**20:.1f}" for t in targets if t.peak_rss is not None
    )
    print(f"peak memory MB (each process's VmHWM summed over the process tree): {peaks}")
    print("srv CPU: the server process (all its threads) and its children, if any")
    if floor is not None:
        print_floor(floor, [t for t in targets if t.name in ("ours", "bare")])

    ours, bare = rows["ours"], rows["bare"]
    # Ratios per round (ours and bare ran back to back, on the machine as it was then), then
    # the median over the rounds: on a shared machine whose speed drifts by tens of percent
    # from one minute to the next, this cancels the drift that a ratio of medians keeps.
    by_name = {t.name: t for t in targets}
    rps_ratios = [
        o.rps / b.rps for o, b in zip(by_name["ours"].load, by_name["bare"].load, strict=True)
    ]
    p99_ratios = [
        percentile(o.latencies, 0.99) / percentile(b.latencies, 0.99)
        for o, b in zip(by_name["ours"].load, by_name["bare"].load, strict=True)
    ]
    rps_ratio = pick(rps_ratios, how, max)
    p99_ratio = pick(p99_ratios, how, min)
    print(
        "ours/bare per round: throughput "
        + " ".join(f"{r:.2f}" for r in rps_ratios)
        + "; p99 "
        + " ".join(f"{r:.2f}" for r in p99_ratios)
    )
    checks = [
        (
            f"throughput ours/bare = {rps_ratio:.2f}x",
            f">= {TARGET_THROUGHPUT_RATIO}x",
            rps_ratio >= TARGET_THROUGHPUT_RATIO,
        ),
        (
            f"p99 under load ours/bare = {p99_ratio:.2f}x",
            f"<= {TARGET_P99_RATIO}x",
            p99_ratio <= TARGET_P99_RATIO,
        ),
        (
            f"lone p50 ours = {ms(ours['lone_p50'])} ms",
            f"<= {TARGET_LONE_P50_MS:g} ms",
            ours["lone_p50"] * 1000 <= TARGET_LONE_P50_MS,
        ),
    ]
    cold_ratio = ours["cold"] / bare["cold"]
    checks.append(
        (
            f"cold start ours/bare = {cold_ratio:.2f}x",
            f"<= {TARGET_COLD_RATIO}x",
            cold_ratio <= TARGET_COLD_RATIO,
        )
    )
    ours_rss, bare_rss = by_name["ours"].peak_rss, by_name["bare"].peak_rss
    if ours_rss is not None and bare_rss:
        memory_ratio = ours_rss / bare_rss
        checks.append(
            (
                f"peak memory ours/bare = {memory_ratio:.2f}x",
                f"<= {TARGET_MEMORY_RATIO}x",
                memory_ratio <= TARGET_MEMORY_RATIO,
            )
        )
    if "distributed" in by_name:
        dist_ratios = [
            d.rps / o.rps
            for d, o in zip(by_name["distributed"].load, by_name["ours"].load, strict=True)
        ]
        dist_p99 = [
            percentile(d.latencies, 0.99) / percentile(o.latencies, 0.99)
            for d, o in zip(by_name["distributed"].load, by_name["ours"].load, strict=True)
        ]
        dist_ratio = pick(dist_ratios, how, max)
        print(
            "distributed/single per round: throughput "
            + " ".join(f"{r:.2f}" for r in dist_ratios)
            + "; p99 "
            + " ".join(f"{r:.2f}" for r in dist_p99)
        )
        checks.append(
            (
                f"throughput distributed/single = {dist_ratio:.2f}x",
                f">= {TARGET_DISTRIBUTED_RATIO}x",
                dist_ratio >= TARGET_DISTRIBUTED_RATIO,
            )
        )
    print("\ntargets:")
    for what, target, ok in checks:
        print(f"  {what:<40} target {target:<9} {'met' if ok else 'MISSED'}")
    if "bare-default" in rows:
        d = rows["bare-default"]
        print(
            f"\nBolt's default mode (process_before_response=False), bare: lone p50 "
            f"{ms(d['lone_p50'])} ms vs {ms(bare['lone_p50'])} ms with True "
            f"(+{ms(d['lone_p50'] - bare['lone_p50'])} ms per lone request: Bolt polls for "
            f"the ack every 10 ms); {d['rps']:,.0f} vs {bare['rps']:,.0f} req/s"
        )
    print(
        "\nmethod: each target is warmed up, then every round runs, for each target in turn "
        "(order reversed every other round, so no target always goes first), a lone-client "
        f"pass ({args.lone} sequential requests, one keep-alive connection) and a load pass "
        f"({args.concurrency} workers, one keep-alive connection each, {args.client} client, "
        + (f"{args.duration:g} s" if args.duration else f"{args.requests} requests")
        + "); all bodies are signed before the clock starts. The load generator runs on the "
        f"same 2 cores as the server, so each figure is the {how} over the rounds, and each "
        f"ratio the {how} of the rounds' ratios."
    )
    return all(ok for _, _, ok in checks)


def _bare_bolt_module() -> Any:
    """bench/bare_bolt.py as a module (bench/ is off the import path)."""
    spec = importlib.util.spec_from_file_location("bare_bolt", HERE / "bare_bolt.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def print_floor(floor: Target, compared: list[Target]) -> None:
    """The floor's cold start and memory at its first answer, against ours and bare's."""
    by_name = {t.name: t for t in compared}
    bare_cold = statistics.median(by_name["bare"].cold_command)
    floor_cold = statistics.median(floor.cold_command)
    ours_cold = statistics.median(by_name["ours"].cold_command)
    print(
        f"\nfloor: bare Bolt that first imports {', '.join(_bare_bolt_module().OUR_LIBRARIES)}; "
        "first command ms: " + ", ".join(ms(s) for s in floor.cold_command)
    )
    print(
        f"  cold start floor/bare = {floor_cold / bare_cold:.2f}x, ours/floor = "
        f"{ours_cold / floor_cold:.2f}x (ours' own code, database, threads and first answer)"
    )
    starts = {t.name: t.start_rss for t in [*compared, floor] if t.start_rss}
    if len(starts) == 3:
        mb = {name: statistics.median(values) / 2**20 for name, values in starts.items()}
        print(
            f"  memory at the first answer MB: ours {mb['ours']:.1f}, floor {mb['floor']:.1f}, "
            f"bare {mb['bare']:.1f}: floor/bare = {mb['floor'] / mb['bare']:.2f}x"
        )


# ---------------------------------------------------------------------------- distributed
def distributed_env(workdir: Path) -> dict[str, str]:
    """Settings of distributed mode, on a database of its own where the workspace the
    commands come from has installed the app (its token, encrypted, in slack_sdk's store)."""
    from cryptography.fernet import Fernet
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from bot.core.store import db
    from bot.core.store.installations import EncryptedInstallationStore
    from bot.core.store.secrets import TokenCipher
    from bot.testkit.identity import DEFAULT_BOT_ID, DEFAULT_BOT_USER_ID, DEFAULT_TEAM_ID

    key = Fernet.generate_key().decode()
    url = f"sqlite:///{workdir / 'distributed.sqlite3'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        EncryptedInstallationStore(CLIENT_ID, engine, TokenCipher([key])).save(
            Installation(
                app_id="A0MCAPP001",
                team_id=DEFAULT_TEAM_ID,
                user_id="U0MCINSTALL",
                bot_token=TOKEN,
                bot_id=DEFAULT_BOT_ID,
                bot_user_id=DEFAULT_BOT_USER_ID,
                bot_scopes=["commands", "chat:write"],
            )
        )
    finally:
        engine.dispose()
    return {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "ENCRYPTION_KEYS": key,
        "DATABASE_URL": url,
    }


# ---------------------------------------------------------------------------- main
def compile_our_bytecode() -> None:
    """Byte-compile bot/ and policy/ before the first spawn. Bare Bolt's packages were
    byte-compiled when pip installed them; ours, in a source checkout run with
    PYTHONDONTWRITEBYTECODE=1 (set on this machine), would be compiled from source at every
    start (~80 modules), which a deployment does not do (`pip install` compiles; an image of a
    checkout runs `python -m compileall bot policy`)."""
    import compileall

    for package in ("bot", "policy"):
        compileall.compile_dir(str(HERE.parent / package), quiet=1)


async def bench(
    args: argparse.Namespace,
    targets: list[Target],
    env: dict[str, str],
    workdir: Path,
    floor: Target | None,
) -> None:
    compile_our_bytecode()
    for i in range(args.cold_runs):
        for t in [*targets, *([floor] if floor else [])]:
            if t.name == "bare-default" and i > 0:
                continue  # one spawn is enough for the extra line
            await cold_start(t, env, workdir)
            assert t.proc is not None
            rss = tree_peak_rss(t.proc.pid)
            if rss is not None:
                t.start_rss.append(rss)
            print(f"  started {t.name:<13} first command 200 after {ms(t.cold_command[-1])} ms")
            if t is floor or (i < args.cold_runs - 1 and t.name != "bare-default"):
                stop(t)
    print(f"warming up ({args.warmup} requests each)")
    for t in targets:
        client = Client(t, args.concurrency, args.client)
        try:
            pool = signed_pool(args.warmup)
            await send_many(
                client, pool, args.concurrency, count=len(pool), duration=None, latencies=None
            )
        finally:
            await client.close()
    for r in range(args.rounds):
        order = targets if r % 2 == 0 else list(reversed(targets))
        for t in order:
            t.lone.append(await run_lone(t, args))
            t.load.append(await run_load(t, args))
            print(
                f"  round {r + 1}/{args.rounds} {t.name:<13} {t.load[-1].rps:8,.0f} req/s, "
                f"lone p50 {ms(percentile(t.lone[-1].latencies, 0.5))} ms"
            )
    for t in targets:
        if t.proc is not None:
            t.peak_rss = tree_peak_rss(t.proc.pid)


# ---------------------------------------------------------------------------- --profile
PROFILE_FOCUS = re.compile(
    r"^(bot|policy|templates)/|async_app\.py:\d+\(async_dispatch\)|jinja2/environment\.py:\d+"
    r"\(render\)|slack_sdk/models/basic_objects\.py:\d+\(to_dict\)|starlette/routing\.py:\d+\(app\)"
)


def short(path: str) -> str:
    for marker in ("site-packages/", f"{Path.cwd()}/", f"{HERE.parent}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


async def profile_load(
    args: argparse.Namespace, target: Target, env: dict[str, str], workdir: Path
) -> int:
    """Cold start, warm-up, a lone pass and a load pass on the profiled server; returns the
    number of commands it answered."""
    await cold_start(target, env, workdir)
    client = Client(target, args.concurrency, args.client)
    try:
        await send_many(
            client,
            signed_pool(args.warmup),
            args.concurrency,
            count=args.warmup,
            duration=None,
            latencies=None,
        )
    finally:
        await client.close()
    target.lone.append(await run_lone(target, args))
    target.load.append(await run_load(target, args))
    sent: int = 1 + args.warmup + args.lone + 20 + args.concurrency * 4
    return sent + target.load[-1].requests


def print_profile(path: Path, requests: int, top: int = 30) -> None:
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    rows = []
    for (file, line, name), (calls, _, tottime, cumtime, _) in stats.items():
        label = f"{short(file)}:{line}({name})"
        if PROFILE_FOCUS.search(label) and calls >= requests // 2:  # not start-up code
            rows.append((cumtime, tottime, calls, label))
    rows.sort(reverse=True)
    print(
        f"\ncProfile of `mcbot serve` (event-loop thread only: worker threads and the decision "
        f"log's writer thread are not seen), {requests} commands; times per command, inflated by "
        "the profiler:\n"
    )
    print(f"{'cum ms':>8} {'own ms':>8} {'calls':>8}  function")
    for cumtime, tottime, calls, label in rows[:top]:
        print(
            f"{cumtime / requests * 1000:8.3f} {tottime / requests * 1000:8.3f} {calls:8d}  {label}"
        )
    print("(a coroutine counts one call per resumption)")


def positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Targets: ours' throughput >= 0.9x bare Bolt's, p99 <= 1.2x, lone p50 <= 1 ms.",
    )
    parser.add_argument(
        "--concurrency",
        type=positive,
        default=16,
        help="concurrent client workers, one keep-alive connection each (default 16)",
    )
    parser.add_argument(
        "--requests",
        type=positive,
        default=3000,
        help="requests per target per round (default 3000)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds per target per round instead of --requests",
    )
    parser.add_argument("--rounds", type=positive, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--warmup", type=positive, default=200, help="warm-up requests per target (default 200)"
    )
    parser.add_argument(
        "--lone",
        type=positive,
        default=300,
        help="sequential requests for lone latency (default 300)",
    )
    parser.add_argument(
        "--cold-runs",
        type=positive,
        default=3,
        help="spawns per target to measure cold start (default 3)",
    )
    parser.add_argument(
        "--pick",
        choices=["median", "best"],
        default="median",
        help="figure reported over the rounds (default median)",
    )
    parser.add_argument(
        "--no-default-mode", action="store_true", help="skip bare Bolt in its default mode"
    )
    parser.add_argument(
        "--no-distributed",
        action="store_true",
        help="skip ours in distributed mode (tokens from the installation store)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "aiohttp"],
        default="raw",
        help="load generator: a minimal HTTP/1.1 client on asyncio streams "
        "(default; least CPU) or aiohttp",
    )
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the floor: bare Bolt that first imports the libraries ours is built on "
        "(cold start only)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead: run only ours, under cProfile (one lone and one load pass),"
        " and print where the event loop's time goes",
    )
    args = parser.parse_args()
    if args.duration is not None and not 0 < args.duration <= 600:
        parser.error("--duration must be in (0, 600] seconds")

    tmp = tempfile.TemporaryDirectory(prefix="mcbot-bench-")
    workdir = Path(tmp.name)
    profile = workdir / "ours.prof"
    serve = [*mcbot_argv(), "serve", "--log-level", "warning"]
    if args.profile:
        serve = [sys.executable, "-m", "cProfile", "-o", str(profile), *serve]
    targets = [Target("ours", serve, ours_expect, has_healthz=True)]
    if not args.profile and not args.no_distributed:
        targets.append(
            Target(
                "distributed",
                serve,
                ours_expect,
                has_healthz=True,
                env=distributed_env(workdir),
                unset=("SLACK_BOT_TOKEN",),
            )
        )
    if not args.profile:
        targets.append(Target("bare", [sys.executable, str(HERE / "bare_bolt.py")], bare_expect))
    floor = None
    if not args.no_floor and not args.profile:
        floor = Target(
            "floor",
            [sys.executable, str(HERE / "bare_bolt.py"), "--with-our-libraries"],
            bare_expect,
        )
    if not args.no_default_mode and not args.profile:
        targets.append(
            Target(
                "bare-default",
                [sys.executable, str(HERE / "bare_bolt.py"), "--default-mode"],
                bare_expect,
            )
        )

    def on_sigterm(*_: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    slack = SlackStandIn()
    load_before = os.getloadavg()[0]
    try:
        slack.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update(
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=f"sqlite:///{workdir / 'bot.sqlite3'}",
            PYTHONUNBUFFERED="1",
        )
        print(
            f"ack benchmark: `/multichannel {COMMAND_TEXT}`, {os.cpu_count()} CPUs, "
            f"Python {sys.version.split()[0]}"
        )
        if args.profile:
            ours = targets[0]
            answered = asyncio.run(profile_load(args, ours, env, workdir))
            load = ours.load[-1]
            print(
                f"profiled: {load.rps:,.0f} req/s, p50 {ms(percentile(load.latencies, 0.5))} ms, "
                f"lone p50 {ms(percentile(ours.lone[-1].latencies, 0.5))} ms, "
                f"failures {ours.failures}"
            )
            assert ours.proc is not None
            ours.proc.send_signal(signal.SIGINT)  # uvicorn exits cleanly: cProfile writes
            ours.proc.wait(timeout=30)
            print_profile(profile, answered)
            return 1 if ours.failures else 0
        asyncio.run(bench(args, targets, env, workdir, floor))
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: stopping the servers", file=sys.stderr)
        return 130
    finally:
        for t in [*targets, *([floor] if floor else [])]:
            stop(t)
        slack.stop()
        tmp.cleanup()

    met = report(targets, args, floor)
    print(
        f"machine load average (1 min) before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f} "
        "(other work on the 2 cores makes every figure noisier)"
    )
    failed = [t for t in targets if t.failures]
    print(
        "\nresponses: "
        + ", ".join(f"{t.name} {t.failures} failed" for t in targets)
        + " (every response must be 200; ours must carry the decision blocks)"
    )
    for t in failed:
        for sample in t.failure_samples:
            print(f"  {t.name}: {sample}")
    if failed:
        return 1
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
