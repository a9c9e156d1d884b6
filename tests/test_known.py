"""The key digests a verdict records (gatekeeper.known): later runs compare them with digests that earlier
versions stored, so a digest is, and stays, the first `width` bytes of the key's sha256."""

from __future__ import annotations

import hashlib

from gatekeeper.known import KEY_BUDGET, KeySet

ODD_KEYS = ["tests.test_a\x1ftest_one", "caf\u00e9\x1f\u00fc", "lone \udcff surrogate", "", "\x00 nul", "名前" * 500]


def test_digests_are_the_sha256_prefixes_of_the_keys() -> None:
    """Each key is hashed on a copy of one hasher, not a new one: the same bytes as `hashlib.sha256`."""
    for keys in (ODD_KEYS, [str(n) for n in range(KEY_BUDGET // 5)]):
        found = KeySet.of(keys)
        assert found.digests == {
            hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()[: found.width] for key in keys
        }
        assert all(found.knows(key) for key in keys) and not found.knows("another key")


def test_the_recorded_digests_are_those_earlier_versions_recorded() -> None:
    """Pinned from the version before the shared hasher (commit bee3884), at both widths."""
    assert KeySet.of(ODD_KEYS[:4]).encoded() == "MRAH8aVZ/99b06qJDDlbyogeCoLRs6/X47DEQpj8HBQ="
    narrow = KeySet.of(str(n) for n in range(KEY_BUDGET // 5))
    assert narrow.width == 5
    encoded = narrow.encoded()
    assert encoded is not None
    assert hashlib.sha256(encoded.encode()).hexdigest() == (
        "cc629424c33d5ac58a545b613abedfb1dc264d3e094c3f832978505980433a9b"
    )


def test_the_text_is_made_once_and_is_no_part_of_the_sets_value() -> None:
    """A verdict is made JSON twice (its size, then what is written): the second asks for the same text."""
    keys = [f"tests.module_{n % 7}.Test\x1ftest_{n}" for n in range(1000)]
    found = KeySet.of(keys)
    fresh = KeySet.of(reversed(keys))
    text = found.encoded()
    assert text is not None and found.encoded() is text
    assert text == fresh.encoded() == KeySet.decoded(found.count, found.width, text).encoded()
    assert found == fresh and hash(found) == hash(fresh) and found == KeySet.of(keys)
    assert repr(found) == repr(KeySet.of(keys))
    assert KeySet.of(()).encoded() == "" and KeySet(count=5, digests=None).encoded() is None
