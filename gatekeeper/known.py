"""What a verdict knew, kept compact for the runs that take it as their baseline.

"New" findings and failures are those the baseline verdict did not have.  A verdict lists at most
LIST_LIMIT of each in its details, so it also records every finding's and failing test's key as a short
digest (`KeySet`): a few bytes each, all of them, within the verdict's size bound.  A digest is the first
`width` bytes of the key's sha256; the fewer bytes, the likelier a new key passes for a known one
(about n / 2**(8·width) for n keys: 1 in 175,000 for 24,576 keys of 4 bytes), never the other way.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Bytes of digests a verdict spends on one key set at most (base64 makes 4 characters of every 3).
KEY_BUDGET = 96 * 1024
_WIDEST = 8  # bytes per digest while the budget allows
_NARROWEST = 4


def content_key(tool: str, rule: str, path: str, content: bytes) -> str:
    """A finding's identity across runs, as `baseline_keys` records it: tool, rule, path and what it found
    (`Finding.content`, which never holds a line number); the path apart, so a renamed file's findings are
    looked up at its old path too."""
    return "\x1f".join((tool, rule, path, content.hex()))


def finding_key(tool: str, rule: str, fingerprint: str) -> str:
    """A finding's identity from what a verdict's details list (its fingerprint, path included): the keys of
    a baseline verdict from before `baseline_keys`."""
    return "\x1f".join((tool, rule, fingerprint))


def case_key(classname: str, suite: str, name: str) -> str:
    """A test case's identity across runs: its class (or, without one, its suite) and name."""
    return "\x1f".join((classname or suite, name))


#: Each key's hasher is a copy of this one: OpenSSL copies a context for less than it makes a new one (about
#: a fifth of a key's cost; 17,875 failing tests ~10 -> ~8 ms).  The digests are those of `hashlib.sha256`.
_SHA256 = hashlib.sha256()


def _digest(key: str, width: int) -> bytes:
    hasher = _SHA256.copy()
    hasher.update(key.encode("utf-8", "surrogatepass"))
    return hasher.digest()[:width]


def _digests(keys: Iterable[str], width: int) -> frozenset[bytes]:
    """`_digest` of every key, in one loop (no call per key but the hasher's own)."""
    copy = _SHA256.copy
    found = []
    for key in keys:
        hasher = copy()
        hasher.update(key.encode("utf-8", "surrogatepass"))
        found.append(hasher.digest()[:width])
    return frozenset(found)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeySet:
    """Every key of one kind a verdict knew, as digests; `digests` is None when there were too many to
    record (more than KEY_BUDGET / 4), and then nothing can be judged new by comparison with it."""

    count: int
    width: int = _WIDEST
    digests: frozenset[bytes] | None = frozenset()
    #: `encoded`'s text once made: a verdict is made JSON twice (its size, then what is written), and
    #: sorting 17,875 failing tests' digests is ~3 ms.  Not part of the set's value.
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, keys: Iterable[str]) -> KeySet:
        unique = set(keys)
        width = min(_WIDEST, KEY_BUDGET // max(len(unique), 1))
        if width < _NARROWEST:
            return cls(count=len(unique), width=_NARROWEST, digests=None)
        return cls(count=len(unique), width=width, digests=_digests(unique, width))

    @property
    def complete(self) -> bool:
        return self.digests is not None

    def knows(self, key: str) -> bool:
        """Whether the key was in the set (only meaningful when `complete`)."""
        return self.digests is not None and _digest(key, self.width) in self.digests

    def encoded(self) -> str | None:
        """The digests, sorted and concatenated, in base64 (None when not recorded)."""
        if self._text is None and self.digests is not None:
            object.__setattr__(self, "_text", base64.b64encode(b"".join(sorted(self.digests))).decode("ascii"))
        return self._text

    @classmethod
    def decoded(cls, count: int, width: int, text: str | None) -> KeySet:
        """The set a verdict recorded (`encoded`); digests that do not divide into `width` bytes are
        not a key set: read as not recorded."""
        if text is None:
            return cls(count=count, width=width, digests=None)
        try:
            data = base64.b64decode(text, validate=True)
        except ValueError:
            return cls(count=count, width=width, digests=None)
        if width <= 0 or len(data) % width:
            return cls(count=count, width=width, digests=None)
        return cls(count=count, width=width, digests=frozenset(data[i : i + width] for i in range(0, len(data), width)))
