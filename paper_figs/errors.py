"""The one exception the command line reports as the user's mistake."""
from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A mistake in what the user typed: reported as one ``error:`` line, exit 2."""
