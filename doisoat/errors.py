"""The one error root: every problem a user can cause is a :class:`DoisoatError`, which the CLI prints as one line."""

from __future__ import annotations


class DoisoatError(Exception):
    """Something the user can fix (input, command, configuration): shown as a message, never as a traceback."""


class UserError(DoisoatError):
    """A problem with the user's input or command."""
