#!/usr/bin/env bash
# The README's first command: set up .venv (once), then run the gate on the bundled passing and failing
# projects with the bundled starter policy, recording both verdicts in the embedded default store.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/gatekeeper ]; then
    echo "== setting up .venv (python3 -m venv; pip install -e .)"
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e .
fi

for project in passing failing; do
    reports=examples/$project/reports
    echo
    echo "== gatekeeper check --policy rules/starter.yaml $reports/{junit.xml,coverage.xml,bandit.json,semgrep.json}"
    set +e
    .venv/bin/gatekeeper check --policy rules/starter.yaml --project "example/$project" --branch main \
        "$reports/junit.xml" "$reports/coverage.xml" "$reports/bandit.json" "$reports/semgrep.json"
    status=$?
    set -e
    echo "-> exit code $status"
done

echo
echo "== gatekeeper verdicts list --limit 4   (store: .gatekeeper/verdicts.db)"
.venv/bin/gatekeeper verdicts list --limit 4
