"""Flaky history's own record of each verdict that read tests (issue 16): `test_runs`.

`GET /api/v1/test-runs` (the history `check --upload` reads) selected up to 500 whole bodies, ~160 KB
each on a broken build (their key digests), and parsed each in Python: up to ~80 MB per request.  This
revision keeps, beside each such verdict, only what history reads (`codec.test_run_record`): its job,
commit, whether it listed every failure, and its listed tests' classname, name, outcome and flaky; and
windows it by this server's `received_at`, not the client's `created_at`.

Earlier verdicts get their record here: in one INSERT … SELECT on each database (the server stores only
schema-valid verdicts: `tests_omitted` an integer, each listed test an object), and in Python for the
few bodies holding NUL (`\u0000`, in a test's output say), which PostgreSQL's JSON functions refuse to
read at all.  A verdict whose job is over the indexed length or holds NUL (uploads now refused) gets none.

Revision ID: 0009_test_runs
Revises: 0008_deployments_by_status
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from gatekeeper.store.codec import test_run_record

revision = "0009_test_runs"
down_revision = "0008_deployments_by_status"
branch_labels = None
depends_on = None

#: Longest job (UTF-8 bytes) a record holds: `gatekeeper.store.MAX_INDEXED_BYTES` as of this revision.
_MAX_JOB_BYTES = 1000
#: NUL as JSON text spells it: a body holding it is recorded in Python (`_record_bodies_with_nul`).
_NUL = "\\u0000"

_BACKFILL_SQLITE = f"""
INSERT INTO test_runs (verdict_id, project, job, received_at, "commit", complete, tests)
SELECT id, project, json_extract(body, '$.context.job'), received_at,
    CASE WHEN "commit" <> '' THEN "commit" END,
    coalesce(json_extract(body, '$.details.tests_omitted') = 0, 1),
    CASE json_type(body, '$.details.tests') WHEN 'array' THEN (
        SELECT json_group_array(json_object(
            'classname', json_extract(test.value, '$.classname'),
            'name', json_extract(test.value, '$.name'),
            'outcome', json_extract(test.value, '$.outcome'),
            'flaky', json_extract(test.value, '$.flaky')))
        FROM json_each(body, '$.details.tests') AS test WHERE test.type = 'object'
    ) ELSE '[]' END
FROM verdicts
WHERE project IS NOT NULL AND json_extract(body, '$.metrics."tests.total"') IS NOT NULL
    AND coalesce(json_type(body, '$.context.job'), 'null') IN ('text', 'null')
    AND coalesce(length(CAST(json_extract(body, '$.context.job') AS BLOB)), 0) <= {_MAX_JOB_BYTES}
    AND instr(body, :nul) = 0
"""

# Each body parsed once, as jsonb (json's operators parse the text again each: 4x the time), in a subquery
# that OFFSET 0 keeps apart; the bodies holding NUL, which jsonb refuses, are left to Python before the cast.
_BACKFILL_POSTGRESQL = f"""
INSERT INTO test_runs (verdict_id, project, job, received_at, "commit", complete, tests)
SELECT id, project, doc #>> '{{context,job}}', received_at,
    CASE WHEN "commit" <> '' THEN "commit" END,
    coalesce(CAST(doc #>> '{{details,tests_omitted}}' AS numeric) = 0, true),
    coalesce((
        SELECT CAST(jsonb_agg(jsonb_build_object(
            'classname', test.value -> 'classname',
            'name', test.value -> 'name',
            'outcome', test.value -> 'outcome',
            'flaky', test.value -> 'flaky') ORDER BY test.n) AS text)
        FROM jsonb_array_elements(CASE jsonb_typeof(doc #> '{{details,tests}}')
            WHEN 'array' THEN doc #> '{{details,tests}}' ELSE CAST('[]' AS jsonb) END)
            WITH ORDINALITY AS test (value, n)
        WHERE jsonb_typeof(test.value) = 'object'
    ), '[]')
FROM (
    SELECT id, project, received_at, "commit", CAST(body AS jsonb) AS doc FROM verdicts
    WHERE project IS NOT NULL AND position(:nul IN body) = 0 OFFSET 0
) AS verdict
WHERE coalesce(jsonb_typeof(doc #> '{{metrics,tests.total}}'), 'null') <> 'null'
    AND coalesce(jsonb_typeof(doc #> '{{context,job}}'), 'null') IN ('string', 'null')
    AND coalesce(octet_length(doc #>> '{{context,job}}'), 0) <= {_MAX_JOB_BYTES}
"""


def upgrade() -> None:
    op.create_table(
        "test_runs",
        sa.Column("verdict_id", sa.String(64), sa.ForeignKey("verdicts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("project", sa.Text()),
        sa.Column("job", sa.Text()),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("commit", sa.Text()),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("tests", sa.Text(), nullable=False),
    )
    op.create_index("test_runs_job_received", "test_runs", ["project", "job", "received_at", "verdict_id"])
    connection = op.get_bind()
    postgresql = connection.dialect.name == "postgresql"
    connection.execute(sa.text(_BACKFILL_POSTGRESQL if postgresql else _BACKFILL_SQLITE), {"nul": _NUL})
    _record_bodies_with_nul(connection, "position(:nul IN body)" if postgresql else "instr(body, :nul)")


def _record_bodies_with_nul(connection: sa.Connection, find_nul: str) -> None:
    """The records of the verdicts the INSERT … SELECT passed over, as an upload now writes them."""
    rows = connection.execute(
        sa.text(f"SELECT id, project, received_at, body FROM verdicts WHERE project IS NOT NULL AND {find_nul} > 0"),
        {"nul": _NUL},
    )
    columns = ("verdict_id", "project", "job", "received_at", "commit", "complete", "tests")
    records = sa.table("test_runs", *(sa.column(name) for name in columns))
    for verdict_id, project, received_at, body in rows.all():
        record = test_run_record(json.loads(body))
        job = record.job if record is not None else None
        if record is None or (job is not None and ("\x00" in job or len(job.encode("utf-8")) > _MAX_JOB_BYTES)):
            continue
        connection.execute(
            records.insert(),
            {
                "verdict_id": verdict_id,
                "project": project,
                "job": job,
                "received_at": received_at,
                "commit": record.commit,
                "complete": record.complete,
                "tests": record.tests,
            },
        )


def downgrade() -> None:
    op.drop_index("test_runs_job_received", "test_runs")
    op.drop_table("test_runs")
