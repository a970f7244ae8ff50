"""The API document tells the truth: schemathesis, every check, against the running system through the gateway.

Cases are generated from the public document (``GET /api/schema/``), the one
clients read, and sent to the real gateway and services. Every check runs on
every answer: no server error; documented status, content type, headers and
body; well-formed requests accepted and malformed ones refused; protected
operations refusing a missing or wrong token. What the generator cannot know
(tokens, the session's secrets, refusals stated in words) the hooks supply
(``api_document_hooks.py``).

The run is bounded and the same every time: ``MAX_EXAMPLES`` fuzzed cases per
operation besides the coverage phase's, derandomized generation (no random seed,
no database of past examples), one worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from accounts import call

MAX_EXAMPLES = 20
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
HOOKS = "api_document_hooks"


def test_the_api_answers_as_its_document_says(running_system, tmp_path):
    system, _ = running_system
    status, _, document = call(system.gateway_url, "GET", "/api/schema/")
    assert status == 200 and "x-unavailable-services" not in document, document
    tests = str(Path(__file__).resolve().parent)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS,
        "PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")])),
    }
    report = tmp_path / "report.json"

    run = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "run", f"{system.gateway_url}/api/schema/",
            "--checks", "all",
            "--max-examples", str(MAX_EXAMPLES),
            "--generation-deterministic",
            # Text fields refuse NUL, as the document's description says.
            "--generation-allow-x00", "false",
            "--workers", "1",
            "--continue-on-failure",
            "--no-color",
            "--report", "json", "--report-json-path", str(report),
        ],
        cwd=tmp_path,  # whatever the run writes stays out of the repository
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )

    assert run.returncode == 0, run.stdout
    summary = json.loads(report.read_text())
    operations = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item if method in METHODS}
    assert summary["operations"]["tested"] == len(operations), run.stdout
    # Every operation answered some well-formed case with a success: tokens and secrets reached it.
    succeeded = {
        operation for operation, phases in summary["valid_rates"].items()
        if sum(phase["accepted"] for phase in phases.values())
    }
    assert succeeded == operations, run.stdout
