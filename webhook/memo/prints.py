"""Fingerprints of what a verdict depends on, computed once per review.

Most reviews the API server sends are new lists made of entries it has sent before:
one entry added or edited, the rest as they were. So each entry (of the first
``MAX_ENTRIES``; past that the list is refused on its length) gets a digest, and
both memos read them:

- the verdict cache (webhook/memo/verdicts.py) keys a whole list by the kind, the
  selector, the list's length and its entries' digests;
- the entry memo (webhook/memo/entries.py) keeps, per entry print and position, the
  typed entry the schema check built, and beside it what was derived from it alone
  (its claim in each host group, what the plugin's config checks found). A new list then costs the
  checks only on its new entries, plus everything that looks across entries (naming
  rules, route collisions, the HTTP entry point), which always runs.

An entry's print is bytes that only an equal value of equal types has:

- for a value a strict JSON decoder built (the server's reviews, read by orjson:
  ``Remembering(json_prints=True)``), its orjson encoding. Such values hold only
  dicts, lists, strings, 64-bit ints, finite floats, booleans and null, and orjson
  writes each of those in one way that reads back to it (``1``, ``1.0``, ``true``
  and ``"1"`` all differ), so equal bytes mean equal values. It is about 5x cheaper
  than marshal (8 µs for 64 entries, against 39).
- for anything else (YAML documents, library callers), its ``marshal`` bytes after a
  ``\x00`` that no JSON text starts with. marshal round-trips plain data exactly and
  refuses every other type (a date, a UUID), so such an entry has no print and is
  checked afresh every time. JSON would not do here: orjson writes a date as the
  string a valid entry could hold, ``NaN`` as ``null`` and a tuple as a list.

The memo is keyed by the bytes themselves, not a digest of them, so a lookup
compares them whole and no collision can hand one entry another's verdict. Prints
and typed entries hold config values, as the request did: they stay in this
process's memory until the memo lets them go (its budget counts them), and reach no
log, message or metric.
"""

from __future__ import annotations

import hashlib
import marshal
from typing import Any

import orjson

from webhook.crd import MAX_ENTRIES

Print = bytes
"""An entry's print: its orjson or (behind a NUL) marshal bytes; see the module."""


def entry_prints(raw: Any, from_json: bool = False) -> list[Print | None] | None:
    """A print per entry of the first :data:`MAX_ENTRIES`; ``None`` unless ``raw`` is a
    list. ``from_json``: ``raw`` came from a strict JSON decoder (see the module)."""
    if type(raw) is not list:
        return None
    out: list[Print | None] = []
    if from_json:
        dumps = orjson.dumps
        for item in raw[:MAX_ENTRIES]:
            try:
                out.append(dumps(item))
            except TypeError:  # nesting past orjson's 255 levels
                out.append(None)
        return out
    for item in raw[:MAX_ENTRIES]:
        try:
            # Version 2 writes no back-references: equal values give equal bytes
            # whatever objects they share.
            out.append(_MARSHALLED + marshal.dumps(item, 2))
        except ValueError:  # a type marshal refuses, or nesting past its limit
            out.append(None)
    return out


_MARSHALLED = b"\x00"
"""Before a marshal print: no JSON print starts with it, so the two never meet."""


def verdict_key(
    kind: str, raw: Any, prints: list[Print | None] | None, selector: Any
) -> bytes | None:
    """The verdict cache's key; ``None`` when something in the inputs has no print.

    For a list: its length and its entries' prints (a list past the limit is judged on
    its length and its first entries only), one print a line: JSON numbers do not
    delimit themselves (``[12, 3]`` and ``[1, 23]``), but orjson escapes every newline
    in a string, and marshal bytes delimit themselves. Anything else is digested whole.
    """
    try:
        if prints is None:
            return hashlib.sha256(marshal.dumps((kind, selector, raw), 2)).digest()
        head = marshal.dumps((kind, selector, len(raw)), 2)
    except ValueError:
        return None
    if None in prints:
        return None
    return hashlib.sha256(head + b"\n".join(prints)).digest()  # type: ignore[arg-type]
