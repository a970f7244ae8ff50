"""Importing the monolith's ``users.db`` into one service's database: the engine both services share.

Each service imports what it owns with its own ``migrate_from_sqlite`` command
(``users``: profiles; ``auth``: credentials); its ``LegacyMapping`` says how a
legacy row becomes a row of its table. The rest is here, once, a module a job:

- ``source``: opening and reading ``users.db`` in id order, the read-ahead thread;
  ``values``: reading the values the monolith wrote, and the rows' checksums.
- ``models``: the state per legacy id and per run (abstract; a model per service),
  the statuses and the policy; ``mapping``: a legacy row read for import, and
  the base of each service's mapping.
- ``bulk``: writing many rows at once (COPY on PostgreSQL); ``progress``: the progress bar.
- ``tables``: the service's tables as the import reads and keeps them; ``run``:
  the import; ``verify``: comparing every row with the service's table.
- ``command``: the ``migrate_from_sqlite`` command; ``exit_codes``: its exit statuses.

How it works and why (batches, checksums, the policy, the cutover): docs/migration.md.
Nothing here imports Django on import of the package: ``manage_all.py`` reads the exit
statuses, and the benchmark builds files with ``source``, without settings.
"""
