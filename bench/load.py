"""Bounded loopback load run of the store server: verdict uploads per second and latency.

Starts `gatekeeper serve` on 127.0.0.1 (a free port) on a fresh SQLite file and on a fresh PostgreSQL
database (created and dropped here; skipped, saying why, when none answers), creates an upload token
with `gatekeeper tokens create`, builds a real verdict with `gatekeeper check`, then for each level of
concurrency sends PUTs of distinct verdict ids over keep-alive connections, bounded by a count and by a
time, whichever comes first.  Afterwards the database must hold exactly the ids that were answered 201.

The client is one asyncio loop speaking plain HTTP/1.1 (no third-party client library), so that it
costs a small fraction of the server's CPU; the CPU of client, server and PostgreSQL is measured per
level and printed, so the reader can check that the client was not the bottleneck.

    .venv/bin/python bench/load.py                 # ~3 min: both databases at 1, 8 and 32 clients
    .venv/bin/python bench/load.py --workers 1,2   # and again with `serve --workers 2`
    .venv/bin/python bench/load.py --count 500 --levels 1,32 --backends sqlite   # a quick look
    PYTHONPATH=/tmp/old .venv/bin/python bench/load.py --store-only 1000 --backends postgresql
        # the store path alone, CPU per verdict, of another version (`git archive REV gatekeeper schemas
        # rules | tar -x -C /tmp/old`); run it alternately with the checkout's to compare
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import REPO, Server, create_token, postgres_database, real_verdict, start_server

PLACEHOLDER = "ID0PLACEHOLDER0ID"
TICKS = os.sysconf("SC_CLK_TCK")
#: The heading of the hand-written part of the report, kept when the figures are rewritten.
ANALYSIS = "## Where the time goes"


# -- machine and process facts ---------------------------------------------------------------------


def _process_cpu(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of one process (0 if it is gone), with its exited children's if asked."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11 : 15 if children else 13]) / TICKS


def _group_cpu(group: int) -> float:
    """CPU seconds of every process in a process group (the server and any workers it forked)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == group:
                    total += _process_cpu(int(entry.name), children=True)
            except (OSError, IndexError, ValueError):
                continue
    return total


def _postgres_cpu() -> float:
    """CPU seconds of every process named `postgres`, with backends that exited (counted in the
    postmaster's children's time)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += _process_cpu(int(entry.name), children=True)
            except OSError:
                continue
    return total


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def machine_facts() -> dict[str, str]:
    """What the figures depend on: cores, load, Python, and the server's HTTP stack."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    extras = []
    for module in ("uvloop", "httptools", "orjson", "jsonschema_rs"):
        try:
            __import__(module)
            extras.append(f"{module} yes")
        except ImportError:
            extras.append(f"{module} no")
    import sqlalchemy
    import uvicorn

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return {
        "cpu": f"{os.cpu_count()} cores, {model}",
        "load average at start (1, 5, 15 min)": load,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "server": f"`gatekeeper serve` (`--workers` as in the table): uvicorn {uvicorn.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__} ({', '.join(extras)})",
    }


# -- the server ------------------------------------------------------------------------------------


def verdict_template(tmp: Path) -> str:
    """A real verdict of the passing example, as JSON text with PLACEHOLDER where its id goes."""
    verdict = real_verdict(tmp, "passing")
    verdict["id"] = PLACEHOLDER
    return json.dumps(verdict, separators=(",", ":"))


