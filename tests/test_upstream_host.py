"""Upstream's own test cases, translated: bindcheck must predict what the host does.

Every test carries ``@upstream(file, test)``: the file and test of
wasmCloud/wasmCloud at commit 7cd553cc57cfb5a64717d76b11ddeea2cd8c0a8b that it
translates; or ``@at_tags(file, test, since)``: the test as upstream has it at every
tag bindcheck models from ``since`` on (read at each tag: its body is the same there
unless the test says otherwise), run on that release's binding behaviours with the
test's own plugins, so each release's model passes the tests its host passed.

Upstream's tests build a host from plugins (often ``MockPlugin``s with a given world)
and a workload from ``WitInterface``s; here the plugins become a catalog
and the interfaces become hostInterfaces entries, and the assertion is the same:
which plugin binds, or that binding fails, or where a name routes.

What cannot be translated, and why (a manifest does not show a component's world):
- engine/workload.rs tests that depend on what a component imports or exports
  (a_sibling_export_wins_over_a_plugin, a_lone_importer_still_binds_the_plugin,
  two_sibling_exporters_leave_the_import_to_the_plugin, test_host_interface_redundancy,
  test_plugin_callback_order, build_export_map_*, topological sort): bindcheck
  assumes every entry is imported or exported by some component;
- multiplex.rs pool tests (pooling, single flight, eviction, idle reaping) and the
  backends' own I/O: runtime behaviour, not binding;
- wit.rs merge tests: WitInterface::merge has no caller on the deploy path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import SAMPLES, workload

from webhook.checking import check_paths
from webhook.core import build_validator
from webhook.model import HostInterface
from webhook.runtime import releases
from webhook.runtime.binding import named_conflicts
from webhook.runtime.catalog import Catalog
from webhook.runtime.catalog_files import load_catalog, parse_catalog
from webhook.runtime.hosts import Hosts
from webhook.runtime.http import first_handler, is_valid_hostname, read_entry_point
from webhook.runtime.multiplex import ResolutionError, resolve_import
from webhook.runtime.releases import RELEASES
from webhook.runtime.routes import routes_for
from webhook.runtime.wit import display, host_version, instance_id, is_incoming_http_handler
from webhook.violations import Action, Policy

COMMIT = "7cd553cc57cfb5a64717d76b11ddeea2cd8c0a8b"
MAIN = "wasmcloud@main"
"""The host model of that commit: these are its tests (the releases are test_releases.py)."""
WIT = "crates/wash-runtime/src/wit.rs"
WORKLOAD = "crates/wash-runtime/src/engine/workload.rs"
MULTIPLEX = "crates/wash-runtime/src/plugin/multiplex.rs"
KV_MUX = "crates/wash-runtime/src/plugin/wasi_keyvalue/multiplexed.rs"
MSG_ASYNC = "crates/wash-runtime/src/plugin/wasmcloud_messaging/multiplexed_async.rs"
E2E = "runtime-operator/test/e2e"


def upstream(file: str, test: str) -> pytest.MarkDecorator:
    """The upstream file and test a bindcheck test translates."""
    return pytest.mark.upstream(file=file, test=test, commit=COMMIT)


MODEL_TAGS = [r for r in RELEASES if r.tag.removeprefix("v") == r.model]
"""The tags each release model was read at: v2.0.0, v2.0.3, ..., v2.7.0, main."""


def at_tags(file: str, test: str, since: str = "v2.0.0") -> pytest.MarkDecorator:
    """Run the test once per modelled tag from ``since`` (its ``tag`` argument), each run
    marked with the upstream file, test and that tag's commit."""
    first = [r.tag for r in MODEL_TAGS].index(since)
    return pytest.mark.parametrize(
        "tag",
        [
            pytest.param(r.tag, id=r.tag, marks=pytest.mark.upstream(file=file, test=test,
                                                                      commit=r.commit))
            for r in MODEL_TAGS[first:]
        ],
    )  # fmt: skip


# --- helpers: upstream's WitInterface strings, MockPlugins and hosts as bindcheck data ---


def iface(text: str, name: str | None = None, **config: str) -> dict[str, Any]:
    """``WitInterface::from("ns:pkg/a,b@version")`` as a hostInterfaces entry."""
    main, _, version = text.partition("@")
    package_id, _, interfaces = main.partition("/")
    namespace, _, package = package_id.partition(":")
    out: dict[str, Any] = {
        "namespace": namespace,
        "package": package,
        "interfaces": [i.strip() for i in interfaces.split(",") if i.strip()],
    }
    if version:
        out["version"] = version
    if name:
        out["name"] = name
    if config:
        out["config"] = config
    return out


def world(text: str) -> dict[str, Any]:
    e = iface(text)
    return {k: v for k, v in e.items() if k != "interfaces"} | {"offers": e["interfaces"]}


