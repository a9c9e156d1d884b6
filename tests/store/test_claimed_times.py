"""Issue 13, item 1 on the embedded store, through the real CLI: a verdict's `created_at` is its
writer's claim.  A `pass` dated 9999 made `release check` print READY over a failure recorded after
it, and one dated 0999 (stored as '999-…', which sorts after '2026-…') made `report` exit 3."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from gatekeeper.store.sqlite import SqliteStore
from tests.store import make_verdict
from tests.verdicts import GATEKEEPER


def gatekeeper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEKEEPER_")}
    return subprocess.run(
        [GATEKEEPER, *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=120, check=False
    )


def test_release_check_and_report_on_a_store_holding_forged_times(tmp_path: Path) -> None:
    store = tmp_path / ".gatekeeper" / "verdicts.db"
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with SqliteStore(store) as writer:
        writer.add(make_verdict("forged-9999", created_at="9999-12-31T23:59:59Z", commit="c1"))
        writer.add(make_verdict("real-fail", status="fail", created_at=now, commit="c1"))
        writer.add(make_verdict("forged-0999", created_at="0999-01-01T00:00:00Z", commit="c2"))
    release = tmp_path / "release.yaml"
    release.write_text("name: r1\nmembers:\n  - {project: group/app, commit: c1}\n")

    checked = gatekeeper("release", "check", "--file", str(release), "--store", str(store), cwd=tmp_path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert checked.stdout.startswith("BLOCKED  release r1")

    report = gatekeeper("report", "--project", "group/app", "--store", str(store), "--format", "markdown", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    # Latest as recorded; the 0999 claim lies outside the last 30 days, the 9999 one is listed as claimed.
    assert "2 verdicts from" in report.stdout and "Latest verdict: **FAIL**" in report.stdout
    assert "| 9999-12-31 23:59 | pass |" in report.stdout and "forged-0999" not in report.stdout
