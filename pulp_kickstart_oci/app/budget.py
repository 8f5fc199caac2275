"""A per-sync budget: what upstream metadata may cost one sync, whatever upstream sends.

Per-read caps (downloads.py) bound one response; a budget bounds their sum and
the things a sync holds or fans out to (tags, trees, signatures, repodata
entries, requests). Each resource has a setting (``KICKSTART_SYNC_MAX_*``); the
first spend past it raises BudgetExceeded, which fails the sync with a message
naming the setting and what was being read. So the worker's memory and the
upstream traffic of a sync are bounded by settings, never by upstream.

``synchronize`` opens a budget for the whole sync (``SyncBudget.opened()``);
code that reads upstream spends from ``SyncBudget.current()``, which is None
outside a sync (the content app fetching an on_demand file): there only the
per-read caps apply.
"""

import contextlib
import contextvars
import time
from gettext import gettext as _

from django.conf import settings

# resource -> the setting that bounds it in one sync
RESOURCES = {
    "requests": "KICKSTART_SYNC_MAX_REQUESTS",
    "metadata_bytes": "KICKSTART_SYNC_MAX_METADATA_BYTES",
    "tags": "KICKSTART_SYNC_MAX_TAGS",
    "trees": "KICKSTART_SYNC_MAX_TREES",
    "signatures": "KICKSTART_SYNC_MAX_SIGNATURES",
    "repodata_entries": "KICKSTART_SYNC_MAX_REPODATA_ENTRIES",
    "seconds": "KICKSTART_SYNC_MAX_SECONDS",  # wall time since the sync began
}

_CURRENT = contextvars.ContextVar("kickstart_sync_budget", default=None)


class BudgetExceeded(Exception):
    """A sync went past one of its budgets; the message names the setting and the read."""

    def __init__(self, resource, limit, what=None):
        self.resource = resource
        self.setting = RESOURCES[resource]
        self.limit = limit
        message = _("the sync went past {setting} ({limit})").format(
            setting=self.setting, limit=limit
        )
        if what:
            message = _("{what}: {message}").format(what=what, message=message)
        super().__init__(message)


class SyncBudget:
    """Counters of one sync against the limits read from settings when it starts."""

    def __init__(self, **limits):
        self.limits = {
            resource: limits.get(resource, getattr(settings, setting))
            for resource, setting in RESOURCES.items()
        }
        self.spent = dict.fromkeys(RESOURCES, 0)
        self._started = time.monotonic()

    @staticmethod
    def current():
        """The budget of the sync running in this context, or None."""
        return _CURRENT.get()

    @classmethod
    @contextlib.contextmanager
    def opened(cls, **limits):
        """Run a sync under a fresh budget (tasks and threads started inside inherit it)."""
        budget = cls(**limits)
        token = _CURRENT.set(budget)
        try:
            yield budget
        finally:
            _CURRENT.reset(token)

    def spend(self, resource, amount=1, what=None):
        """Count ``amount`` of ``resource``; raise BudgetExceeded once past its limit."""
        spent = self.spent[resource] + amount
        self.spent[resource] = spent
        limit = self.limits[resource]
        if limit is not None and spent > limit:
            raise BudgetExceeded(resource, limit, what)

    def in_time(self, what=None):
        """Raise BudgetExceeded once the sync has run longer than its ``seconds``."""
        self.spent["seconds"] = 0
        self.spend("seconds", int(time.monotonic() - self._started), what)

    def left(self, resource):
        """How much of ``resource`` may still be spent (None: unbounded)."""
        limit = self.limits[resource]
        return None if limit is None else max(limit - self.spent[resource], 0)


def spend(resource, amount=1, what=None):
    """Spend from the current sync's budget; nothing to count outside a sync."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.spend(resource, amount, what)


def in_time(what=None):
    """Check the current sync's wall time (at a request or a chunk); nothing outside a sync."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.in_time(what)
