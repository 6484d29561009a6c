"""DeployError: one sentence saying why a deploy cannot go on, naming the server or host."""

from __future__ import annotations


class DeployError(Exception):
    """A deploy stopped; ``str()`` is one sentence for the user, never a traceback."""
