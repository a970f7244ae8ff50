"""The settings the projects share, one module per topic; a project imports the topics it uses.

- ``core``: every process (the gateway too): general, JSON errors, Redis, internal auth keys, metrics.
- ``service``: what the users and auth services share and the gateway has not: Django's apps and
  middleware for a service with a database and an admin, templates, password validation.
- ``celery``: at-least-once delivery on Redis, for a service's worker and beat.
- ``events``: the outbox, relay and consumers (``common.events``).
- ``jwt``: SimpleJWT's claims and lifetimes, for the signer (auth) and the verifier (gateway).
- ``local``: a developer's machine and ``make run``.
- ``production``: HTTPS, HSTS, secure cookies; with ``requirements``, the variables production needs.

The modules hold values only; what computes a value lives in ``helpers`` and
``requirements`` and is called once, with plain arguments.
"""
