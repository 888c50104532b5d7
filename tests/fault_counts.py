"""Print the fault corpus's counts: cases, ok, traceback, loss, wrong (issue #16).

    python -m tests.fault_counts            # every corpus module
    python -m tests.fault_counts -k csv     # extra pytest arguments pass through

A case is a test marked `fault(KIND)` (tests/faults.py). Passing: ok. Failing: "traceback" when the
command printed one (or hiercat itself raised), else its KIND.

Measured on this corpus (issue #16), before the fixes (the tree of commit 4192fb5, 2026-12-02 01:00 UTC):
cases 84, ok 3, traceback 28, loss 10, wrong 43. After them, with one more case (a real tmpfs filling
between batches, a known gap marked xfail): cases 85, ok 84, traceback 0, loss 1, wrong 0.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.faults import TRACEBACK_TAG

CORPUS = ["test_catalog_faults.py", "test_cli_errors.py", "test_model_identity.py", "test_store_health.py"]


class Tally:
    """A pytest plugin counting corpus outcomes by class."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.kinds: dict[str, str] = {}
        self.failed: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report) -> None:
        if report.skipped and hasattr(report, "wasxfail"):  # a known failure, not run: counted as its class
            self.counts[self.kinds.get(report.nodeid, "wrong")] += 1
            self.failed.append((report.nodeid, self.kinds.get(report.nodeid, "wrong") + " (xfail)"))
            return
        if report.when == "setup" and report.skipped:
            self.counts["skipped"] += 1
            return
        if report.when != "call":
            if report.failed:  # an error in setup or teardown is a case that went wrong
                self._fail(report, "wrong")
            return
        marks = list(getattr(report, "fault_marks", []))
        kind = marks[0] if marks else "wrong"
        if report.passed:
            self.counts["ok"] += 1
        elif report.skipped:
            self.counts["skipped"] += 1
        else:
            self._fail(report, kind)

    def _fail(self, report, kind: str) -> None:
        text = str(report.longrepr)
        if TRACEBACK_TAG in text:
            kind = "traceback"
        self.counts[kind] += 1
        self.failed.append((report.nodeid, kind))

    def pytest_collection_modifyitems(self, items) -> None:
        self.kinds = {i.nodeid: next((m.args[0] for m in i.iter_markers("fault")), "wrong") for i in items}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        rep = outcome.get_result()
        rep.fault_marks = [m.args[0] for m in item.iter_markers("fault")]
        # An exception raised inside hiercat itself (not by the test's own checks) is a traceback a user would
        # see, unless it is one of hiercat's own error types (CatalogError, ...): the CLI prints those in a line.
        if call.excinfo is not None and not call.excinfo.errisinstance((AssertionError, pytest.skip.Exception)):
            last = str(call.excinfo.traceback[-1].path)
            own = type(call.excinfo.value).__module__.startswith("hiercat")
            if "/hiercat/" in last and "/tests/" not in last and not own:
                rep.fault_marks = ["traceback"]


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    tally = Tally()
    code = pytest.main([*(str(here / m) for m in CORPUS), "-m", "fault", "-p", "no:cacheprovider", "-q",
                        *argv], plugins=[tally])
    c = tally.counts
    cases = c["ok"] + c["traceback"] + c["loss"] + c["wrong"]
    print(f"\nfault corpus: cases {cases}, ok {c['ok']}, traceback {c['traceback']}, loss {c['loss']}, "
          f"wrong {c['wrong']}" + (f" (skipped {c['skipped']})" if c["skipped"] else ""))
    for nodeid, kind in tally.failed:
        print(f"  {kind:9s} {nodeid}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
