"""Whether this process serves on greenlets: gevent has patched the standard library (gunicorn's gevent worker).

The database backends (``common.sqlite``, ``common.postgresql``) ask, so that
their waits give the thread to the other greenlets instead of holding it;
without gevent they are Django's.
"""

from __future__ import annotations

import select
import sys


def gevent_patched() -> bool:
    """Whether ``gevent.monkey`` has patched ``threading`` in this process; gevent is not imported to find out."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def system_poll():
    """The system's ``select.poll`` class, even where gevent has patched ``select``.

    For a look at a socket that never waits (a zero timeout): gevent's cooperative
    poll gives the same answer through its event loop, at some twenty times the
    CPU (a kept database or upstream connection is looked at before every use).
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("select"):
        return monkey.get_original("select", "poll")
    return select.poll
