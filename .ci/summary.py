"""Add up the JUnit reports of all test sessions and print one 'N passed, N failed' line.

Exits 1 when a report is missing or no test ran at all, so an empty run never passes.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

__all__ = ["main"]

EXPECTED = ("tests-core", "tests-airflow", "tests-prefect", "tests-dagster")


def main(report_dir: Path) -> int:
    """Print per-session and total counts; return 0 only if every session ran tests that passed."""
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    problems: list[str] = []
    for name in EXPECTED:
        path = report_dir / f"{name}.xml"
        if not path.exists():
            problems.append(f"{name}: no report (session did not reach pytest)")
            continue
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        tests = sum(int(s.get("tests", 0)) for s in suites)
        failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        skipped = sum(int(s.get("skipped", 0)) for s in suites)
        passed = tests - failed - skipped
        print(f"ci: {name}: {passed} passed, {failed} failed, {skipped} skipped")
        totals["passed"] += passed
        totals["failed"] += failed
        totals["skipped"] += skipped
        if tests == 0:
            problems.append(f"{name}: no tests ran")
    for problem in problems:
        print(f"ci: {problem}")
    print(f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 0 if not problems and totals["failed"] == 0 and totals["passed"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
