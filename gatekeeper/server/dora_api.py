"""`GET /api/v1/delivery/four-keys`: a project's four keys per environment over the last days, computed by
the server from its tables (in SQL on PostgreSQL, `gatekeeper.server.web.delivery`), for
`gatekeeper delivery --server` and `gatekeeper report --server`.  A read token."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from gatekeeper import dora
from gatekeeper.delivery import ENVIRONMENT_PATTERN, MAX_TEXT
from gatekeeper.server.auth import Scope, Token

API = "/api/v1"
#: The longest window asked for, in days.
MAX_DAYS = 366

Requires = Callable[[Scope], Callable[..., Awaitable[Token]]]


def router(requires: Requires) -> APIRouter:
    """The four keys' route; `requires(scope)` is the app's token dependency."""
    routes = APIRouter(prefix=f"{API}/delivery", tags=["delivery"])

    @routes.get(
        "/four-keys",
        dependencies=[Depends(requires(Scope.READ))],
        responses={
            401: {"description": "Missing, invalid, expired or revoked token."},
            403: {"description": "The token cannot read."},
            422: {"description": "A bad project, environment or number of days."},
        },
    )
    async def four_keys(
        request: Request,
        project: Annotated[str, Query(min_length=1, max_length=MAX_TEXT, pattern=r"^[^\x00-\x1f\x7f]+$")],
        environment: Annotated[str | None, Query(max_length=100, pattern=ENVIRONMENT_PATTERN)] = None,
        days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = dora.DEFAULT_DAYS,
    ) -> JSONResponse:
        """The four keys of `project` in `environment` (else each environment it deployed to), over the
        last `days` days up to now (the server's clock), with their buckets and recommendations."""
        from gatekeeper.server.web import delivery

        engine = request.app.state.engine
        until = datetime.now(timezone.utc)
        since = until - timedelta(days=days)

        def read() -> list[dict[str, Any]]:
            names = [environment] if environment else delivery.environments(engine, project)
            found = []
            for name in names:
                if re.fullmatch(ENVIRONMENT_PATTERN, name) is None:
                    continue
                result = delivery.delivery(engine, project, name, since, until, with_trend=False)
                found.append(dora.document(result.keys, result.advice))
            return found

        items = await run_in_threadpool(read)
        return JSONResponse({"project": project, "days": days, "environments": items})

    return routes
