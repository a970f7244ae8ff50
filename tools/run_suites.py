#!/usr/bin/env python
"""Run each test suite in its own pytest process and sum up: ``make test`` calls this.

Each Django project has its own settings, and Django settings are per process,
so ``common``, the three projects and the cross-service ``tests`` are separate
pytest runs. A suite fails the whole run; every suite runs regardless.

The suite ``imports`` is no pytest run: it checks the import rules with import-linter,
once per project (each project's ``.importlinter``, with the project's directory as
the root: ``config`` and ``legacy_import`` exist in two projects), each contract
counted as a test (docs/architecture.md, "Import rules").

    python tools/run_suites.py imports common users_project ... [-- extra pytest args]
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NO_TESTS_COLLECTED = 5
PROJECTS = ("gateway_project", "users_project", "auth_project")
IMPORTS_SUITE = "imports"


def run_import_contracts() -> tuple[int, dict[str, int]]:
    """``lint-imports`` in each project's directory; its contracts kept and broken as passed and failed."""
    print(f"\n=== {IMPORTS_SUITE} ===", flush=True)
    lint_imports = Path(sys.executable).with_name("lint-imports")
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    returncode = 0
    for project in PROJECTS:
        result = subprocess.run(
            [str(lint_imports), "--config", ".importlinter", "--no-cache"],
            cwd=REPO_ROOT / project, capture_output=True, text=True,
        )
        summary = re.search(r"Contracts: (\d+) kept, (\d+) broken", result.stdout)
        kept, broken = (int(summary[1]), int(summary[2])) if summary else (0, 1)
        counts["passed"] += kept
        counts["failed"] += broken
        print(f"{project}: {kept} contracts kept, {broken} broken", flush=True)
        if result.returncode:
            print(result.stdout[result.stdout.find("Broken contracts"):] or result.stdout, result.stderr, flush=True)
            returncode = 1
    return returncode, counts


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
            if suite == IMPORTS_SUITE:
                returncode, counts = run_import_contracts()
            else:
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
