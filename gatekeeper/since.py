"""`--since` as the commands that read a period of verdicts take it (`report`, `verdicts list`): one parser,
so the same words work for both and a mistake names the option, not the store."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from gatekeeper.errors import UsageError

_AGE = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """`30d`, `12h`, `2w` before now, or an ISO-8601 date/time (no zone means UTC), as a UTC instant."""
    value = text.strip()
    age = _AGE.match(value)
    try:
        if age:
            return now - timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return (moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except ValueError:
        raise UsageError(f"--since {text!r}: give an age such as 30d, 12h or 2w, or an ISO-8601 date") from None
    except OverflowError:
        raise UsageError(f"--since {text!r}: out of the range of dates") from None
