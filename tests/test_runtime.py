from __future__ import annotations

import pytest
from conftest import entry, workload

from webhook.core import build_validator
from webhook.model import HostInterface
from webhook.runtime.binding import bind, named_conflicts
from webhook.runtime.catalog import parse_catalog
from webhook.runtime.multiplex import (
    ResolutionError,
    choose_backend,
    redact,
    resolve_import,
)
from webhook.runtime.wit import compat_key, display, includes, instance_id, newer

KV = {"namespace": "wasi", "package": "keyvalue", "version": "0.2.0", "imports": ["store"]}


def catalog(*plugins: dict, groups: list | None = None):
    import json

    groups = groups or [{"name": "g", "default": True, "plugins": [p["id"] for p in plugins]}]
    return parse_catalog(json.dumps({"hostGroups": groups, "plugins": list(plugins)}), "test")


def hi(
    index: int = 0, name: str | None = None, version: str | None = "0.2.0", **kw
) -> HostInterface:
    return HostInterface(index, "wasi", "keyvalue", ("store",), version, name, kw.get("config", {}))


def plain(pid: str) -> dict:
    return {"id": pid, "worlds": [KV]}


def multi(pid: str) -> dict:
    return {
        "id": pid,
        "namedInstances": True,
        "worlds": [KV],
        "backends": [{"name": "in-memory"}, {"name": "redis", "required": ["url"]}],
    }


# WIT semantics


def test_instance_id_and_display_omit_absent_parts():
    e = HostInterface(0, "wasi", "keyvalue", ("store", "atomics"), "0.2.0", "cache")
    assert instance_id(e) == "wasi:keyvalue/cache@0.2.0"
    assert display(e) == "wasi:keyvalue [cache]/store,atomics@0.2.0"
    bare = HostInterface(0, "wasi", "http", ("incoming-handler",))
    assert (instance_id(bare), display(bare)) == ("wasi:http", "wasi:http/incoming-handler")


def test_includes_needs_equal_versions_where_both_are_set_and_every_interface():
    e = hi(version="0.2.0")
    assert includes("wasi", "keyvalue", "0.2.0", frozenset({"store", "batch"}), e)
    assert includes("wasi", "keyvalue", None, frozenset({"store"}), e)
    assert not includes("wasi", "keyvalue", "0.2.1", frozenset({"store"}), e)
    assert not includes("wasi", "keyvalue", "0.2.0", frozenset({"batch"}), e)
    assert includes("wasi", "keyvalue", "0.2.0", frozenset({"store"}), hi(version=None))


@pytest.mark.parametrize(
    ("version", "key"),
    [
        ("1.2.3", "1"),
        ("0.2.9", "0.2"),
        ("0.0.4", "0.0.4"),
        ("2.0.0-rc.1", "2"),
        ("draft", "=draft"),
    ],
)
def test_compat_key(version, key):
    assert compat_key(version) == key


def test_newer_follows_semver_precedence():
    assert newer("0.2.0-rc.1", "0.2.0") == "0.2.0"
    assert newer("1.10.0", "1.9.0") == "1.10.0"
    assert newer("0.2.0-rc.2", "0.2.0-rc.10") == "0.2.0-rc.10"


# Binding, step by step


def test_step1_plugins_are_tried_in_id_order():
    cat = catalog(plain("b-kv"), plain("a-kv"))
    plugins = cat.plugins_of(cat.host_groups[0])
    assert [c.plugin.id for c in bind([hi()], plugins)] == ["a-kv"]


def test_step2_a_name_equal_to_a_plugin_id_routes_to_that_plugin():
    cat = catalog(multi("a-multi"), plain("z-kv"))
    plugins = cat.plugins_of(cat.host_groups[0])
    claims = bind([hi(name="z-kv"), hi(1, name="other")], plugins)
    assert [c.plugin.id for c in claims] == ["z-kv", "a-multi"]


def test_step3_named_entries_skip_plain_plugins_and_unnamed_skip_multiplexers():
    cat = catalog(plain("a-kv"), multi("b-multi"))
    plugins = cat.plugins_of(cat.host_groups[0])
    claims = bind([hi(0, name="cache"), hi(1)], plugins)
    assert [c.plugin.id for c in claims] == ["b-multi", "a-kv"]


def test_step3_without_an_alternative_the_first_server_claims():
    cat = catalog(multi("m"))
    plugins = cat.plugins_of(cat.host_groups[0])
    assert [c.plugin.id for c in bind([hi()], plugins)] == ["m"]


def test_step4_two_named_entries_on_a_plain_plugin_conflict_names_sorted():
    cat = catalog(plain("wasi-keyvalue"))
    plugins = cat.plugins_of(cat.host_groups[0])
    conflicts = named_conflicts(bind([hi(0, name="sessions"), hi(1, name="cache")], plugins))
    assert [c.message() for c in conflicts] == [
        "plugin 'wasi-keyvalue' does not support named instances, but workload requires 2 "
        "named entries for wasi:keyvalue (names: cache, sessions)"
    ]


def test_step4_one_named_entry_on_a_plain_plugin_is_fine():
    cat = catalog(plain("wasi-keyvalue"))
    plugins = cat.plugins_of(cat.host_groups[0])
    assert named_conflicts(bind([hi(0, name="cache"), hi(1)], plugins)) == []


