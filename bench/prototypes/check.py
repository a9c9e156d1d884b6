"""Check that the prototypes give exactly what gatekeeper's parsers give, on every file at hand.

    .venv/bin/python bench/prototypes/check.py [FILES_OR_DIRECTORIES...]

Defaults to the shared corpus (GATEKEEPER_CORPUS or /work/shared/corpus) and bench/data/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cobertura_fast
import coveragepy_fast
import junit_fast
import sarif_fast
from _fast_common import line_mask

from gatekeeper import model
from gatekeeper.errors import InputError
from gatekeeper.parsers import cobertura, coveragepy, junit, sarif
from gatekeeper.parsers.detect import detect

#: format -> (gatekeeper's parser, the prototype's)
PROTOTYPES = {
    "junit": (junit.parse, junit_fast.parse),
    "cobertura": (cobertura.parse, cobertura_fast.parse),
    "coverage-json": (coveragepy.parse, coveragepy_fast.parse),
    "sarif": (sarif.parse, sarif_fast.parse),
}

BENCH = Path(__file__).resolve().parent.parent


def outcome(parse: object, path: Path) -> object:
    try:
        return parse(path)  # type: ignore[operator]
    except InputError as error:
        return f"InputError: {error}"


def check_line_mask() -> None:
    """The faster line_mask gives the same int as gatekeeper's on edge cases and random sets."""
    import random

    rng = random.Random(7)
    cases = [[], [0], [-1], [-3, 0, 5], [5, 5, 2], [10_000_000], list(range(0, 5000, 3))]
    cases += [[rng.randrange(-5, 20_000) for _ in range(rng.randrange(300))] for _ in range(200)]
    for lines in cases:
        assert line_mask(lines) == model.line_mask(lines), lines
        assert line_mask(iter(lines)) == model.line_mask(iter(lines)), lines


def main(arguments: list[str]) -> int:
    check_line_mask()
    corpus = Path(os.environ.get("GATEKEEPER_CORPUS", "/work/shared/corpus"))
    roots = [Path(a) for a in arguments] or [corpus, BENCH / "data"]
    files = sorted(p for root in roots for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())
    checked: dict[str, int] = dict.fromkeys(PROTOTYPES, 0)
    differ = 0
    for path in files:
        try:
            found = detect(path)
        except InputError:
            found = None
        # Files detection refuses (malformed, entities) must fail the same way in both parsers.
        xml = [f for f in PROTOTYPES if f in ("junit", "cobertura")]
        formats = [found] if found in PROTOTYPES else xml if path.suffix == ".xml" else []
        for format_name in formats:
            checked[format_name] += 1
            original, prototype = PROTOTYPES[format_name]
            expected, actual = outcome(original, path), outcome(prototype, path)
            if expected != actual:
                differ += 1
                print(f"DIFFERS ({format_name}): {path}\n  gatekeeper: {expected}\n  prototype:  {actual}")
    print(", ".join(f"{n} {f} files" for f, n in checked.items()) + f" compared; {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
