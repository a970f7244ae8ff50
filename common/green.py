"""Whether this process serves on greenlets: gevent has patched the standard library (gunicorn's gevent worker).

The database backends (``common.sqlite``, ``common.postgresql``) ask, so that
their waits give the thread to the other greenlets instead of holding it;
without gevent they are Django's.
"""

from __future__ import annotations

import sys


def gevent_patched() -> bool:
    """Whether ``gevent.monkey`` has patched ``threading`` in this process; gevent is not imported to find out."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")
