"""User text on its way into messages, logs, terminals and XML: clipped and escaped.

Every value a request or manifest controls is shown through :func:`shown` (a short
prefix, control characters escaped), so no value can flood a response or log, drive
a terminal, forge a log line or break an XML report.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

SHOWN = 40
"""Characters of a user value quoted back in a message."""


def printable(text: str) -> str:
    """Control characters (ESC, NUL, newlines, lone surrogates...) as ``\\x1b``-style escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def clipped(text: str, limit: int = 256) -> str:
    """``text`` cut to ``limit`` characters (marked), so no value can flood a log or response.

    The API server never sends a name over 253 characters; a direct caller may.
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(text: str, limit: int = SHOWN) -> str:
    """A user value fit to quote: at most ``limit`` characters, control characters escaped."""
    return printable(clipped(text, limit))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the one of ``choices`` closest to a misspelt ``word``
    (difflib's ratio at least 0.75: one or two letters off), else empty."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""
