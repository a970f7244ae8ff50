"""The ``common`` suite runs from this directory (``python -m pytest``), which puts it first on ``sys.path``.

There ``celery.py`` (``common.celery``, the app factory) would stand in for the
celery package itself as soon as a test imports Celery: take the directory off
the path; ``common`` is importable from the repository root (``pythonpath``).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