def count_rows(db_url: str) -> int:
    """Verdict rows, read from the database itself rather than through the API under test."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM verdicts")).scalar_one())
    finally:
        engine.dispose()


# -- the client ------------------------------------------------------------------------------------


@dataclass
class Level:
    """What one level of concurrency measured."""

    backend: str
    clients: int
    workers: int = 1
    load: float = 0.0
    sent: int = 0
    created: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000

    @property
    def rate(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0

    def cpu_ms(self, process: str) -> float:
        """CPU milliseconds `process` spent per upload: what the request costs, whatever else runs."""
        return self.cpu[process] / self.rate * 1000 if self.rate else float("nan")


async def _client(
    port: int,
    token: str,
    template: tuple[bytes, bytes],
    prefix: str,
    counter: list[int],
    limit: int,
    deadline: float,
    level: Level,
) -> None:
    """One keep-alive connection sending PUTs of the next free id until the count or the time is up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head, tail = template
    try:
        while counter[0] < limit and time.perf_counter() < deadline:
            number = counter[0]
            counter[0] += 1
            verdict_id = f"{prefix}-{number:08d}".encode()
            body = head + verdict_id + tail
            request = (
                b"PUT /api/v1/verdicts/" + verdict_id + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            level.sent += 1
            started = time.perf_counter()
            try:
                writer.write(request)
                status_line = await reader.readuntil(b"\r\n")
                headers = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in headers.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
            except (ConnectionError, asyncio.IncompleteReadError) as error:
                level.error(type(error).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            level.latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            if status == 201:
                level.created += 1
            else:
                level.error(str(status))
    finally:
        writer.close()


def run_level(
    server: Server,
    port: int,
    token: str,
    template: str,
    backend: str,
    clients: int,
    count: int,
    seconds: float,
    postgres: bool,
    workers: int = 1,
) -> Level:
    """`clients` connections at once, `count` uploads or `seconds`, whichever ends first."""
    level = Level(backend=backend, clients=clients, workers=workers, load=os.getloadavg()[0])
    head, tail = (part.encode() for part in template.split(PLACEHOLDER))
    prefix = f"load-{backend[:2]}{clients}-{secrets.token_hex(4)}"
    counter = [0]

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(port, token, (head, tail), prefix, counter, count, deadline, level) for _ in range(clients))
        )

    cpu_before = (time.process_time(), _group_cpu(server.process.pid), _postgres_cpu() if postgres else 0.0)
    busy_before = _machine_busy()
    started = time.perf_counter()
    asyncio.run(run())
    level.seconds = time.perf_counter() - started
    busy_after = _machine_busy()
    cpu_after = (time.process_time(), _group_cpu(server.process.pid), _postgres_cpu() if postgres else 0.0)
    for name, before, after in zip(("client", "server", "postgres"), cpu_before, cpu_after, strict=True):
        level.cpu[name] = (after - before) / level.seconds
    machine = (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1]) * (os.cpu_count() or 1)
    level.cpu["others"] = max(0.0, machine - sum(level.cpu.values()))
    return level


# -- backends --------------------------------------------------------------------------------------