def mock(
    pid: str,
    imports: list[str] = (),  # type: ignore[assignment]
    exports: list[str] = (),  # type: ignore[assignment]
    named: bool = False,
    claims_from: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """``MockPlugin::new(id, imports, exports)`` (+ ``with_named_instance_support``,
    ``claiming_from``)."""
    worlds = []
    for text, side in [*((t, "imports") for t in imports), *((t, "exports") for t in exports)]:
        w = world(text)
        worlds.append({k: v for k, v in w.items() if k != "offers"} | {side: w["offers"]})
    out: dict[str, Any] = {"id": pid, "worlds": worlds, "namedInstances": named, **extra}
    if claims_from:
        out["claims"] = {"minVersion": claims_from}
    return out


def host(*plugins: dict[str, Any], http: str = "dev", tag: str = "main") -> Catalog:
    """``HostBuilder::new().with_plugin(..)...``: one host group with these plugins,
    binding as the host of ``tag`` does."""
    group = {"name": "test", "http": http, "plugins": [p["id"] for p in plugins]}
    release = load_catalog(releases.PREFIX + tag.removeprefix("v"))
    assert release is not None
    behaviour = release.host.model_dump(by_alias=True)
    data = {"host": behaviour, "hostGroups": [group], "plugins": list(plugins)}
    return parse_catalog(json.dumps(data), "test")


def typed(entries: list[dict[str, Any]]) -> list[HostInterface]:
    return [
        HostInterface(
            i,
            e["namespace"],
            e["package"],
            tuple(e["interfaces"]),
            e.get("version"),
            e.get("name"),
            e.get("config", {}),
        )
        for i, e in enumerate(entries)
    ]


def bound_ids(catalog: Catalog, entries: list[dict[str, Any]]) -> list[str | None]:
    """The plugin each entry binds to; ``"host"`` for host-served, ``None`` for nothing."""
    group = catalog.host_groups[0]
    claims = Hosts(catalog).binder(group).bind(typed(entries))
    return ["host" if c.host else (c.plugin.id if c.plugin else None) for c in claims]


def deploy(catalog: Catalog | None, entries: list[dict[str, Any]]) -> list[tuple[str, Action]]:
    """What bindcheck says of a workload with these entries: (rule, action) pairs."""
    outcome = build_validator(Policy.UPSTREAM, catalog=catalog).check(workload(entries))
    assert outcome is not None
    return [(v.rule, v.action) for v in outcome.violations]


def denied(catalog: Catalog | None, entries: list[dict[str, Any]]) -> list[str]:
    return [rule for rule, action in deploy(catalog, entries) if action is Action.DENY]


# --- wit.rs ---


@upstream(WIT, "test_contains_namespace_and_package_matching")
def test_different_namespaces_or_packages_never_match():
    catalog = host(mock("p", ["wasi:blobstore/types"]))
    assert bound_ids(catalog, [iface("custom:blobstore/types")]) == [None]
    assert bound_ids(catalog, [iface("wasi:keyvalue/types")]) == [None]
    assert bound_ids(catalog, [iface("wasi:blobstore/types")]) == ["p"]


@upstream(WIT, "test_parse_edge_cases (colon in package name)")
def test_a_colon_belongs_to_the_package_and_never_shifts_the_pair():
    # "foo:bar:baz/interface" parses as namespace foo, package "bar:baz".
    catalog = host(
        mock(
            "p",
            [],
            [],
            worlds=[{"namespace": "foo", "package": "bar:baz", "imports": ["interface"]}],
        )
    )
    assert bound_ids(
        catalog, [{"namespace": "foo", "package": "bar:baz", "interfaces": ["interface"]}]
    ) == ["p"]
    assert bound_ids(
        catalog, [{"namespace": "foo:bar", "package": "baz", "interfaces": ["interface"]}]
    ) == [None]


@upstream(WIT, "test_contains_interface_subsets")
def test_a_plugin_serves_subsets_of_its_interfaces_only():
    catalog = host(mock("p", ["wasi:blobstore/types,container,blobstore"]))
    assert bound_ids(catalog, [iface("wasi:blobstore/types,container")]) == ["p"]
    narrow = host(mock("p", ["wasi:blobstore/types"]))
    assert bound_ids(narrow, [iface("wasi:blobstore/types,container")]) == [None]
    cli = host(mock("p", ["wasi:cli/stdin,stdout"]))
    assert bound_ids(cli, [iface("wasi:cli/stdout,stderr")]) == [None]


@upstream(WIT, "test_contains_version_handling")
@pytest.mark.parametrize(
    ("plugin", "entry", "matches"),
    [
        ("wasi:blobstore/types@0.2.0", "wasi:blobstore/types@0.2.0", True),
        ("wasi:blobstore/types@0.2.0", "wasi:blobstore/types@0.3.0", False),
        ("wasi:blobstore/types@0.2.0", "wasi:blobstore/types", True),
        ("wasi:blobstore/types", "wasi:blobstore/types@0.2.0", True),
        (
            "wasi:http/types,incoming-handler,outgoing-handler@0.2.0",
            "wasi:http/types,incoming-handler@0.2.0",
            True,
        ),
    ],
)
def test_versions_must_be_equal_only_where_both_are_set(plugin, entry, matches):
    assert (bound_ids(host(mock("p", [plugin])), [iface(entry)]) == ["p"]) is matches


@upstream(WIT, "test_contains_with_version")
def test_a_different_version_of_the_same_interface_does_not_match():
    catalog = host(mock("p", ["acme:http/handler@0.2.0"]))
    assert bound_ids(catalog, [iface("acme:http/handler@0.2.0")]) == ["p"]
    assert bound_ids(catalog, [iface("acme:http/handler@0.3.0")]) == [None]


@upstream(WIT, "test_parse_with_versions (invalid version is ignored)")
@pytest.mark.parametrize(
    ("version", "kept"),
    [
        ("0.2.0", "0.2.0"),
        ("0.2.0-draft", "0.2.0-draft"),
        ("0.1.0-draft", "0.1.0-draft"),
        ("0.2.0-rc.2024-12-05", "0.2.0-rc.2024-12-05"),
        ("1.0.0", "1.0.0"),
        ("invalid-version", None),
        ("0.2", None),
        ("latest", None),
    ],
)
def test_a_version_that_is_not_strict_semver_is_no_version(version, kept):
    assert host_version(version) == kept


@upstream("crates/wash-runtime/src/washlet/mod.rs", "From<types::v2::WitInterface>")
def test_an_unparseable_version_matches_any_plugin_version():
    # The proto conversion parses with `.parse::<semver::Version>().ok()`: "0.2" and
    # "latest" become None, which is compatible with the plugin's 0.2.0-draft.
    catalog = host(mock("kv", ["wasi:keyvalue/store@0.2.0-draft"]))
    assert bound_ids(
        catalog, [iface("wasi:keyvalue/store@0.2"), iface("wasi:keyvalue/store@latest")]
    ) == ["kv", "kv"]
    assert bound_ids(catalog, [iface("wasi:keyvalue/store@0.2.0")]) == [None]


@upstream(WIT, "test_world_includes")
def test_a_world_serves_through_imports_or_exports_and_broader_interfaces():
    assert bound_ids(host(mock("p", ["wasi:keyvalue/get"])), [iface("wasi:keyvalue/get")]) == ["p"]
    broader = host(mock("p", ["wasi:keyvalue/get,set"]))
    assert bound_ids(broader, [iface("wasi:keyvalue/get")]) == ["p"]
    assert bound_ids(host(mock("p", ["wasi:keyvalue/get"])), [iface("wasi:keyvalue/get,set")]) == [
        None
    ]
    exported = host(mock("p", [], ["wasi:keyvalue/get,set"]))
    assert bound_ids(exported, [iface("wasi:keyvalue/get")]) == ["p"]
    assert bound_ids(host(mock("p", ["wasi:logging/log"])), [iface("wasi:keyvalue/get")]) == [None]


def _pinned_until_2_6(tag: str, version: str) -> str:
    """The suffix a test's interfaces carry at ``tag``: until v2.5.2 these tests pin a
    version (``@0.1.0``), from v2.6.0 they do not."""
    return f"@{version}" if tag < "v2.6" else ""


@at_tags(WORKLOAD, "test_world_includes_bidirectional")
def test_each_interface_may_come_from_imports_or_exports(tag):
    at = _pinned_until_2_6(tag, "0.1.0")
    catalog = host(
        mock(
            "p", [f"wasmcloud:messaging/handler{at}"], [f"wasmcloud:messaging/consumer,types{at}"]
        ),
        tag=tag,
    )
    for text in ["handler", "consumer,types", "handler,consumer,types"]:
        assert bound_ids(catalog, [iface(f"wasmcloud:messaging/{text}{at}")]) == ["p"]
    assert bound_ids(catalog, [iface(f"wasmcloud:messaging/producer{at}")]) == [None]


@at_tags(WIT, "includes_bidirectional_covers_multi_interface_package", since="v2.5.0")
def test_a_package_split_over_several_world_entries_is_served_interface_by_interface(tag):
    catalog = host(
        mock(
            "pg", ["wasmcloud:postgres/types@0.1.1", "wasmcloud:postgres/query@0.1.1"], named=True
        ),
        tag=tag,
    )
    entries = [
        iface("wasmcloud:postgres/query@0.1.1", "team-a"),
        iface("wasmcloud:postgres/query@0.1.1", "team-b"),
        iface("wasmcloud:postgres/types,query@0.1.1", "team-c"),
    ]
    assert bound_ids(catalog, entries) == ["pg", "pg", "pg"]
    assert bound_ids(catalog, [iface("wasmcloud:postgres/prepared@0.1.1")]) == [None]


@upstream(WIT, "test_contains_unnamed_provider_matches_named_request")
def test_a_plugin_world_serves_named_entries():
    catalog = host(mock("kv", ["wasi:keyvalue/store,atomics"]))
    assert bound_ids(catalog, [iface("wasi:keyvalue/store", "cache")]) == ["kv"]


@upstream(WIT, "test_display_with_name / test_instance_with_name / test_display")
def test_display_and_instance_forms():
    (cache,) = typed([iface("wasi:keyvalue/store", "cache")])
    assert display(cache) == "wasi:keyvalue [cache]/store"
    assert instance_id(cache) == "wasi:keyvalue/cache"
    (unnamed,) = typed([iface("wasi:keyvalue/store")])
    assert instance_id(unnamed) == "wasi:keyvalue"
    (sessions,) = typed([iface("wasi:keyvalue/store@0.2.0", "sessions")])
    assert instance_id(sessions) == "wasi:keyvalue/sessions@0.2.0"
    (http,) = typed([iface("wasi:http/incoming-handler@0.2.0")])
    assert display(http) == "wasi:http/incoming-handler@0.2.0"


@at_tags(WIT, "test_is_incoming_http_handler", since="v2.5.2")
@pytest.mark.parametrize(
    ("text", "incoming"),
    [
        ("wasi:http/incoming-handler", True),
        ("wasi:http/handler", True),
        ("wasi:http/handler@0.3.0", True),
        ("wasi:http/outgoing-handler", False),
        ("wasmcloud:messaging/handler", False),
        ("wasi:messaging/incoming-handler", False),
    ],
)
def test_incoming_http_handlers_are_p2_and_p3_handlers_of_wasi_http(text, incoming, tag):
    (entry,) = typed([iface(text)])
    release = load_catalog(releases.PREFIX + tag.removeprefix("v"))
    assert release is not None
    assert is_incoming_http_handler(entry, release.host.p3_handler) is incoming


@upstream(WIT, "test_hash_includes_name")
def test_entries_that_differ_by_name_are_different_interfaces_to_the_host():
    catalog = host(mock("kv", ["wasi:keyvalue/store"]))
    group = catalog.host_groups[0]
    same_but_name = typed(
        [iface("wasi:keyvalue/store", "cache"), iface("wasi:keyvalue/store", "other")]
    )
    claims = Hosts(catalog).binder(group).bind(same_but_name)
    assert [c.names for c in named_conflicts(claims)] == [["cache", "other"]]


# --- engine/workload.rs, bind_plugins ---


@at_tags(WORKLOAD, "test_named_binding_routes_to_plugin_by_id", since="v2.7.0")
def test_a_name_that_is_a_plugin_id_binds_only_to_that_plugin(tag):
    catalog = host(
        mock("blobstore-default", [], ["wasi:blobstore/container"]),
        mock("blobstore-custom", [], ["wasi:blobstore/container"]),
        tag=tag,
    )
    entry = iface("wasi:blobstore/container", "blobstore-custom")
    assert bound_ids(catalog, [entry]) == ["blobstore-custom"]
    assert denied(catalog, [entry]) == []
    # Pinned against id order too: unpinned, "blobstore-custom" would sort first.
    assert bound_ids(catalog, [iface("wasi:blobstore/container", "blobstore-default")]) == [
        "blobstore-default"
    ]


@upstream(WORKLOAD, "bind_plugins (a name that is a plugin id, not served: stays unmatched)")
def test_a_name_pinned_to_a_plugin_that_does_not_serve_it_fails():
    catalog = host(
        mock("blobstore-default", [], ["wasi:blobstore/container"]),
        mock("keyvalue-plugin", [], ["wasi:keyvalue/store"]),
    )
    entry = iface("wasi:blobstore/container", "keyvalue-plugin")
    assert bound_ids(catalog, [entry]) == [None]
    outcome = build_validator(Policy.UPSTREAM, catalog=catalog).check(workload([entry]))
    assert [v.rule for v in outcome.denials] == ["interface-unavailable"]
    assert "the id of the plugin 'keyvalue-plugin'" in outcome.denials[0].message


@at_tags(WORKLOAD, "test_named_binding_falls_through_when_name_is_not_a_plugin_id", "v2.7.0")
def test_a_name_that_is_no_plugin_id_binds_by_world(tag):
    catalog = host(mock("blobstore-plugin", [], ["wasi:blobstore/container"], named=True), tag=tag)
    assert bound_ids(catalog, [iface("wasi:blobstore/container", "team-a")]) == ["blobstore-plugin"]


@upstream(WORKLOAD, "test_unclaimed_interface_falls_through_to_another_plugin")
def test_a_plugin_that_refuses_an_entry_leaves_it_to_the_next():
    catalog = host(
        mock("blobstore-a-newer", ["wasi:blobstore/container"], named=True, claims_from="0.3.0"),
        mock("blobstore-b-older", ["wasi:blobstore/container"], named=True),
    )
    assert bound_ids(catalog, [iface("wasi:blobstore/container", "team-a")]) == [
        "blobstore-b-older"
    ]


@upstream(WORKLOAD, "test_claimed_interface_binds_the_claiming_plugin")
def test_a_plugin_that_claims_the_pinned_version_takes_it():
    catalog = host(
        mock(
            "blobstore-a-newer",
            ["wasi:blobstore/container@0.2.0-draft"],
            named=True,
            claims_from="0.1.0",
        ),
        mock("blobstore-b-older", ["wasi:blobstore/container@0.2.0-draft"], named=True),
    )
    entry = iface("wasi:blobstore/container@0.2.0-draft", "team-a")
    assert bound_ids(catalog, [entry]) == ["blobstore-a-newer"]


@at_tags(
    WORKLOAD, "test_single_plugin_single_component / test_unnamed_interfaces_backwards_compatible"
)
def test_one_plugin_binds_an_unnamed_entry(tag):
    catalog = host(mock("blobstore-plugin", [], ["wasi:blobstore/container@0.2.0-draft"]), tag=tag)
    assert bound_ids(catalog, [iface("wasi:blobstore/container")]) == ["blobstore-plugin"]
    assert denied(catalog, [iface("wasi:blobstore/container@0.2.0-draft")]) == []


@upstream(WORKLOAD, "test_single_plugin_single_service")
def test_a_logging_plugin_binds_the_logging_entry():
    catalog = host(mock("logging-plugin", ["wasi:logging/logging@0.1.0-draft"]))
    assert bound_ids(catalog, [iface("wasi:logging/logging@0.1.0-draft")]) == ["logging-plugin"]


@at_tags(WORKLOAD, "test_multiple_plugins_multiple_components")
def test_http_is_the_hosts_and_storage_goes_to_the_storage_plugin(tag):
    at = _pinned_until_2_6(tag, "0.2.0")
    http, blobs, kv = (f"wasi:{t}{at}" for t in ("http/incoming-handler", "blobstore/blobstore",
                                                  "keyvalue/store"))  # fmt: skip
    catalog = host(
        mock("http-plugin", [], [http]), mock("storage-plugin", [], [blobs, kv]), tag=tag
    )
    entries = [iface(http), iface(blobs), iface(kv)]
    assert bound_ids(catalog, entries) == ["host", "storage-plugin", "storage-plugin"]


@at_tags(WORKLOAD, "test_no_duplicate_bindings")
def test_http_entries_never_reach_plugins_even_when_plugins_offer_http(tag):
    text = "wasi:http/incoming-handler" + _pinned_until_2_6(tag, "0.2.0")
    catalog = host(mock("http-plugin-1", [], [text]), mock("http-plugin-2", [], [text]), tag=tag)
    assert bound_ids(catalog, [iface(text)]) == ["host"]


# until v2.5.2 the test asserts nothing of the error; from v2.6.0 its wording
@at_tags(WORKLOAD, "test_missing_interface_fails", since="v2.6.1")
def test_an_entry_no_plugin_serves_is_not_available_on_this_host(tag):
    catalog = host(mock("http-plugin", [], ["wasi:http/incoming-handler"]), tag=tag)
    entries = [iface("wasi:http/incoming-handler"), iface("wasi:blobstore/blobstore")]
    assert bound_ids(catalog, entries) == ["host", None]
    outcome = build_validator(Policy.UPSTREAM, catalog=catalog).check(workload(entries))
    assert [v.rule for v in outcome.denials] == ["interface-unavailable"]
    assert "not available on this host" in outcome.denials[0].message


@at_tags(WORKLOAD, "test_p3_http_handler_served_by_host", since="v2.5.2")
def test_a_p3_http_handler_needs_no_plugin(tag):
    catalog = host(tag=tag)  # no plugins at all
    entry = iface("wasi:http/handler", host="localhost")
    assert bound_ids(catalog, [entry]) == ["host"]
    assert deploy(catalog, [entry]) == []


@upstream(WORKLOAD, "bind_plugins (http filter: two named http entries)")
def test_two_named_http_entries_deploy():
    catalog = host()
    entries = [
        iface("wasi:http/incoming-handler", "public", host="a.example"),
        iface("wasi:http/outgoing-handler", "egress"),
    ]
    assert bound_ids(catalog, entries) == ["host", "host"]
    assert deploy(catalog, entries) == []


@at_tags(WORKLOAD, "test_named_interfaces_fail_without_plugin_support")
def test_two_named_entries_on_a_plugin_without_named_instances_fail(tag):
    catalog = host(mock("keyvalue-plugin", [], ["wasi:keyvalue/store@0.2.0-draft"]), tag=tag)
    entries = [
        iface("wasi:keyvalue/store@0.2.0-draft", "cache"),
        iface("wasi:keyvalue/store@0.2.0-draft", "sessions"),
    ]
    outcome = build_validator(Policy.UPSTREAM, catalog=catalog).check(workload(entries))
    assert [v.rule for v in outcome.denials] == ["plugin-named-instances"]
    assert outcome.denials[0].message.startswith(
        "plugin 'keyvalue-plugin' does not support named instances, but workload requires 2 "
        "named entries for wasi:keyvalue (names: cache, sessions). The plugin must implement "
        "supports_named_instances() to handle multiplexed interfaces."
    )


@at_tags(WORKLOAD, "test_named_interfaces_succeed_with_plugin_support")
def test_two_named_entries_on_a_plugin_with_named_instances_bind(tag):
    catalog = host(
        mock("keyvalue-plugin", [], ["wasi:keyvalue/store@0.2.0-draft"], named=True), tag=tag
    )
    entries = [
        iface("wasi:keyvalue/store@0.2.0-draft", "cache"),
        iface("wasi:keyvalue/store@0.2.0-draft", "sessions"),
    ]
    assert denied(catalog, entries) == []


@at_tags(WORKLOAD, "test_single_named_interface_no_validation")
def test_one_named_entry_needs_no_named_instance_support(tag):
    catalog = host(mock("keyvalue-plugin", [], ["wasi:keyvalue/store@0.2.0-draft"]), tag=tag)
    assert denied(catalog, [iface("wasi:keyvalue/store@0.2.0-draft", "cache")]) == []


@at_tags(WORKLOAD, "test_named_and_regular_plugins_coexist", since="v2.5.0")
def test_unnamed_goes_to_the_regular_plugin_and_named_to_the_multiplexer(tag):
    catalog = host(
        mock("kv-standalone", [], ["wasi:keyvalue/store@0.2.0-draft"]),
        mock("kv-multiplexed", [], ["wasi:keyvalue/store@0.2.0-draft"], named=True),
        tag=tag,
    )
    entries = [
        iface("wasi:keyvalue/store@0.2.0-draft"),
        iface("wasi:keyvalue/store@0.2.0-draft", "cache"),
        iface("wasi:keyvalue/store@0.2.0-draft", "sessions"),
    ]
    assert bound_ids(catalog, entries) == ["kv-standalone", "kv-multiplexed", "kv-multiplexed"]
    assert denied(catalog, entries) == []


@upstream(WORKLOAD, "builtin_plugins_bind_their_declared_interfaces")
def test_the_standard_host_binds_the_builtin_interfaces():
    catalog = load_catalog(MAIN)
    entries = [
        iface("wasmcloud:postgres/types,query,prepared@0.1.1-draft", database="testdb"),
        iface("wasi:blobstore/blobstore,container,types@0.2.0-draft"),
        iface("wasi:keyvalue/store,atomics,batch@0.2.0-draft"),
    ]
    assert bound_ids(catalog, entries) == ["wasmcloud-postgres", "wasi-blobstore", "wasi-keyvalue"]
    # Binding succeeds; the chart's hosts run postgres without --postgres-url, so the
    # unnamed (per-database) path has no server: a warning, not a denial.
    assert deploy(catalog, entries) == [("plugin-unconfigured", Action.WARN)]
    without_db = [iface("wasmcloud:postgres/types,query,prepared@0.1.1-draft")]
    assert denied(catalog, without_db) == ["plugin-config-missing"]


# --- plugin/multiplex.rs and the multiplexed plugins ---


@upstream(MULTIPLEX, "resolve_matches_by_import_name_including_the_unnamed_default")
def test_an_import_label_resolves_to_its_entry_and_the_unnamed_default_is_empty():
    routes = typed([iface("wasi:keyvalue/store", "team-a"), iface("wasi:keyvalue/store")])
    assert resolve_import(routes, ("wasi", "keyvalue"), "team-a").index == 0
    assert resolve_import(routes, ("wasi", "keyvalue"), "").index == 1
    with pytest.raises(ResolutionError, match="'other'"):
        resolve_import(routes, ("wasi", "keyvalue"), "other")


@upstream(MULTIPLEX, "resolve_errors_without_match_or_default")
def test_a_label_with_no_entry_and_no_default_names_the_package():
    routes = typed([iface("wasi:keyvalue/store", "team-a")])
    with pytest.raises(ResolutionError, match="no wasi:keyvalue backend bound for import 'nope'"):
        resolve_import(routes, ("wasi", "keyvalue"), "nope")


@upstream(MULTIPLEX, "set_default_records_the_unnamed_route_per_workload")
def test_the_default_route_exists_only_when_an_unnamed_entry_is_bound():
    catalog = host(
        mock(
            "m",
            ["wasi:keyvalue/store"],
            named=True,
            multiplex={"defaultBackend": "in-memory", "backends": [{"name": "in-memory"}]},
        )
    )
    group = catalog.host_groups[0]
    both = typed([iface("wasi:keyvalue/store", "team-a"), iface("wasi:keyvalue/store")])
    routes = routes_for(Hosts(catalog).binder(group).bind(both))
    assert [(r.name, r.plugin, r.backend) for r in routes] == [
        ("team-a", "m", "in-memory"),
        ("", "m", "in-memory"),
    ]
    labelled_only = typed([iface("wasi:keyvalue/store", "team-a")])
    with pytest.raises(ResolutionError):
        resolve_import(labelled_only, ("wasi", "keyvalue"), "")


def _kv_multiplexer(*backends: dict[str, Any]) -> Catalog:
    return host(
        mock(
            "wasi-keyvalue-multiplexed",
            ["wasi:keyvalue/store,atomics,batch@0.2.0-draft"],
            named=True,
            multiplex={"defaultBackend": "in-memory", "backends": list(backends)},
        )
    )


@upstream(KV_MUX, "registry_routes_named_interfaces_to_distinct_backends")
def test_two_names_of_one_backend_type_are_two_routes():
    catalog = _kv_multiplexer({"name": "in-memory"})
    entries = [
        iface("wasi:keyvalue/store", "team-a", backend="in-memory"),
        iface("wasi:keyvalue/store", "team-b", backend="in-memory"),
    ]
    assert deploy(catalog, entries) == []
    group = catalog.host_groups[0]
    routes = routes_for(Hosts(catalog).binder(group).bind(typed(entries)))
    assert [(r.name, r.backend) for r in routes] == [
        ("team-a", "in-memory"),
        ("team-b", "in-memory"),
    ]


@upstream(KV_MUX, "filesystem_backend_persists_through_the_multiplexer")
def test_the_filesystem_backend_needs_a_root():
    catalog = _kv_multiplexer({"name": "in-memory"}, {"name": "filesystem", "required": ["root"]})
    ok = iface("wasi:keyvalue/store", "team-fs", backend="filesystem", root="/data")
    assert deploy(catalog, [ok]) == []
    missing = iface("wasi:keyvalue/store", "team-fs", backend="filesystem")
    outcome = build_validator(Policy.UPSTREAM, catalog=catalog).check(workload([missing]))
    assert [v.rule for v in outcome.denials] == ["backend-config-missing"]
    assert "filesystem keyvalue backend requires a 'root' config" in outcome.denials[0].message


@upstream(KV_MUX, "build_registry_errors_on_unregistered_backend")
def test_a_backend_no_provider_is_registered_for_fails():
    catalog = _kv_multiplexer({"name": "in-memory"})  # MultiplexedKeyValue with no redis provider
    entry = iface("wasi:keyvalue/store", "x", backend="redis")
    outcome = build_validator(Policy.UPSTREAM, catalog=catalog).check(workload([entry]))
    assert [v.rule for v in outcome.denials] == ["backend-unknown"]
    # the host's own words: "no {ns}:{pkg} provider registered for backend '{backend_type}'"
    assert "no wasi:keyvalue provider registered for backend 'redis';" in outcome.denials[0].message


@upstream(
    MSG_ASYNC,
    "only_claims_explicitly_async_versions / refuses_entries_the_sync_multiplexer_must_serve",
)
@pytest.mark.parametrize(
    ("version", "plugin"),
    [
        ("0.3.0", "wasmcloud-messaging-async-multiplexed"),
        ("0.4.0", None),  # claimed, but its world is 0.3.0 only: nothing serves 0.4.0
        ("0.2.0", "wasmcloud-messaging-multiplexed"),
        (None, "wasmcloud-messaging-multiplexed"),
    ],
)
def test_the_async_messaging_multiplexer_takes_only_entries_pinning_0_3_0_or_later(version, plugin):
    text = "wasmcloud:messaging/consumer" + (f"@{version}" if version else "")
    assert bound_ids(load_catalog(MAIN), [iface(text, "team-a")]) == [plugin]


@upstream(MSG_ASYNC, "registry_routes_named_interfaces_to_distinct_backends")
def test_two_async_messaging_names_route_to_their_own_backends():
    entries = [
        iface("wasmcloud:messaging/consumer@0.3.0", "cluster-a", backend="in-memory"),
        iface("wasmcloud:messaging/consumer@0.3.0", "cluster-b", backend="in-memory"),
    ]
    assert deploy(load_catalog(MAIN), entries) == []


@upstream(MSG_ASYNC, "build_registry_errors_on_unregistered_backend")
def test_the_nats_messaging_backend_needs_a_url():
    entry = iface("wasmcloud:messaging/consumer@0.3.0", "x", backend="nats")
    outcome = build_validator(Policy.UPSTREAM, catalog=load_catalog(MAIN)).check(workload([entry]))
    assert [v.rule for v in outcome.denials] == ["backend-config-missing"]
    assert "nats messaging backend requires a 'url' config" in outcome.denials[0].message


@upstream(MULTIPLEX, "build_registry_with (registry keyed by name)")
def test_one_name_at_two_versions_collides_in_the_multiplexer_and_only_warns():
    # The CRD rules allow it (name and version differ as a pair); both entries reach
    # wasi-keyvalue-multiplexed, whose registry keeps one backend per name.
    entries = [
        iface("wasi:keyvalue/store@0.2.0-draft", "cache", backend="in-memory"),
        iface("wasi:keyvalue/store", "cache", backend="redis", url="redis://r:6379"),
    ]
    assert deploy(load_catalog(MAIN), entries) == [("route-collision", Action.WARN)]


# --- integration tests (crates/wash-runtime/tests): hosts as the tests build them ---

IN_MEMORY = {"defaultBackend": "in-memory", "backends": [{"name": "in-memory"}]}
KV_DRAFT = "wasi:keyvalue/store,atomics,batch@0.2.0-draft"


@upstream(
    "crates/wash-runtime/tests/integration_keyvalue_implements.rs",
    "implements_imports_route_to_isolated_backends",
)
def test_keyvalue_implements_two_labels_on_one_multiplexer():
    catalog = host(mock("wasi-keyvalue-multiplexed", [KV_DRAFT], named=True, multiplex=IN_MEMORY))
    _two_teams_on_one_multiplexer(catalog, "kv-implements")


def _two_teams_on_one_multiplexer(catalog: Catalog, host_name: str) -> None:
    """An HTTP entry point, and team-a and team-b on the in-memory backend: both names
    reach the key-value multiplexer and nothing is denied."""
    entries = [
        iface("wasi:http/incoming-handler@0.2.2", host=host_name),
        iface("wasi:keyvalue/store@0.2.0-draft", "team-a", backend="in-memory"),
        iface("wasi:keyvalue/store@0.2.0-draft", "team-b", backend="in-memory"),
    ]
    assert bound_ids(catalog, entries) == [
        "host",
        "wasi-keyvalue-multiplexed",
        "wasi-keyvalue-multiplexed",
    ]
    assert deploy(catalog, entries) == []


@upstream(
    "crates/wash-runtime/tests/integration_keyvalue_coexistence.rs",
    "standalone_and_multiplexed_keyvalue_coexist",
)
def test_keyvalue_coexistence_standalone_takes_unnamed_multiplexer_takes_named():
    catalog = host(
        mock("wasi-keyvalue", [KV_DRAFT]),  # InMemoryKeyValue
        mock("wasi-keyvalue-multiplexed", [KV_DRAFT], named=True, multiplex=IN_MEMORY),
    )
    entries = [
        iface("wasi:http/incoming-handler@0.2.2", host="kv-coexist"),
        iface("wasi:keyvalue/store,atomics@0.2.0-draft"),
        iface("wasi:keyvalue/store,atomics@0.2.0-draft", "cache", backend="in-memory"),
        iface("wasi:keyvalue/store,atomics@0.2.0-draft", "sessions", backend="in-memory"),
    ]
    assert bound_ids(catalog, entries) == [
        "host",
        "wasi-keyvalue",
        "wasi-keyvalue-multiplexed",
        "wasi-keyvalue-multiplexed",
    ]
    assert deploy(catalog, entries) == []


@upstream(
    "crates/wash-runtime/tests/integration_keyvalue_async_coexistence.rs",
    "standalone_sync_and_async_keyvalue_coexist",
)
def test_keyvalue_async_coexistence():
    catalog = host(
        mock("wasi-keyvalue", [KV_DRAFT]),
        mock("wasi-keyvalue-multiplexed", [KV_DRAFT], named=True, multiplex=IN_MEMORY),
        mock(
            "wasmcloud-keyvalue-multiplexed",
            ["wasmcloud:keyvalue/store,atomics,cas,batch@0.2.0"],
            named=True,
            multiplex=IN_MEMORY,
        ),
    )
    sync = [
        iface("wasi:http/incoming-handler@0.2.2", host="kv-sync"),
        iface("wasi:keyvalue/store,atomics@0.2.0-draft"),
        iface("wasi:keyvalue/store,atomics@0.2.0-draft", "cache", backend="in-memory"),
    ]
    assert bound_ids(catalog, sync) == ["host", "wasi-keyvalue", "wasi-keyvalue-multiplexed"]
    async_ = [
        iface("wasi:http/incoming-handler@0.2.2", host="kv-async"),
        iface("wasmcloud:keyvalue/store@0.2.0", "kv", backend="in-memory"),
    ]
    assert bound_ids(catalog, async_) == ["host", "wasmcloud-keyvalue-multiplexed"]
    assert deploy(catalog, sync) == [] and deploy(catalog, async_) == []


@upstream(
    "crates/wash-runtime/tests/integration_keyvalue_multiplexed.rs",
    "multiplexed_routes_to_redis_and_nats",
)
def test_keyvalue_multiplexed_routes_to_redis_and_nats():
    entries = [
        iface(
            "wasi:keyvalue/store,atomics,batch",
            "redis-kv",
            backend="redis",
            url="redis://127.0.0.1:6379",
        ),
        iface(
            "wasi:keyvalue/store,atomics,batch",
            "nats-kv",
            backend="nats",
            url="nats://127.0.0.1:4222",
        ),
    ]
    catalog = load_catalog(MAIN)  # the standard host registers both providers
    group = catalog.host_groups[0]
    routes = routes_for(Hosts(catalog).binder(group).bind(typed(entries)))
    assert [(r.name, r.plugin, r.backend) for r in routes] == [
        ("redis-kv", "wasi-keyvalue-multiplexed", "redis"),
        ("nats-kv", "wasi-keyvalue-multiplexed", "nats"),
    ]
    assert deploy(catalog, entries) == []


@upstream(
    "crates/wash-runtime/tests/integration_messaging_multiplexed.rs",
    "multiplexed_messaging_routes_each_import_to_its_cluster",
)
def test_messaging_multiplexed_routes_each_label_to_its_cluster():
    entries = [
        iface("wasmcloud:messaging/consumer,types", "team-a", backend="nats", url="nats://a:4222"),
        iface("wasmcloud:messaging/consumer,types", "team-b", backend="nats", url="nats://b:4222"),
    ]
    catalog = load_catalog(MAIN)
    assert bound_ids(catalog, entries) == ["wasmcloud-messaging-multiplexed"] * 2
    assert deploy(catalog, entries) == []


@upstream(
    "crates/wash-runtime/tests/integration_postgres_implements.rs",
    "implements_imports_route_to_per_credential_connections",
)
def test_postgres_implements_two_labels_with_their_own_urls():
    catalog = load_catalog(MAIN)  # postgres registered as multiplex_only, as in the test
    entries = [
        iface("wasi:http/incoming-handler@0.2.2", host="pg-implements"),
        iface(
            "wasmcloud:postgres/query@0.1.1-draft",
            "team-a",
            url="postgres://team_a:pw_a@db/postgres",
        ),
        iface(
            "wasmcloud:postgres/query@0.1.1-draft",
            "team-b",
            url="postgres://team_b:pw_b@db/postgres",
        ),
    ]
    assert bound_ids(catalog, entries) == ["host", "wasmcloud-postgres", "wasmcloud-postgres"]
    assert deploy(catalog, entries) == []
    no_url = [iface("wasmcloud:postgres/query@0.1.1-draft", "team-a")]
    outcome = build_validator(Policy.UPSTREAM, catalog=catalog).check(workload(no_url))
    assert [v.rule for v in outcome.denials] == ["backend-config-missing"]
    assert (
        "named wasmcloud:postgres interface requires a 'url' config" in outcome.denials[0].message
    )


@upstream(
    "crates/wash-runtime/tests/integration_postgres_multiplexed.rs",
    "postgres_implements_enforces_per_team_credentials",
)
def test_postgres_multiplexed_versionless_named_entries_route_to_the_postgres_backend():
    entries = [
        iface("wasmcloud:postgres/query", "team-a", url="postgres://a@db/x"),
        iface("wasmcloud:postgres/query", "team-b", url="postgres://b@db/x"),
    ]
    catalog = load_catalog(MAIN)
    group = catalog.host_groups[0]
    routes = routes_for(Hosts(catalog).binder(group).bind(typed(entries)))
    assert [(r.plugin, r.backend) for r in routes] == [("wasmcloud-postgres", "postgres")] * 2
    assert routes[0].settings == {"url": "postgres://***@db/x"}


@upstream(
    "crates/wash-runtime/src/plugin/wasmcloud_secrets/mod.rs",
    "on_workload_item_bind (labelled secret)",
)
def test_a_labelled_secret_needs_its_value_under_its_label():
    catalog = load_catalog(MAIN)
    ok = iface("wasmcloud:secrets/secret@2.1.0", "api-key", **{"api-key": "s3cr3t"})
    assert deploy(catalog, [ok]) == []
    missing = iface("wasmcloud:secrets/secret@2.1.0", "api-key")
    outcome = build_validator(Policy.UPSTREAM, catalog=catalog).check(workload([missing]))
    assert [(v.rule, v.field) for v in outcome.denials] == [
        ("plugin-config-missing", "spec.template.spec.hostInterfaces[0].config.api-key")
    ]
    assert 'requires secret "api-key" but it was not provided' in outcome.denials[0].message
    from_secret = dict(missing, secretFrom=[{"name": "api-keys"}])
    assert deploy(catalog, [from_secret]) == []


@upstream("crates/wash-runtime/src/host/http.rs", "DynamicRouter::on_workload_resolved")
def test_the_cluster_router_needs_a_valid_host_on_the_first_http_handler():
    catalog = load_catalog(MAIN)
    assert denied(catalog, [iface("wasi:http/incoming-handler")]) == ["http-host"]
    assert denied(catalog, [iface("wasi:http/incoming-handler", host="app:8080")]) == ["http-host"]
    assert denied(catalog, [iface("wasi:http/incoming-handler", address="app")]) == ["http-host"]
    assert deploy(catalog, [iface("wasi:http/incoming-handler", host="app")]) == []
    # Only the first handler entry is read; an outgoing-only entry is not a handler.
    assert deploy(catalog, [iface("wasi:http/outgoing-handler")]) == []


HTTP = "crates/wash-runtime/src/host/http.rs"


def ingress_hostnames(tag: str, entry: dict[str, Any]) -> list[str]:
    """``http_ingress_hostnames`` as bindcheck reads the entry point, on ``tag``'s host:
    the primary host when valid, then the non-empty aliases the router keeps."""
    catalog = load_catalog(releases.PREFIX + tag.removeprefix("v"))
    assert catalog is not None
    handler = first_handler(typed([entry]), catalog.host.p3_handler)
    if handler is None:
        return []
    point = read_entry_point(handler)
    aliases = [a.strip() for a in handler.config.get("host-aliases", "").split(",")]
    kept = [point.host] if point.host is not None and is_valid_hostname(point.host) else []
    return kept + [a for i, a in enumerate(filter(None, aliases), 1) if i not in point.bad_aliases]


def http_iface(host: str | None, aliases: str | None) -> dict[str, Any]:
    """The upstream tests' ``http_iface``: an incoming handler at 0.2.2 with these configs."""
    config = {k: v for k, v in (("host", host), ("host-aliases", aliases)) if v is not None}
    return iface("wasi:http/incoming-handler@0.2.2", **config)


@at_tags(HTTP, "http_ingress_hostnames_collects_primary_and_valid_aliases", since="v2.6.1")
def test_the_router_serves_the_host_and_every_valid_alias(tag):
    entry = http_iface("primary.local", "a.local, b.local")
    assert ingress_hostnames(tag, entry) == ["primary.local", "a.local", "b.local"]
    catalog = load_catalog(releases.PREFIX + tag.removeprefix("v"))
    assert deploy(catalog, [entry]) == []


@at_tags(HTTP, "http_ingress_hostnames_filters_invalid_and_empty_entries", since="v2.6.1")
def test_the_router_drops_invalid_and_empty_names_and_bindcheck_names_the_dropped(tag):
    entry = http_iface("bad_host", "ok.local,,-nope-,also_bad,fine.local")
    assert ingress_hostnames(tag, entry) == ["ok.local", "fine.local"]
    catalog = load_catalog(releases.PREFIX + tag.removeprefix("v"))
    outcome = build_validator(Policy.UPSTREAM, catalog=catalog).check(workload([entry]))
    assert outcome is not None
    # a component workload fails on the bad primary (DynamicRouter); the aliases drop quietly
    assert [v.rule for v in outcome.violations] == ["http-host", "http-host-alias"]
    assert "name(s) 2, 3 of the comma-separated list" in outcome.violations[1].message


@at_tags(HTTP, "http_ingress_hostnames_empty_without_http_interface", since="v2.6.1")
def test_no_http_entry_no_names(tag):
    assert ingress_hostnames(tag, iface("wasi:keyvalue/store")) == []


# --- e2e manifests (runtime-operator/test/e2e) and the samples, on the standard host ---


@upstream(f"{E2E}/implements_test.go", "admits two named entries of the same package")
def test_the_implements_e2e_manifest_routes_team_a_and_team_b():
    _two_teams_on_one_multiplexer(load_catalog(MAIN), "keyvalue-implements")


@upstream(f"{E2E}/messaging_test.go", "messagingRevisions (sync 0.2.0, async 0.3.0)")
@pytest.mark.parametrize("version", ["0.2.0", "0.3.0"])
def test_the_messaging_e2e_handler_binds_the_nats_messaging_plugin(
    version,
):
    entry = iface(f"wasmcloud:messaging/handler@{version}", subscriptions="test.echo")
    catalog = load_catalog(MAIN)
    assert bound_ids(catalog, [entry]) == ["wasmcloud-messaging"]
    assert deploy(catalog, [entry]) == []


@upstream(
    f"{E2E}/host_plugin_test.go",
    "serves a workload's imported capability from the component plugin",
)
def test_a_host_plugin_import_needs_a_catalog_that_has_the_plugin():
    entries = [iface("wasi:http/handler@0.3.0", host="caller"), iface("acme:kv/store@0.1.0")]
    assert denied(load_catalog(MAIN), entries) == ["interface-unavailable"]
    with_plugin = host(mock("acme-kv", ["acme:kv/store@0.1.0"]), http="dynamic")
    assert deploy(with_plugin, entries) == []


@upstream(f"{E2E} and runtime-operator/config/samples", "every sample and e2e WorkloadDeployment")
def test_manifests_in_the_shapes_of_upstreams_samples_are_allowed_on_the_standard_host():
    validator = build_validator(Policy.UPSTREAM, catalog=load_catalog(MAIN))
    report = check_paths([str(p) for p in SAMPLES], validator)
    assert [(r.outcome.name, r.outcome.violations) for r in report.results] == [
        (r.outcome.name, ()) for r in report.results
    ]
    assert len(report.results) == 7
