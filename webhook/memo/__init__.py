"""What the server (and the CLI over many files) remembers between reviews.

The domain never imports this package (an import contract says so): it asks the
:class:`~webhook.facts.Facts` it is given, and :class:`Remembering` is the one that
remembers. Modules: ``prints`` (what makes two inputs equal), ``verdicts`` (whole
verdicts), ``entries`` (typed entries and the facts derived from each),
``remembering`` (the three behind the protocol).
"""

from webhook.memo.remembering import Remembering

__all__ = ["Remembering"]
