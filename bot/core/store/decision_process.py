"""The decision log written by a child process, for `mcbot serve`.

Every `/multichannel assess` logs a decision. Written by the server's own process, each row
cost its event loop a few tens of microseconds (serializing, SQL, commits), and a worker
thread cost it more (the GIL); bench/ack.py measured both. So `mcbot serve` hands each batch of
rows to a child process, `python -m bot.core.store.decision_process`, that writes them: the event
loop only pickles the batch (about a microsecond a row) and writes it to a pipe.

Protocol, on the child's stdin and stdout: frames of a 4-byte big-endian length and a body. The
first frame is JSON settings ({"url": DATABASE_URL, "log_level": ...}; not on the command line,
where `ps` would show a password); every other frame is a pickled (sequence number, rows). The
child writes the frames that have arrived in one transaction, acknowledges each by writing its
sequence number (8 bytes) to stdout, then waits GATHER_SECONDS so that the next transaction
gathers more (fewer, larger transactions: less CPU, and a better p99 for the server sharing the
cores; bench/ack.py). It retries while the database is unreachable, and exits at EOF, which
comes when the server closes the pipe or dies. It runs in a session of its own (Ctrl+C in a
terminal is for the server) and ignores SIGINT and SIGTERM, which a service manager may send to
every process of the service, so that it still writes what it was sent.

Nothing is lost when the child dies: the parent keeps every batch until it is acknowledged,
starts a new child and sends the unacknowledged batches again; a row written but not
acknowledged is written once, since the INSERT skips a decision id already logged. If the
server itself is killed, what it had written to the pipe is still written; only the batch it
was still gathering (DECISION_LOG_DELAY, 10 ms) is lost. While the database stays unreachable,
memory bounds what waits (`max_pending` rows, the oldest dropped with an error log).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import select
import signal
import struct
import sys
import time
from collections.abc import Sequence
from typing import Any, BinaryIO

log = logging.getLogger(__name__)
FRAME = struct.Struct("!I")
ACK = struct.Struct("!Q")
RETRY_SECONDS = 1.0  # the child, while the database is unreachable
GATHER_SECONDS = 0.2  # the child, after a write: batches arriving meanwhile are written together
RESTART_DELAYS = (0.1, 1.0, 5.0, 30.0)  # the parent, after the child exited unexpectedly


class DecisionLogProcess:
    """The parent's side: starts the child, sends batches, keeps them until acknowledged."""

    def __init__(self, database_url: str, *, max_pending: int = 50_000) -> None:
        self.database_url = database_url
        self.max_pending = max_pending
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._unacked: dict[int, Sequence[Any]] = {}  # sequence number -> rows, oldest first
        self._pending_rows = 0
        self._seq = 0
        self._stopping = False
        self._restarts = 0
        self._all_acked = asyncio.Event()
        self._all_acked.set()

    @property
    def running(self) -> bool:
        return self._proc is not None and not self._stopping

    async def start(self) -> None:
        """Start the child and send it what is not acknowledged yet."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.core.store.decision_process",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,  # not in the terminal's group: Ctrl+C is for the server
        )
        settings = {"url": self.database_url, "log_level": logging.getLogger().level}
        self._proc = proc
        self._write(json.dumps(settings).encode())
        for seq, rows in self._unacked.items():
            self._write(pickle.dumps((seq, rows), protocol=pickle.HIGHEST_PROTOCOL))
        self._reader = asyncio.get_running_loop().create_task(self._read_acks(proc))

    def send(self, rows: Sequence[Any]) -> None:
        """Queue `rows` (DecisionWriter.row tuples) for the child; never waits."""
        self._seq += 1
        self._unacked[self._seq] = rows
        self._pending_rows += len(rows)
        self._all_acked.clear()
        while self._pending_rows > self.max_pending and len(self._unacked) > 1:
            seq = next(iter(self._unacked))
            dropped = self._unacked.pop(seq)
            self._pending_rows -= len(dropped)
            log.error(
                "decision log: %d decisions dropped, %d more wait for the database",
                len(dropped),
                self._pending_rows,
            )
        if self._proc is not None:
            self._write(pickle.dumps((self._seq, rows), protocol=pickle.HIGHEST_PROTOCOL))

    async def flush(self, timeout: float) -> bool:
        """Wait until the child acknowledged everything sent; False after `timeout` s."""
        try:
            await asyncio.wait_for(self._all_acked.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, timeout: float = 30.0) -> None:
        """Let the child write what it has, then end it (EOF); what it could not write
        within `timeout` seconds is logged as lost."""
        self._stopping = True
        proc, self._proc = self._proc, None
        if proc is not None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._reader is not None:
            if proc is None:
                self._reader.cancel()  # it was waiting to start a new child
            await asyncio.gather(self._reader, return_exceptions=True)  # the last acks
        if self._pending_rows:
            log.error("decision log: %d decisions lost at shutdown", self._pending_rows)

    def _write(self, body: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(FRAME.pack(len(body)) + body)

    async def _read_acks(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                (seq,) = ACK.unpack(await proc.stdout.readexactly(ACK.size))
                rows = self._unacked.pop(seq, None)
                if rows is not None:
                    self._pending_rows -= len(rows)
                    self._restarts = 0
                if not self._unacked:
                    self._all_acked.set()
        except asyncio.IncompleteReadError:
            pass  # the child exited
        code = await proc.wait()
        if self._stopping or self._proc is not proc:
            return
        self._proc = None  # meanwhile, Services writes new batches from a worker thread
        problem = f"exited (status {code})"
        while not self._stopping:
            delay = RESTART_DELAYS[min(self._restarts, len(RESTART_DELAYS) - 1)]
            self._restarts += 1
            log.error(
                "decision log: the writer process %s; restarting in %.1f s, %d decisions to "
                "send again",
                problem,
                delay,
                self._pending_rows,
            )
            await asyncio.sleep(delay)
            try:
                await self.start()
                return
            except OSError as exc:
                problem = f"could not be started ({exc})"


# ------------------------------------------------------------------------------ the child
class FrameReader:
    """Frames from a file descriptor: `read()` waits for at least one whole frame, then
    returns every whole frame already there (so that the child writes them together)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.eof = False

    def read(self) -> list[bytes] | None:
        """The frames available (at least one); None at end of input."""
        frames = self._whole_frames()
        while not frames:
            if self.eof or not self._fill():
                return None
            frames = self._whole_frames()
        while not self.eof and select.select([self.fd], [], [], 0)[0]:
            self._fill()
        return frames + self._whole_frames()

    def _fill(self) -> bool:
        data = os.read(self.fd, 1 << 16)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def _whole_frames(self) -> list[bytes]:
        frames, at = [], 0
        while len(self.buffer) - at >= FRAME.size:
            (size,) = FRAME.unpack_from(self.buffer, at)
            if len(self.buffer) - at - FRAME.size < size:
                break
            frames.append(bytes(self.buffer[at + FRAME.size : at + FRAME.size + size]))
            at += FRAME.size + size
        del self.buffer[:at]
        return frames


