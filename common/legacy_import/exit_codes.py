"""Exit statuses of ``migrate_from_sqlite`` in every project and in ``manage_all.py``."""

EXIT_CLEAN = 0
EXIT_ERROR = 1  # bad input, an unreachable or unmigrated database, an interrupted run
EXIT_USAGE = 2  # bad command-line arguments (argparse's own status)
EXIT_NEEDS_ATTENTION = 3  # imported; the report lists rows a person must look at
EXIT_VERIFY_MISMATCH = 4  # --verify found rows that differ from users.db
