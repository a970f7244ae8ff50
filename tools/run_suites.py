#!/usr/bin/env python
"""Run each test suite in its own pytest process and sum up: ``make test`` calls this.

Each Django project has its own settings, and Django settings are per process,
so ``common``, the three projects and the cross-service ``tests`` are separate
pytest runs. A suite fails the whole run; every suite runs regardless.

    python tools/run_suites.py common users_project ... [-- extra pytest args]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NO_TESTS_COLLECTED = 5


def run_suite(suite: str, pytest_args: list[str], report: Path) -> tuple[int, dict[str, int]]:
    print(f"\n=== {suite} ===", flush=True)
    returncode = subprocess.call(
        [sys.executable, "-m", "pytest", f"--junitxml={report}", *pytest_args], cwd=REPO_ROOT / suite
    )
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    if report.exists():
        for testsuite in ElementTree.parse(report).getroot().iter("testsuite"):
            total = int(testsuite.get("tests", 0))
            failed = int(testsuite.get("failures", 0)) + int(testsuite.get("errors", 0))
            skipped = int(testsuite.get("skipped", 0))
            counts["failed"] += failed
            counts["skipped"] += skipped
            counts["passed"] += total - failed - skipped
    return returncode, counts


def main(argv: list[str]) -> int:
    split = argv.index("--") if "--" in argv else len(argv)
    suites, pytest_args = argv[:split], argv[split + 1 :]
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    failed_suites = []
    with tempfile.TemporaryDirectory() as tmp:
        for suite in suites:
            returncode, counts = run_suite(suite, pytest_args, Path(tmp) / f"{suite}.xml")
            for key in totals:
                totals[key] += counts[key]
            if returncode not in (0, NO_TESTS_COLLECTED) or counts["failed"]:
                failed_suites.append(suite)
    print()
    if failed_suites:
        print(f"failing suites: {', '.join(failed_suites)}")
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 1 if failed_suites or totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
