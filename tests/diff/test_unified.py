"""The unified-diff reader, on diffs as git, `diff -u` and hand editors write them (line numbers by hand)."""

from __future__ import annotations

import pytest

from gatekeeper.change import FileStatus
from gatekeeper.diff.unified import DiffError, changed_files, unquote
from gatekeeper.model import mask_lines


def read(text: str) -> dict[str, tuple[FileStatus, list[int], int, str | None, bool]]:
    files = changed_files(text.encode().splitlines(keepends=True))
    return {f.path: (f.status, mask_lines(f.added), f.lines_removed, f.old_path, f.binary) for f in files}


GIT_DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111..2222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,5 +1,6 @@
 import os
-x = 1
+x = 2
+y = 3
 def f():
     return x
<blank context line>
diff --git a/old.py b/pkg/new.py
similarity index 90%
rename from old.py
rename to pkg/new.py
index 3333333..4444444 100644
--- a/old.py
+++ b/pkg/new.py
@@ -10 +10 @@ def g():
-    return 1
+    return 2
diff --git a/gone.py b/gone.py
deleted file mode 100644
index 5555555..0000000
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..6666666
Binary files /dev/null and b/logo.png differ
diff --git a/same.py b/moved/same.py
similarity index 100%
rename from same.py
rename to moved/same.py
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/fresh.py b/fresh.py
new file mode 100644
index 0000000..7777777
--- /dev/null
+++ b/fresh.py
@@ -0,0 +1,3 @@
+one
+two
+three
""".replace("<blank context line>", " ")


def test_a_git_diff_with_context_renames_deletions_binaries_and_mode_changes() -> None:
    assert read(GIT_DIFF) == {
        # context lines 1, 4, 5, 6 are not changed; `x = 2` is line 2, `y = 3` line 3
        "src/app.py": (FileStatus.MODIFIED, [2, 3], 1, None, False),
        "pkg/new.py": (FileStatus.RENAMED, [10], 1, "old.py", False),
        "gone.py": (FileStatus.DELETED, [], 2, None, False),
        "logo.png": (FileStatus.ADDED, [], 0, None, True),
        "moved/same.py": (FileStatus.RENAMED, [], 0, "same.py", False),
        "run.sh": (FileStatus.MODIFIED, [], 0, None, False),
        "fresh.py": (FileStatus.ADDED, [1, 2, 3], 0, None, False),
    }


def test_diff_u_with_timestamps_crlf_and_no_newline_markers() -> None:
    text = (
        "--- lib/a.c\t2026-01-01 00:00:00.000000000 +0000\r\n"
        "+++ lib/a.c\t2026-01-02 00:00:00.000000000 +0000\r\n"
        "@@ -3,2 +3,3 @@\r\n"
        " int a;\r\n"
        "-int b;\r\n"
        "\\ No newline at end of file\r\n"
        "+int b = 1;\r\n"
        "+int c;\r\n"
        "\\ No newline at end of file\r\n"
    )
    # line 3 is context; `int b = 1;` is line 4 and `int c;` line 5
    assert read(text) == {"lib/a.c": (FileStatus.MODIFIED, [4, 5], 1, None, False)}


def test_quoted_git_paths_are_unquoted() -> None:
    assert unquote(b'"sp \\303\\251\\"x.py"') == 'sp \u00e9"x.py'
    assert unquote(b'"tab\\there\\nnewline"') == "tab\there\nnewline"
    assert unquote(b"plain name.py") == "plain name.py"
    text = (
        'diff --git "a/d\\303\\251j\\303\\240 vu.py" "b/d\\303\\251j\\303\\240 vu.py"\n'
        'index 1..2 100644\n--- "a/d\\303\\251j\\303\\240 vu.py"\t\n+++ "b/d\\303\\251j\\303\\240 vu.py"\t\n'
        "@@ -0,0 +1 @@\n+x\n"
        "diff --git a/with space.py b/with space.py\nindex 1..2 100644\n"
        "--- a/with space.py\t\n+++ b/with space.py\t\n@@ -1 +1 @@\n-a\n+b\n"
    )
    assert read(text) == {
        "d\u00e9j\u00e0 vu.py": (FileStatus.MODIFIED, [1], 0, None, False),
        "with space.py": (FileStatus.MODIFIED, [1], 1, None, False),
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n", "the diff ends inside a hunk"),
        ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\nnot a diff line\n", "line 5: hunk cut short"),
        ("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n", "line 6: a changed line outside any hunk"),
        ("@@ -1 +1 @@\n-a\n+b\n", "line 1: hunk header outside a file section"),
        ("--- a/x\n", "a `---` header with no `+++`"),
    ],
)
def test_a_cut_or_malformed_diff_is_an_error_never_a_smaller_change(text: str, problem: str) -> None:
    with pytest.raises(DiffError) as caught:
        changed_files(text.encode().splitlines(keepends=True))
    assert problem in str(caught.value)


def test_text_that_is_no_diff_has_no_sections() -> None:
    assert changed_files([b"Hello,\n", b"this is a mail, not a patch.\n"]) == []
