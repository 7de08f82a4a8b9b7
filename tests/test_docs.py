"""Run the ``>>>`` examples of the markdown pages (docs/**/*.md and README.md), one test per page.

The pages are found when the tests are collected, so a new page with examples is covered without
editing this file.  pytest itself collects no markdown (setup.cfg sets --doctest-modules, which
reads .py files only, and no --doctest-glob), so every example runs once, here.
"""

import contextlib
import doctest
import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def pages_with_examples():
    """Markdown files under docs/ (any depth) and README.md that contain a ``>>>`` prompt."""
    candidates = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    return [path for path in candidates
            if path.is_file() and any(line.lstrip().startswith(">>>")
                                      for line in path.read_text(encoding="utf-8").splitlines())]


PAGES = pages_with_examples()


def test_pages_with_examples_are_found():
    found = {path.relative_to(ROOT).as_posix() for path in PAGES}
    assert "docs/getting-started.md" in found, f"the page glob found only {sorted(found)}"


@pytest.mark.parametrize("page", PAGES, ids=[path.relative_to(ROOT).as_posix() for path in PAGES])
def test_markdown_examples(page):
    report = io.StringIO()
    with contextlib.redirect_stdout(report):  # doctest writes its failure report to stdout
        result = doctest.testfile(str(page), module_relative=False, optionflags=FLAGS, encoding="utf-8",
                                  report=False)
    assert result.attempted > 0
    assert result.failed == 0, (f"{result.failed} of {result.attempted} examples failed in "
                                f"{page.relative_to(ROOT).as_posix()}:\n{report.getvalue()}")