def child_main(stdin: int, stdout: BinaryIO) -> int:
    """Write the batches read from the `stdin` descriptor, acknowledging each on `stdout`,
    until EOF. The batches that arrived while one was written are written together: a
    transaction every GATHER_SECONDS at most under load, instead of one per batch."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from bot.core.store.db import make_engine
    from bot.core.store.decisions import DecisionWriter

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the end is EOF on stdin, see above
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    reader = FrameReader(stdin)
    frames = reader.read()
    if frames is None:
        return 0
    settings = json.loads(frames.pop(0))
    logging.basicConfig(
        level=settings.get("log_level") or logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s[decision-log]: %(message)s",
    )
    engine = make_engine(settings["url"])
    writer = DecisionWriter(engine)
    try:
        while frames is not None:
            batches = [pickle.loads(frame) for frame in frames]
            rows = [row for _, batch in batches for row in batch]
            while rows:
                try:
                    writer.write(rows)
                    break
                except OperationalError as exc:  # unreachable or locked: keep the rows
                    log.warning("%d decisions not written (%s); retrying", len(rows), exc)
                    time.sleep(RETRY_SECONDS)
                except SQLAlchemyError:  # e.g. a row the schema refuses: keep the others
                    log.exception(
                        "%d decisions failed together; writing them one by one", len(rows)
                    )
                    _write_one_by_one(writer, rows)
                    break
            stdout.write(b"".join(ACK.pack(seq) for seq, _ in batches))
            stdout.flush()
            time.sleep(GATHER_SECONDS)
            frames = reader.read()
    finally:
        engine.dispose()
    return 0


def _write_one_by_one(writer: Any, rows: Sequence[Any]) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    for row in rows:
        try:
            writer.write([row])
        except SQLAlchemyError as exc:
            log.error("decision %s not logged: %s", row[0], exc)


if __name__ == "__main__":
    sys.exit(child_main(sys.stdin.fileno(), sys.stdout.buffer))
