"""`release check` lists a release's issue keys (from its members' verdicts' `trace`) and those no passing
verdict names, on real verdicts from `gatekeeper check` recorded in the embedded store.

    bank/ledger at a..a: pass, trace PROJ-1 (commit) and PROJ-2 (branch)
    bank/cards  at c..c: fail, trace PROJ-2 and PROJ-3
    bank/web    at d..d: no verdict
Keys: PROJ-1, PROJ-2, PROJ-3; PROJ-2 is named by the passing ledger verdict, PROJ-3 only by the
failing cards verdict: without a passing verdict, PROJ-3.
"""

from __future__ import annotations

import copy
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from gatekeeper.store.sqlite import SqliteStore
from tests.verdicts import GATEKEEPER, REPO, check_example


def traced(verdict: dict[str, Any], project: str, commit: str, keys: dict[str, list[str]]) -> dict[str, Any]:
    found = copy.deepcopy(verdict)
    found["id"] = str(uuid.uuid4())
    found["context"] |= {"project": project, "commit": commit}
    found["trace"] = {
        "pattern": "[A-Z][A-Z0-9]+-[0-9]+",
        "range": None,
        "commits": [{"sha": commit, "keys": keys["commit"], "subject": "a change"}],
        "keys": sorted({*keys["commit"], *keys["branch"]}),
        "sources": {"branch": keys["branch"], "title": []},
    }
    return found


def test_release_check_lists_the_keys_and_those_without_a_passing_verdict(tmp_path: Path) -> None:
    passing = check_example(tmp_path, "passing", policy=REPO / "rules" / "caict-cd" / "level-1.yaml")
    failing = check_example(tmp_path, "failing")
    assert (passing["status"], failing["status"]) == ("pass", "fail")
    store_path = tmp_path / "store.db"
    with SqliteStore(store_path) as store:
        store.add(traced(passing, "bank/ledger", "a" * 40, {"commit": ["PROJ-1"], "branch": ["PROJ-2"]}))
        store.add(traced(failing, "bank/cards", "c" * 40, {"commit": ["PROJ-3"], "branch": ["PROJ-2"]}))
    release = tmp_path / "release.json"
    members = [
        {"project": "bank/ledger", "commit": "a" * 40},
        {"project": "bank/cards", "commit": "c" * 40},
        {"project": "bank/web", "commit": "d" * 40},
    ]
    release.write_text(json.dumps({"name": "2026.12", "members": members}))
    command = [GATEKEEPER, "release", "check", "--file", str(release), "--store", str(store_path)]
    as_json = subprocess.run([*command, "--format", "json"], capture_output=True, text=True, timeout=60)
    assert as_json.returncode == 1, as_json.stderr  # blocked: cards failed, web has no verdict
    document = json.loads(as_json.stdout)
    assert document["keys"] == ["PROJ-1", "PROJ-2", "PROJ-3"]
    assert document["keys_without_passing_verdict"] == ["PROJ-3"]
    assert [member["keys"] for member in document["members"]] == [["PROJ-1", "PROJ-2"], ["PROJ-2", "PROJ-3"], []]
    as_text = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert as_text.returncode == 1
    lines = as_text.stdout.splitlines()
    assert lines[-2:] == ["  issue keys (3): PROJ-1, PROJ-2, PROJ-3", "  without a passing verdict (1): PROJ-3"]


def test_the_release_page_lists_the_keys(tmp_path: Path) -> None:
    """The server's release page says the same, escaped (a key is whatever a verdict's trace holds)."""
    from gatekeeper.release import Member, Release, assess
    from gatekeeper.server.web import routes

    passing = check_example(tmp_path, "passing", policy=REPO / "rules" / "caict-cd" / "level-1.yaml")
    failing = check_example(tmp_path, "failing")
    verdicts = {
        "a" * 40: traced(passing, "bank/ledger", "a" * 40, {"commit": ["PROJ-1"], "branch": ["<b>X-1</b>"]}),
        "c" * 40: traced(failing, "bank/cards", "c" * 40, {"commit": ["PROJ-3"], "branch": []}),
    }
    release = Release(
        name="2026.12",
        level=None,
        members=(Member(project="bank/ledger", commit="a" * 40), Member(project="bank/cards", commit="c" * 40)),
    )
    readiness = assess(release, lambda member: verdicts.get(member.commit or ""))
    assert readiness.keys_without_passing_verdict == ("PROJ-3",)
    page = routes._render(
        "release.html", readiness=readiness, blocked=[], members=readiness.members, start=0, page=1, more=False
    ).body.decode()
    assert "Issue keys (3), from the members' verdicts: &lt;b&gt;X-1&lt;/b&gt;, PROJ-1, PROJ-3." in page
    assert "<strong>Without a passing verdict (1): PROJ-3.</strong>" in page
