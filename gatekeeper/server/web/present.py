"""How values read on the pages: ages, numbers, thresholds, waiver expiry and links, decided once
here (pure) so the templates only lay them out."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gatekeeper.outputs.escape import terminal
from gatekeeper.words import level_reached, plural, short_commit

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gatekeeper.verdict import GateRecord
    from gatekeeper.words import LevelLike

#: A waiver whose expiry is this close (days) is flagged on the verdict page.
EXPIRY_WARNING_DAYS = 30

_OPERATORS = {">=": "≥", "<=": "≤", "==": "=", "max_decrease": "falls at most", "max_increase": "rises at most"}


def ago(then: datetime, now: datetime) -> str:
    """'just now', '5 min ago', '3 h ago', '12 d ago': time since a verdict, at a glance."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400 * 2:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def number(value: Any) -> str:
    """A metric or threshold for reading: whole numbers as such, others to one decimal; None as a dash."""
    if value is None or isinstance(value, bool):
        return "—"
    if isinstance(value, int):  # JSON integers have no bound: 10**400 is no float
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
    return str(value)


def threshold(gate: GateRecord) -> str:
    """A gate's criterion as 'operator threshold' ('≥ 80', 'falls at most 1'); groups say 'all of'/'any of'."""
    if gate.operator is None:
        return "—"
    operator = gate.operator.value
    if operator in ("all", "any"):
        return f"{operator} of its conditions"
    return f"{_OPERATORS.get(operator, operator)} {number(gate.threshold)}"


def shown(value: Any) -> Any:
    """What a template prints for a value: a closed set's member as its value (`pass`, never
    `Decision.PASS`, which is what str() gives a str enum before Python 3.11's StrEnum); text as
    `page_text` makes it, so a name stored with an ANSI escape is no raw control character in the HTML."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str) and _not_html().search(value):
        return page_text(value)
    return value


@functools.cache
def _not_html() -> re.Pattern[str]:
    """What an HTML page cannot carry (https://html.spec.whatwg.org/#preprocessing-the-input-stream):
    controls but tab, newline and carriage return; lone surrogates; noncharacters."""
    noncharacters = "".join(chr(plane + 0xFFFE) + chr(plane + 0xFFFF) for plane in range(0, 0x110000, 0x10000))
    return re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef{noncharacters}]")


def page_text(value: str) -> str:
    """Text a page can carry: controls shown escaped (`\\x1b`), as the terminal outputs show them
    (`escape.terminal`), so a reader sees a name held one; lone surrogates and noncharacters U+FFFD, as
    `escape.clean` makes surrogates.  Markup (a chart we drew) stays markup: these are never its syntax."""
    from markupsafe import Markup

    text = _not_html().sub(_visible, value)
    return Markup(text) if isinstance(value, Markup) else text


def _visible(found: re.Match[str]) -> str:
    character = found.group()
    if character <= "\x9f":
        return terminal(character)
    return "\ufffd"


def link(url: Any) -> str | None:
    """A CI job URL to link to, only if it is http(s): a `javascript:` URL in a verdict must not become a link."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


@dataclass(frozen=True, slots=True, kw_only=True)
class WaiverExpiry:
    """How long an applied waiver has left, as of the day the page is shown."""

    days_left: int | None

    @property
    def soon(self) -> bool:
        return self.days_left is not None and self.days_left <= EXPIRY_WARNING_DAYS

    @property
    def text(self) -> str:
        if self.days_left is None:
            return "no expiry"
        if self.days_left < 0:
            return f"expired {-self.days_left} d ago"
        if self.days_left == 0:
            return "expires today"
        return f"expires in {self.days_left} d"


def waiver_expiry(expires: Any, today: date) -> WaiverExpiry:
    if not isinstance(expires, str):
        return WaiverExpiry(days_left=None)
    try:
        day = date.fromisoformat(expires[:10])
    except ValueError:
        return WaiverExpiry(days_left=None)
    return WaiverExpiry(days_left=(day - today).days)


def commit(value: Any) -> str:
    """A commit hash in the one short form every output uses; a dash where there is none."""
    return short_commit(value if isinstance(value, str) else None, "—")


def level(achieved: Any) -> str:
    """A level achieved in a table cell: its number, "none" for level 0 (no level reached), a dash for none assessed."""
    return "none" if achieved == 0 and not isinstance(achieved, bool) else number(achieved)


def reached(achieved: int | None, levels: Sequence[LevelLike] = ()) -> str:
    """The level achieved in words: "level 2 achieved", "no level reached: level 1 is held back by …"."""
    return level_reached(achieved, levels)


#: Registered as the templates' filters: `{{ item.commit | commit }}`, `{{ x.level_achieved | level }}`.
FILTERS = {"commit": commit, "level": level, "reached": reached, "plural": plural}
