"""Types of the optional C extension `_lcov_speedups.c` (see lcov._Reader.body)."""

def body(
    data: bytes,
    start: int,
    stop: int,
    statements: bytearray,
    covered: bytearray,
    totals: dict[int, int],
    taken: dict[int, int],
) -> tuple[int, bool] | None: ...