def test_step5_an_entry_no_plugin_serves_has_no_claim():
    cat = catalog(plain("wasi-keyvalue"))
    plugins = cat.plugins_of(cat.host_groups[0])
    assert bind([hi(version="9.9.9")], plugins)[0].plugin is None


# Multiplexing


def test_backend_comes_from_config_else_the_default():
    plugin = catalog(multi("m")).plugins[0]
    assert choose_backend(hi(), plugin).backend.name == "in-memory"
    choice = choose_backend(hi(config={"backend": "redis"}), plugin)
    assert (choice.backend.name, choice.missing) == ("redis", ("url",))
    assert choose_backend(hi(config={"backend": "mongo"}), plugin).unknown == "mongo"


def test_an_import_label_nothing_names_is_an_error_never_a_fallback():
    routes = [hi(0), hi(1, name="cache")]
    assert resolve_import(routes, "wasi:keyvalue", "").index == 0
    assert resolve_import(routes, "wasi:keyvalue", "cache").index == 1
    with pytest.raises(ResolutionError, match="no wasi:keyvalue backend bound for import 'x'"):
        resolve_import(routes, "wasi:keyvalue", "x")


def test_redaction_shows_only_declared_settings_and_masks_credentials():
    from webhook.runtime.catalog import Backend

    redis = Backend(name="redis", required=("url",), optional=("db", "password"), secret=("db",))
    assert redact("url", "redis://user:hunter2@r:6379/0", redis) == "redis://***@r:6379/0"
    assert redact("password", "hunter2", redis) == "<redacted>"  # declared, but named a credential
    assert redact("db", "3", redis) == "<redacted>"  # declared secret
    assert redact("dsn", "host=x password=hunter2", redis) == "<redacted>"  # not declared
    assert redact("backend", "redis", redis) == "redis"
    assert redact("url", "redis://r:6379", None) == "<redacted>"  # no backend: nothing declared


# Through the validator


def _violations(cat, entries, selector=None):
    from webhook.violations import Policy

    obj = workload(entries)
    if selector:
        obj["spec"]["template"]["spec"]["hostSelector"] = selector
    return build_validator(Policy.UPSTREAM, catalog=cat).check(obj).violations


def test_capability_violation_says_what_to_change_and_where():
    cat = catalog(
        plain("wasi-keyvalue"),
        multi("wasi-keyvalue-multiplexed"),
        groups=[{"name": "g", "default": True, "plugins": ["wasi-keyvalue"]}],
    )
    v = _violations(
        cat, [entry(name="cache", version="0.2.0"), entry(name="sessions", version="0.2.0")]
    )
    assert [(x.rule, x.field) for x in v] == [
        ("plugin-named-instances", "spec.template.spec.hostInterfaces[1].name")
    ]
    assert "enable the 'wasi-keyvalue-multiplexed' plugin" in v[0].message


def test_unknown_backend_and_missing_config_point_at_config_fields():
    v = _violations(catalog(multi("m")), [
        entry(name="a", version="0.2.0", config={"backend": "mongo"}),
        entry(name="b", version="0.2.0", config={"backend": "redis"}),
    ])  # fmt: skip
    assert [(x.rule, x.field) for x in v] == [
        ("backend-unknown", "spec.template.spec.hostInterfaces[0].config.backend"),
        ("backend-config-missing", "spec.template.spec.hostInterfaces[1].config.url"),
    ]
    assert "no wasi:keyvalue provider registered for backend 'mongo'" in v[0].message


def test_host_selector_picks_groups_and_an_unmatched_selector_is_reported():
    groups = [{"name": "edge", "labels": {"hostgroup": "edge"}, "plugins": []},
              {"name": "core", "labels": {"hostgroup": "core"}, "plugins": ["m"]}]  # fmt: skip
    cat = catalog(multi("m"), groups=groups)
    e = [entry(name="a", version="0.2.0")]
    assert _violations(cat, e, {"hostgroup": "core"}) == ()
    edge = _violations(cat, e, {"hostgroup": "edge"})
    assert [x.rule for x in edge] == ["interface-unavailable"]
    assert "in host group 'edge'" in edge[0].message
    assert [x.rule for x in _violations(cat, e, {"hostgroup": "gpu"})] == ["hostgroup-unmatched"]


@pytest.mark.parametrize(
    ("text", "path"),
    [("hostGroups: []\nplugins: []\n", "hostGroups"),
     ("hostGroups: [{name: g, plugins: [x]}]\nplugins: []\n", ""),
     ("hostGroups: [{name: g, plugins: []}]\nplugins: [{id: p, worlds: [{namespace: w}]}]\n",
      "plugins.0.worlds.0.package"),
     ("hostGroups: [{name: g, plugins: []}]\nplugins: [{id: p, worlds: [], typo: 1}]\n",
      "plugins.0.worlds")],
)  # fmt: skip
def test_a_malformed_catalog_fails_with_file_path_and_reason(text, path):
    from webhook.errors import CatalogError

    with pytest.raises(CatalogError) as info:
        parse_catalog(text, "cat.yaml")
    assert info.value.source == "cat.yaml" and info.value.path == path
