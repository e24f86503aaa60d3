"""Entries the rules allow but the operator will silently merge into one."""

from __future__ import annotations

from collections import defaultdict

from webhook.model import HostInterface, Workload
from webhook.runtime.wit import compat_key, newer
from webhook.violations import Action, Reason, Violation, entry_label


def check_operator_merge(workload: Workload, entries: list[HostInterface]) -> list[Violation]:
    """Warn for each group of entries with equal namespace+package+name and compatible versions.

    The operator keeps one entry per group, at the newest version; exact duplicates
    are the naming rules' business and are not repeated here.
    """
    groups: dict[tuple[str, str, str, str], list[HostInterface]] = defaultdict(list)
    for entry in entries:
        if not entry.named:  # two unnamed entries are already a naming violation
            continue
        key = compat_key(entry.version or "")
        groups[(entry.namespace, entry.package, entry.name or "", key)].append(entry)
    out = []
    for (_, _, name, _), group in groups.items():
        versions = {e.version or "" for e in group}
        if len(group) < 2 or len(versions) < 2:
            continue
        kept = ""
        for version in versions:
            kept = newer(kept, version) if kept else version
        listed = ", ".join(f"[{e.index}] at {e.version or '(no version)'}" for e in group)
        who = f"{group[0].package_id} [{name}]"
        out.append(
            Violation(
                workload.entry_path(group[-1].index, ".version"),
                Reason.DUPLICATE,
                f"{who} entries {listed} have semver-compatible versions; the operator merges "
                f"{entry_label(e.index for e in group)} into one entry at {kept}. Declare one "
                "entry, or give them different names",
                "operator-merge",
                Action.WARN,
            )
        )
    return out
