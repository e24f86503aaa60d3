"""The strict naming policy (the original design note).

1. Entries sharing a namespace:package must all carry a non-empty name.
2. A name is unique within its namespace:package, whatever the version.
3. (No duplicate namespace+package+name triple: implied by 1 and 2, reported by them.)
"""

from __future__ import annotations

from collections import defaultdict

from webhook.model import HostInterface, Workload
from webhook.rulebook import NAME_REQUIRED, NAME_UNIQUE
from webhook.text import shown
from webhook.violations import Reason, Violation, entry_label


def group_by_package(entries: list[HostInterface]) -> dict[tuple[str, str], list[HostInterface]]:
    """Entries keyed by ``(namespace, package)``, in list order."""
    groups: dict[tuple[str, str], list[HostInterface]] = defaultdict(list)
    for entry in entries:
        groups[entry.package_key].append(entry)
    return groups


def check_strict_naming(workload: Workload, entries: list[HostInterface]) -> list[Violation]:
    """Violations of the strict policy's rules 1 and 2."""
    out: list[Violation] = []
    for group in group_by_package(entries).values():
        if len(group) < 2:
            continue
        package_id = group[0].package_label
        all_indexes = entry_label(e.index for e in group)
        for entry in group:
            if not entry.named:
                out.append(
                    NAME_REQUIRED.at(
                        workload.entry_path(entry.index, ".name"),
                        Reason.REQUIRED,
                        f"{all_indexes} all import {package_id}; entry [{entry.index}] needs a "
                        "unique name so each import can be routed (e.g. name: cache)",
                    )
                )
        by_name: dict[str, list[HostInterface]] = defaultdict(list)
        for entry in group:
            if entry.named:
                by_name[str(entry.name)].append(entry)
        for name, same in by_name.items():
            for entry in same[1:]:
                out.append(
                    NAME_UNIQUE.at(
                        workload.entry_path(entry.index, ".name"),
                        Reason.DUPLICATE,
                        f"{entry_label(e.index for e in same)} are {package_id} entries all named "
                        f'"{shown(name)}"; names must be unique within {package_id} whatever the '
                        f"version; rename [{entry.index}]",
                    )
                )
    return out
