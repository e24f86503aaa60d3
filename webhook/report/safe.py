"""User data reaches terminals, logs and XML: escape what could drive or break them."""

from __future__ import annotations


def printable(text: str) -> str:
    """Control characters (ESC, NUL, newlines inside values...) as ``\\x1b``-style escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def clipped(text: str, limit: int = 256) -> str:
    """``text`` cut to ``limit`` characters (marked), so no value can flood a log or response.

    The API server never sends a name over 253 characters; a direct caller may.
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."