def run_backend(
    backend: str, db_url: str, tmp: Path, template: str, args: argparse.Namespace, notes: list[str], workers: int = 1
) -> list[Level]:
    """Every level against one fresh server, then the row count check."""
    token = create_token(db_url, tmp, "upload")
    server = start_server(db_url, tmp, args.server_command, workers)
    port = int(server.url.rsplit(":", 1)[1])
    levels: list[Level] = []
    profiler: subprocess.Popen[bytes] | None = None
    try:
        # Warm-up, counted below: one client, then the top level's clients, so that the figures are the
        # steady state rather than the pool opening its database connections one request at a time.
        top = max(args.levels)
        created = 0
        for clients, uploads in ((1, args.warmup), (top, args.warmup * top // 8)):
            created += run_level(server, port, token, template, backend, clients, uploads, 30.0, False).created
        for clients in args.levels:
            if args.profile and clients == max(args.levels):
                out = Path(args.profile) / f"{backend}-{clients}.txt"
                out.parent.mkdir(parents=True, exist_ok=True)
                profiler = subprocess.Popen(
                    [
                        str(Path(sys.executable).with_name("py-spy")),
                        "record",
                        "--pid",
                        str(server.process.pid),
                        "--format",
                        "raw",
                        "--rate",
                        "200",
                        "--gil",
                        "--nonblocking",
                        "-o",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1.0)
            level = run_level(
                server,
                port,
                token,
                template,
                backend,
                clients,
                args.count,
                args.seconds,
                backend == "postgresql",
                workers,
            )
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
                profiler = None
            created += level.created
            levels.append(level)
            print(row(level), flush=True)
    finally:
        if profiler is not None:
            profiler.kill()
        server.stop()
    stored = count_rows(db_url)
    if stored != created:
        raise SystemExit(f"{backend}: the database holds {stored} verdicts, but {created} uploads were answered 201")
    checked = (
        f"{backend}, {workers} worker(s): the database holds exactly the {stored:,} distinct verdicts "
        "answered 201 (warm-up included)"
    )
    print(checked, flush=True)
    notes.append(f"Checked afterwards: {checked}.")
    return levels


# -- the store path alone ----------------------------------------------------------------------------

#: Functions whose CPU `--store-only --profile` reports: psycopg converting a statement it does not cache
#: (over 50 parameters), and the server's store call and its SQL part.
PROFILED = ("_query2pg_nocache", "_split_query", "add_verdict", "_store", "_store_postgresql")


def store_only(db_url: str, template: str, count: int, profile: bool) -> str:
    """CPU per verdict of `db.add_verdict` in this process, one thread, after 200 warm-up verdicts: the
    server's storing cost without HTTP, the event loop or other requests, so that two versions (run with
    PYTHONPATH set to each) compare on a busy machine.  With `profile`, the CPU share of `PROFILED`."""
    import cProfile
    import pstats

    from gatekeeper.server import db

    head, tail = template.split(PLACEHOLDER)
    engine = db.open_database(db_url)

    def store(verdicts: list[dict[str, object]]) -> None:
        for verdict in verdicts:
            if db.add_verdict(engine, verdict)[0] != "created":
                raise SystemExit(f"{verdict['id']} was not stored as new")

    def made(prefix: str, number: int) -> list[dict[str, object]]:  # decoded before the clock starts
        return [json.loads(f"{head}{prefix}-{index:08d}{tail}") for index in range(number)]

    try:
        store(made("warm", 200))
        verdicts = made("run", count)
        if not profile:
            started = time.process_time()
            store(verdicts)
            return f"{db.__file__}: {(time.process_time() - started) / count * 1000:.3f} ms CPU per verdict"
        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(store, verdicts)
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        total = sum(value[2] for value in stats.values())
        shares = []
        for name in PROFILED:
            spent = sum(value[3] for key, value in stats.items() if key[2] == name)
            shares.append(f"{name} {spent / count * 1000:.3f} ms ({spent / total:.0%})")
        return f"{db.__file__}, CPU per verdict under cProfile: " + ", ".join(shares)
    finally:
        engine.dispose()


def store_only_on(backend: str, tmp: Path, template: str, args: argparse.Namespace) -> str:
    """`store_only` on a fresh SQLite file or a fresh PostgreSQL database (dropped afterwards)."""
    if backend == "sqlite":
        return store_only(f"sqlite:///{tmp / 'store-only.db'}", template, args.store_only, args.store_profile)
    made = postgres_database("load")
    if isinstance(made, str):
        return f"skipped: {made}"
    db_url, (admin, name) = made
    try:
        return store_only(db_url, template, args.store_only, args.store_profile)
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


# -- report ----------------------------------------------------------------------------------------

HEADER = (
    "| database | workers | clients | uploads | seconds | uploads/s | p50 ms | p99 ms | max ms | errors "
    "| load avg | CPU client / server / postgres / others (cores) | CPU ms per upload: server / postgres |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|"
)


def row(level: Level) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(level.errors.items())) or "0"
    cpu = level.cpu
    postgres = f"{cpu['postgres']:.2f}" if level.backend == "postgresql" else "-"
    postgres_ms = f"{level.cpu_ms('postgres'):.2f}" if level.backend == "postgresql" else "-"
    return (
        f"| {level.backend} | {level.workers} | {level.clients} | {level.sent:,} | {level.seconds:.1f} "
        f"| {level.rate:,.0f} | {level.percentile(50):.1f} | {level.percentile(99):.1f} "
        f"| {max(level.latencies) * 1000:.1f} | {errors} | {level.load:.2f} "
        f"| {cpu['client']:.2f} / {cpu['server']:.2f} / {postgres} / {cpu['others']:.2f} "
        f"| {level.cpu_ms('server'):.2f} / {postgres_ms} |"
    )


def write_report(
    path: Path, facts: dict[str, str], levels: list[Level], notes: list[str], args: argparse.Namespace
) -> str:
    """The table and the facts it depends on, as Markdown."""
    table = "\n".join([HEADER, *(row(level) for level in levels)])
    lines = [
        "# Store server load figures",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} by `bench/load.py`: a bounded loopback load run "
        f"(at most {args.count:,} uploads or {args.seconds:g} s per level, whichever comes first, after "
        f"{args.warmup} warm-up uploads from 1 client and {args.warmup * max(args.levels) // 8} from "
        f"{max(args.levels)}), each upload a PUT of a distinct id of a real verdict "
        "(`gatekeeper check` on `examples/passing/reports` with `rules/caict-cd/level-3.yaml`) with an "
        "upload token, over keep-alive connections, one per client.",
        "",
        table,
        "",
        "CPU is in cores (1.00 = one core busy for the whole level), from /proc: `client` is this script (one "
        "asyncio loop writing HTTP/1.1 itself), `server` the `gatekeeper serve` process group, `postgres` every "
        "PostgreSQL process (other users' queries included), `others` the rest of the machine's busy time "
        "(other users' work competing for the same cores). `load avg` is the 1-minute load average when the "
        "level started; it counts this run's own processes too (client, server and PostgreSQL keep 1.5 to 3 "
        "runnable during a level), so `others` is the better measure of the competition. `CPU ms per upload` "
        "is the CPU "
        "time the server (all its processes) and PostgreSQL spent per stored verdict: the cost of a request, "
        "much less sensitive to the other users than the rates are.",
        "",
        *[f"- **{name}**: {value}" for name, value in facts.items()],
        *[f"- {note}" for note in notes],
        "",
        "Reproduce (PostgreSQL from `GATEKEEPER_TEST_PG`, default `postgresql://postgres@127.0.0.1:5432/test`; "
        "a database `gk_load_<hex>` is created and dropped):",
        "",
        "```sh",
        " ".join([".venv/bin/python bench/load.py", *(shlex.quote(arg) for arg in args.argv)]),
        "```",
        "",
    ]
    text = "\n".join(lines)
    kept = path.read_text(encoding="utf-8") if path.exists() else ""
    if ANALYSIS in kept:  # a hand-written analysis survives a rerun
        text += "\n" + kept[kept.index(ANALYSIS) :]
    path.write_text(text, encoding="utf-8")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--levels",
        default="1,8,32",
        type=lambda s: [int(v) for v in s.split(",")],
        help="concurrent clients, comma-separated [1,8,32]",
    )
    parser.add_argument("--count", type=int, default=2000, help="uploads per level at most [2000]")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per level at most [20]")
    parser.add_argument("--warmup", type=int, default=50, help="uploads before the first level [50]")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument(
        "--workers",
        default="1",
        type=lambda s: [int(v) for v in s.split(",")],
        help="`serve --workers` values to measure, comma-separated [1]",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "LOAD.md", help="Markdown report")
    parser.add_argument(
        "--server-command",
        metavar="CMD",
        help="run CMD instead of `gatekeeper serve` ({db} and {port} filled in), to try a change",
    )
    parser.add_argument("--profile", metavar="DIR", help="py-spy --gil the server at the top level: raw stacks")
    parser.add_argument(
        "--store-only",
        metavar="N",
        type=int,
        help="no server: store N verdicts through db.add_verdict in this process on each backend and print "
        "the CPU per verdict",
    )
    parser.add_argument(
        "--store-profile",
        action="store_true",
        help="with --store-only: under cProfile (CPU timer), the share of psycopg's uncached query conversion",
    )
    args = parser.parse_args(argv)
    args.argv = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg]

    from gatekeeper.server.db import POOL_SIZE

    facts = machine_facts()
    if args.server_command:
        facts["server"] = f"`{args.server_command}` (an experiment, not `gatekeeper serve`)"
    notes: list[str] = []
    levels: list[Level] = []
    tmp = Path(tempfile.mkdtemp(prefix="gk-load-"))
    try:
        template = verdict_template(tmp)
        if args.store_only:
            for backend in args.backends.split(","):
                print(f"{backend}: {store_only_on(backend, tmp, template, args)}", flush=True)
            return 0
        print(HEADER, flush=True)
        for backend in args.backends.split(","):
            for workers in args.workers:
                if backend == "sqlite":
                    folder = tmp / f"sqlite-{workers}"
                    folder.mkdir()
                    db_url = f"sqlite:///{folder / 'server.db'}"
                    levels += run_backend("sqlite", db_url, folder, template, args, notes, workers)
                    facts["sqlite"] = (
                        "a fresh file in a temporary folder; WAL, synchronous=NORMAL (the server's "
                        "settings); one writer at a time per server process (a lock in `db`)"
                    )
                elif backend == "postgresql":
                    made = postgres_database("load")
                    if isinstance(made, str):
                        print(f"postgresql: skipped: {made}", file=sys.stderr, flush=True)
                        notes.append(f"PostgreSQL skipped: {made}")
                        break
                    db_url, (admin, name) = made
                    try:
                        settings = {
                            key: admin.execute(f"SHOW {key}").fetchone()[0]
                            for key in ("server_version", "synchronous_commit", "fsync", "shared_buffers")
                        }
                        facts["postgresql"] = (
                            ", ".join(f"{k} {v}" for k, v in settings.items())
                            + f"; on this machine over TCP loopback; SQLAlchemy pool of "
                            f"{POOL_SIZE} per worker, no overflow; a fresh database per row group"
                        )
                        folder = tmp / f"pg-{workers}"
                        folder.mkdir()
                        levels += run_backend("postgresql", db_url, folder, template, args, notes, workers)
                    finally:
                        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                        admin.close()
                else:
                    parser.error(f"unknown backend {backend!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not levels:
        return 1
    write_report(args.out, facts, levels, notes, args)
    print(f"written: {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
