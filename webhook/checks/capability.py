"""What a host would do with the workload: binding, named-instance capability, backends."""

from __future__ import annotations

from webhook.model import HostInterface, Workload
from webhook.runtime.binding import bind, named_conflicts
from webhook.runtime.catalog import Catalog, HostGroup
from webhook.runtime.multiplex import choose_backend, unknown_backend_message
from webhook.runtime.wit import display
from webhook.violations import Reason, Violation


def check_capability(
    workload: Workload, entries: list[HostInterface], catalog: Catalog
) -> list[Violation]:
    """Violations a host of every group the workload may land on would hit at deploy time."""
    groups = catalog.groups_for(workload.host_selector)
    if not groups:
        selector = ", ".join(f"{k}={v}" for k, v in sorted(workload.host_selector.items()))
        known = ", ".join(g.name for g in catalog.host_groups)
        return [
            Violation(
                workload.list_path.rsplit(".", 1)[0] + ".hostSelector",
                Reason.NOT_SUPPORTED,
                f"no host group in the catalog ({catalog.source}) matches {selector}; "
                f"known groups: {known}",
                "hostgroup-unmatched",
            )
        ]
    out: list[Violation] = []
    seen: set[tuple[str, str]] = set()  # one report per field and rule across groups
    for group in groups:
        where = f" in host group '{group.name}'" if len(catalog.host_groups) > 1 else ""
        for violation in _check_group(workload, entries, catalog, group, where):
            if (violation.field, violation.rule) not in seen:
                seen.add((violation.field, violation.rule))
                out.append(violation)
    return out


def _check_group(
    workload: Workload,
    entries: list[HostInterface],
    catalog: Catalog,
    group: HostGroup,
    where: str,
) -> list[Violation]:
    claims = bind(entries, catalog.plugins_of(group), catalog.package_index(group))
    out = []
    for claim in claims:
        entry = claim.entry
        if claim.plugin is None:
            out.append(
                Violation(
                    workload.entry_path(entry.index),
                    Reason.NOT_SUPPORTED,
                    f"[{entry.index}] requests {display(entry)}, which is not available on "
                    f"this host{where}; no plugin serves it (check namespace, package, "
                    "version and interface names)",
                    "interface-unavailable",
                )
            )
            continue
        choice = choose_backend(entry, claim.plugin)
        if choice.unknown is not None:
            out.append(
                Violation(
                    workload.entry_path(entry.index, ".config.backend"),
                    Reason.NOT_SUPPORTED,
                    unknown_backend_message(entry.package_id, claim.plugin, choice.unknown),
                    "backend-unknown",
                )
            )
        for key in choice.missing:
            backend = choice.backend.name if choice.backend else ""
            out.append(
                Violation(
                    workload.entry_path(entry.index, f".config.{key}"),
                    Reason.REQUIRED,
                    f"[{entry.index}] routes to the {backend} backend of '{claim.plugin.id}', "
                    f"which needs config.{key}",
                    "backend-config-missing",
                )
            )
    for conflict in named_conflicts(claims):
        multiplexers = [
            p.id for p in catalog.plugins if p.named_instances and p.serves(conflict.entries[0])
        ]
        fix = (
            f"enable the '{multiplexers[0]}' plugin on the host"
            if multiplexers
            else "enable a plugin that supports named instances for it on the host"
        )
        out.append(
            Violation(
                workload.entry_path(conflict.entries[-1].index, ".name"),
                Reason.NOT_SUPPORTED,
                f"{conflict.message()}{where}; {fix}, or keep one named entry and remove the "
                "other names",
                "plugin-named-instances",
            )
        )
    return out
