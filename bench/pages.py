"""Response times of the release manager's pages with 100,000 stored verdicts, on SQLite and PostgreSQL.

Seeds a fresh database (SQLite file; PostgreSQL database created and dropped here, skipped saying why
when none answers) with 100,000 verdicts across 50 projects and 5 branches each, spread over a year:
variations of two real `gatekeeper check` verdicts (the passing and failing examples, ~8 and ~12 KB
each) with drifting metrics, stored with the server's own row helpers (`db.verdict_row`,
`db.metric_rows`) in bulk INSERTs.  Then starts `gatekeeper serve` on loopback, signs in with a read
token made by `gatekeeper tokens create`, and times each page (median, p95, max over repeated GETs,
after a warm-up) against the 300 ms target.  Results go to bench/PAGES.md (the hand-written section at
its end is kept).

    .venv/bin/python bench/pages.py                       # ~6 min: both databases, 100,000 verdicts
    .venv/bin/python bench/pages.py --verdicts 10000 --backends sqlite --repeat 10   # a quick look
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import create_token, postgres_database, real_verdict, start_server
from load import machine_facts

TARGET_MS = 300.0
PROJECTS = 50
BRANCHES = ("main", "develop", "release/2026.11", "feature/faster-import", "feature/new-ledger")
BATCH = 1000
RESULTS = Path(__file__).resolve().parent / "PAGES.md"
NOTES = "## Where the time goes"


@dataclass(frozen=True)
class Timing:
    page: str
    path: str
    median_ms: float
    p95_ms: float
    max_ms: float
    bytes: int

    @property
    def verdict(self) -> str:
        return "✓" if self.p95_ms < TARGET_MS else "✗"


def project_name(index: int) -> str:
    return f"org-{index % 10}/service-{index:02d}"


def variant(template: dict[str, Any], number: int, created: datetime, random_: random.Random) -> dict[str, Any]:
    """A verdict of project number % 50 with metrics drifting around the template's."""
    verdict = copy.deepcopy(template)
    project = number % PROJECTS
    verdict["id"] = str(uuid.UUID(int=random_.getrandbits(128), version=4))
    verdict["created_at"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    branch = BRANCHES[0] if random_.random() < 0.6 else random_.choice(BRANCHES[1:])
    verdict["context"].update(
        ci="gitlab",
        project=project_name(project),
        branch=branch,
        commit=f"{random_.getrandbits(160):040x}",
        pipeline=str(100000 + number),
        job="quality-gate",
        url=f"https://gitlab.example.com/{project_name(project)}/-/jobs/{500000 + number}",
    )
    metrics = verdict["metrics"]
    for name in ("coverage.lines.percent", "coverage.branches.percent"):
        if name in metrics:
            metrics[name] = max(0.0, min(100.0, metrics[name] + random_.uniform(-8, 8)))
    for name in ("findings.high", "findings.medium", "findings.low"):
        if name in metrics:
            metrics[name] = max(0, metrics[name] + random_.randint(-1, 2))
    return verdict


def seed(db_url: str, count: int, made: dict[str, dict[str, Any]]) -> float:
    """`count` verdicts in bulk through the server's row helpers; returns the seconds it took."""
    from gatekeeper.server import db

    started = time.perf_counter()
    engine = db.open_database(db_url)
    random_ = random.Random(20261125)
    now = datetime.now(timezone.utc)
    step = timedelta(days=365) / count
    try:
        for start in range(0, count, BATCH):
            rows, metric_rows = [], []
            for number in range(start, min(start + BATCH, count)):
                template = made["failing" if random_.random() < 0.25 else "passing"]
                created = now - step * (count - number)
                verdict = variant(template, number, created, random_)
                rows.append(db.verdict_row(verdict, created))  # received when made, as a server stores it
                metric_rows += db.metric_rows(verdict["id"], verdict["metrics"])
            with engine.begin() as connection:
                connection.execute(db.verdicts.insert(), rows)
                connection.execute(db.verdict_metrics.insert(), metric_rows)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        else:
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        define_release(engine)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def define_release(engine: Any) -> None:
    """A release of one main-branch commit of each of 20 projects."""
    from sqlalchemy import select

    from gatekeeper.release import Member, Release
    from gatekeeper.server import db
    from gatekeeper.server.releases import put_release

    members = []
    with engine.connect() as connection:
        for index in range(20):
            commit = connection.execute(
                select(db.verdicts.c.commit)
                .where(db.verdicts.c.project == project_name(index), db.verdicts.c.branch == "main")
                .order_by(*db.NEWEST_FIRST)
                .limit(1)
            ).scalar_one()
            members.append(Member(project=project_name(index), commit=commit))
    put_release(engine, Release(name="2026.12", level=3, members=tuple(members)))


def pages(session: requests.Session, url: str) -> list[tuple[str, str]]:
    """The pages to time, with real ids and cursors found by following the pages themselves."""
    verdict_id = session.get(
        f"{url}/api/v1/verdicts", params={"project": project_name(0), "limit": 1}, timeout=60
    ).json()["items"][0]["id"]
    cursor_path, depth = f"/project?name={project_name(0)}&branch=main", 1
    while depth < 21:  # up to the 21st page of a long verdict list, by its "Older verdicts" link
        text = session.get(f"{url}{cursor_path}", timeout=60).text
        marker = 'rel="next" href="'
        if marker not in text:
            break
        start = text.index(marker) + len(marker)
        cursor_path, depth = text[start : text.index('"', start)].replace("&amp;", "&").split("#")[0], depth + 1
    return [
        ("overview, page 1", "/"),
        ("overview, page 5", "/?page=5"),
        ("overview, filtered by project prefix", "/?project=org-3/"),
        ("project page, one branch (charts + list)", f"/project?name={project_name(0)}&branch=main"),
        ("project page, all branches", f"/project?name={project_name(0)}"),
        (f"project page, page {depth} of the list", cursor_path),
        ("verdict page", f"/verdicts/{verdict_id}"),
        ("tests page, one branch (newest 300 of 14 days)", f"/project/tests?name={project_name(0)}&branch=main"),
        ("tests page, all branches, 90 days", f"/project/tests?name={project_name(0)}&days=90"),
        ("releases", "/releases"),
        ("release page (20 members)", "/releases/2026.12"),
        ("sign-in form (no database)", "/login"),
    ]


def time_pages(url: str, token: str, repeat: int, warmup: int) -> list[Timing]:
    session = requests.Session()
    session.trust_env = False
    answer = session.post(f"{url}/login", data={"token": token, "next": "/"}, allow_redirects=False, timeout=60)
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    session.headers["Authorization"] = f"Bearer {token}"  # for the one API call that finds an id
    timings = []
    with session:
        for name, path in pages(session, url):
            samples, size = [], 0
            for attempt in range(warmup + repeat):
                started = time.perf_counter()
                response = session.get(f"{url}{path}", timeout=60, allow_redirects=False)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
                if attempt >= warmup:
                    samples.append(elapsed)
                    size = len(response.content)
            samples.sort()
            p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
            timings.append(Timing(name, path, statistics.median(samples), p95, samples[-1], size))
            print(f"  {name:45s} median {timings[-1].median_ms:7.1f} ms  p95 {p95:7.1f} ms", flush=True)
    return timings


def run_backend(
    backend: str, db_url: str, tmp: Path, args: argparse.Namespace, made: dict[str, dict[str, Any]]
) -> tuple[float, list[Timing]]:
    print(f"{backend}: seeding {args.verdicts:,} verdicts…", flush=True)
    seconds = seed(db_url, args.verdicts, made)
    print(f"{backend}: seeded in {seconds:.0f} s; timing pages", flush=True)
    token = create_token(db_url, tmp, "read")
    server = start_server(db_url, tmp)
    try:
        return seconds, time_pages(server.url, token, args.repeat, args.warmup)
    finally:
        server.stop()


def write(
    results: dict[str, tuple[float, list[Timing]] | str], args: argparse.Namespace, facts: dict[str, str]
) -> None:
    kept = ""
    if RESULTS.exists() and NOTES in RESULTS.read_text():
        kept = RESULTS.read_text()[RESULTS.read_text().index(NOTES) :]
    out = [
        "# Page response times with 100,000 stored verdicts",
        "",
        f"Written by `bench/pages.py` ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC): {args.verdicts:,} verdicts "
        f"across {PROJECTS} projects and {len(BRANCHES)} branches over a year, real verdict bodies (8 to 12 KB) with "
        f"their metric rows; one `gatekeeper serve` process on loopback, signed in with a read token; "
        f"{args.repeat} timed GETs per page after {args.warmup} warm-up GETs, one at a time. "
        f"Target: every page under {TARGET_MS:.0f} ms (p95).",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in facts.items()],
        "",
    ]
    for backend, result in results.items():
        out += [f"## {backend}", ""]
        if isinstance(result, str):
            out += [f"Skipped: {result}", ""]
            continue
        seconds, timings = result
        out += [
            f"Seeded in {seconds:.0f} s.",
            "",
            "| page | path | median ms | p95 ms | max ms | KB | under 300 ms |",
            "|---|---|---:|---:|---:|---:|:---:|",
            *[
                f"| {t.page} | `{t.path if len(t.path) < 60 else t.path[:57] + '…'}` | {t.median_ms:.1f} | "
                f"{t.p95_ms:.1f} | {t.max_ms:.1f} | {t.bytes / 1024:.0f} | {t.verdict} |"
                for t in timings
            ],
            "",
        ]
    RESULTS.write_text("\n".join(out) + ("\n" + kept if kept else ""))
    print(f"wrote {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verdicts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    facts = machine_facts()
    results: dict[str, tuple[float, list[Timing]] | str] = {}
    with tempfile.TemporaryDirectory(prefix="gk-pages-") as directory:
        tmp = Path(directory)
        made = {kind: real_verdict(tmp, kind) for kind in ("passing", "failing")}
        for backend in args.backends.split(","):
            if backend == "sqlite":
                results["SQLite"] = run_backend("SQLite", f"sqlite:///{tmp / 'pages.db'}", tmp, args, made)
            elif backend == "postgresql":
                database = postgres_database("pages")
                if isinstance(database, str):
                    results["PostgreSQL"] = database
                    print(f"PostgreSQL: skipped: {database}")
                    continue
                db_url, (admin, name) = database
                try:
                    results["PostgreSQL"] = run_backend("PostgreSQL", db_url, tmp, args, made)
                finally:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                    admin.close()
            else:
                parser.error(f"unknown backend {backend!r}")
    write(results, args, facts)


if __name__ == "__main__":
    main()
