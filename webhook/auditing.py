"""``bindcheck audit``: every object of the three kinds in a cluster, judged as the webhook
would judge its creation, reported as ``check`` reports files.

What enforcement would block, before it is switched on (Gatekeeper's audit, Kyverno's
background scan). Each object is judged as a CREATE: on an UPDATE the webhook's
ratcheting lets an existing violation stand while its entries are unchanged, so an
object listed here keeps running and only its next change of those entries is refused.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.api_server import Explain
from webhook.checking import run_documents
from webhook.cluster import Cluster, ClusterError
from webhook.core import Judge
from webhook.crd import API_VERSION, GROUP, PLURALS
from webhook.errors import InputError
from webhook.manifests import Document
from webhook.report.results import Reporter, Summary


def cluster_documents(
    cluster: Cluster, namespace: str | None = None
) -> Iterator[Document | InputError]:
    """Each object as a document whose source names it: ``PLURAL/NAMESPACE/NAME``. A
    cluster that stops answering ends the run with an error (exit 2), after what was
    read has been judged: an audit that missed objects never looks clean."""
    try:
        for kind, plural in PLURALS.items():
            for obj in cluster.list(GROUP, API_VERSION, plural, kind, namespace):
                meta = obj.get("metadata")
                meta = meta if isinstance(meta, dict) else {}
                source = f"{plural}/{meta.get('namespace', '')}/{meta.get('name', '')}"
                yield Document(source, 0, obj)
    except ClusterError as exc:
        yield InputError(cluster.credentials.server, 0, str(exc))


def run_audit(
    cluster: Cluster,
    validator: Judge,
    reporter: Reporter,
    namespace: str | None = None,
    explain: Explain | None = None,
) -> Summary:
    return run_documents(cluster_documents(cluster, namespace), validator, reporter, explain)
