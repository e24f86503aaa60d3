"""Each wasmCloud release's host, as read at its tag: what bindcheck predicts there.

Every test names the release tag, the upstream file and what it shows there
(``@at``); the commit of each tag is in webhook/runtime/releases.py. Where a release
has a test of its own for the behaviour, the test is named too.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import entry, workload

from webhook.cli import main
from webhook.core import build_validator
from webhook.errors import CatalogError, ConfigError
from webhook.runtime import releases
from webhook.runtime.catalog_files import load_catalog, parse_catalog
from webhook.violations import Policy, Violation

WORKLOAD = "crates/wash-runtime/src/engine/workload.rs"
HTTP = "crates/wash-runtime/src/host/http.rs"
HOST_CLI = "crates/wash/src/cli/host.rs"
CARGO = "crates/wash/Cargo.toml"


def at(tag: str, file: str, shows: str) -> pytest.MarkDecorator:
    """The release, the upstream file read at its tag, and what it shows."""
    return pytest.mark.upstream(file=file, test=shows, commit=releases.find(tag).commit)


def verdict(release: str, entries: list[dict[str, Any]]) -> list[Violation]:
    validator = build_validator(Policy.UPSTREAM, catalog=load_catalog(release))
    outcome = validator.check(workload(entries))
    assert outcome is not None
    return list(outcome.violations)


def rules(release: str, entries: list[dict[str, Any]]) -> list[str]:
    return [v.rule for v in verdict(release, entries)]


def kv(name: str | None = None, **config: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"version": "0.2.0-draft", "config": config}
    if name is not None:
        fields["name"] = name
    return entry("wasi", "keyvalue", **fields)


HANDLER = {"namespace": "wasi", "package": "http", "interfaces": ["incoming-handler"]}


# --- the plugins each release registers ---


@at("v2.6.1", CARGO, "default = ['wasi-webgpu']: no wasm_component_model_implements")
def test_before_2_7_two_named_keyvalue_entries_fail_on_the_nats_plugin_with_its_error():
    entries = [kv("cache", backend="redis", url="redis://r:6379"), kv("sessions")]
    found = verdict("wasmcloud@2.6", entries)
    named = [v for v in found if v.rule == "plugin-named-instances"]
    assert len(named) == 1 and named[0].message.startswith(
        "plugin 'wasi-keyvalue' does not support named instances, but workload requires 2 "
        "named entries for wasi:keyvalue (names: cache, sessions)."
    )
    # the backend the entry names is not read there: a warning, not a route
    assert "backend-ignored" in [v.rule for v in found]
    # the same list on v2.7.0 routes each name to its backend
    assert rules("wasmcloud@2.7", entries) == []


@at("v2.6.1", HOST_CLI, "no multiplexed plugins, no secrets, postgres only with --postgres-url")
@pytest.mark.parametrize(
    ("package", "version", "interfaces"),
    [
        ("keyvalue", "0.2.0", ["store"]),
        ("blobstore", "0.1.0", ["blobstore"]),
        ("postgres", "0.2.0", ["query"]),
        ("secrets", "2.1.0", ["store"]),
    ],
)
def test_before_2_7_the_wasmcloud_packages_are_not_available(package, version, interfaces):
    one = entry("wasmcloud", package, version=version, interfaces=interfaces, name="a")
    for release in ("wasmcloud@2.0.0", "wasmcloud@2.5", "wasmcloud@2.6"):
        assert "interface-unavailable" in rules(release, [one]), release
    assert "interface-unavailable" not in rules("wasmcloud@2.7", [one])


@at("v2.7.0", "crates/wash-runtime/src/plugin/mod.rs", "multiplexed_plugins: no async messaging")
def test_messaging_0_3_0_is_on_main_only():
    handler = entry("wasmcloud", "messaging", version="0.3.0", interfaces=["handler"], config={})
    assert rules("wasmcloud@2.7", [handler]) == ["interface-unavailable"]
    assert rules("wasmcloud@main", [handler]) == []


# --- how each release binds ---


@at("v2.7.0", WORKLOAD, "bind_plugins: a name that is a plugin id pins it (e9245832e)")
def test_pinning_by_plugin_id_arrives_in_2_7():
    pinned = kv("wasi-blobstore")  # the id of a plugin that does not serve keyvalue
    found = verdict("wasmcloud@2.7", [pinned])
    assert [v.rule for v in found] == ["interface-unavailable"]
    assert "its name is the id of the plugin 'wasi-blobstore'" in found[0].message
    assert rules("wasmcloud@2.6", [pinned]) == []  # just a name there


@at("v2.4.0", WORKLOAD, "bind_plugins has no other_plugin_serves: the first server takes it")
def test_a_catalog_extending_a_release_without_deferral_binds_without_it(tmp_path):
    # Two servers of one package: a named-instance plugin first in id order, then the
    # plain one. With deferral (v2.5.0+) an unnamed entry passes over the first.
    text = """
extends: wasmcloud@2.7
host: {namedDeferral: DEFER}
plugins:
  - id: a-keyvalue
    namedInstances: true
    worlds: [{namespace: wasi, package: keyvalue, imports: [store]}]
hostGroups:
  - name: default
    plugins: [a-keyvalue, wasi-keyvalue]
"""
    from webhook.runtime.hosts import Hosts

    def taker(defer: str) -> str | None:
        catalog = parse_catalog(text.replace("DEFER", defer), "kv.yaml")
        validator = build_validator(catalog=catalog)
        examined = validator.examine(workload([kv()]))
        assert examined is not None
        claim = Hosts(catalog).binder(catalog.host_groups[0]).claim(examined.entries[0])
        return claim.plugin.id if claim.plugin else None

    assert taker("true") == "wasi-keyvalue"
    assert taker("false") == "a-keyvalue"


@at("v2.5.1", WORKLOAD, "bind_plugins filters wasi:http/incoming-handler,outgoing-handler")
def test_a_p3_handler_is_served_by_the_host_from_2_5_2():
    p3 = {"namespace": "wasi", "package": "http", "interfaces": ["handler"],
          "config": {"host": "app.example.com"}}  # fmt: skip
    assert rules("wasmcloud@2.5.1", [p3]) == ["interface-unavailable"]
    assert rules("wasmcloud@2.5.2", [p3]) == []
    # and only from v2.5.2 is it the entry point the router reads
    assert "http-host" in rules("wasmcloud@2.5.2", [{**p3, "config": {}}])
    assert "http-host" not in rules("wasmcloud@2.5.1", [{**p3, "config": {}}])


# --- the HTTP router of each release ---


@at("v2.0.2", HTTP, "on_workload_resolved takes config.host as it is (no is_valid_hostname)")
def test_host_names_are_checked_from_2_0_3():
    url = {**HANDLER, "config": {"host": "https://app.example.com:443"}}
    assert rules("wasmcloud@2.0.0", [url]) == []
    assert rules("wasmcloud@2.0.3", [url]) == ["http-host"]


@at("v2.2.1", HTTP, 'context("No host header found")')
def test_each_release_keeps_its_own_wording_for_a_missing_host():
    [early] = verdict("wasmcloud@2.2", [{**HANDLER, "config": {}}])
    [late] = verdict("wasmcloud@2.3", [{**HANDLER, "config": {}}])
    assert '("No host header found")' in early.message
    assert '("no host header found")' in late.message


# --- naming releases, and catalogs that extend one ---


def test_every_release_loads_and_names_its_own_tag_and_commit():
    for release in releases.RELEASES:
        catalog = load_catalog(release.name)
        assert catalog is not None and catalog.upstream is not None
        assert catalog.upstream.commit == release.commit
        assert catalog.upstream.release == (None if release.tag == "main" else release.tag)


def test_a_minor_stands_for_its_newest_patch_and_the_default_is_the_newest_release():
    assert releases.find("wasmcloud@2.6").tag == "v2.6.1"
    assert releases.find("wasmcloud@2.0").tag == "v2.0.7"
    assert releases.find("wasmcloud@v2.5.1").tag == "v2.5.1"
    assert releases.find(releases.DEFAULT).tag == "v2.7.0"
    assert load_catalog(None).upstream.release == "v2.7.0"  # type: ignore[union-attr]


def test_an_unknown_release_lists_the_known_ones(capsys):
    with pytest.raises(SystemExit) as usage:
        main(["check", "--host", "wasmcloud@3.0", "x.yaml"])
    assert usage.value.code == 2
    err = capsys.readouterr().err
    assert "unknown wasmCloud release 'wasmcloud@3.0'; known: wasmcloud@{2.0, 2.1" in err
    with pytest.raises(ConfigError, match="known: "):
        load_catalog("wasmcloud@\x1b[31m")  # escaped, not echoed raw
    with pytest.raises(ConfigError) as raised:
        load_catalog("wasmcloud@\x1b[31m")
    assert "\x1b" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "at", "reason"),
    [
        ("extends: wasmcloud@1.9\n", ":1: extends", "unknown wasmCloud release 'wasmcloud@1.9'"),
        ("extends: [wasmcloud@2.7]\n", ":1: extends", "names a release"),
        ("extends: wasmcloud@2.6\nwithoutPlugins: [wasmcloud-secrets]\n", ":2: withoutPlugins",
         "wasmcloud@2.6.1 has no plugin 'wasmcloud-secrets'"),
        ("extends: wasmcloud@2.7\nplugins: [{namedInstances: true}]\n", ":2: plugins",
         "a list of mappings, each with its id"),
        ("extends: wasmcloud@2.7\nhost: {pinById: sometimes}\n", ":2: host.pinById", "boolean"),
        # the merged list's index is the file's again, and the line is the key's
        ("extends: wasmcloud@2.7\nhostGroups:\n  - name: edge\n    pluginz: [wasi-http]\n",
         ":4: hostGroups.0.pluginz", "unknown key 'pluginz'; did you mean 'plugins'?"),
        # a behaviour the release does not have
        ("extends: wasmcloud@2.7\nplugins:\n  - id: picky\n    claims: {minVersion: 1.0.0}\n"
         "    worlds: [{namespace: a, package: b}]\n", ": <root>", "no claims()"),
    ],
)  # fmt: skip
def test_a_catalog_extending_a_release_fails_at_load_with_file_path_and_reason(
    tmp_path, text, at, reason
):
    file = tmp_path / "mine.yaml"
    file.write_text(text)
    with pytest.raises(CatalogError) as raised:
        load_catalog(str(file))
    message = str(raised.value)
    assert message.startswith(f"{file}{at}: ") and reason in message, message


def test_a_catalog_that_extends_a_release_keeps_the_rest_of_it(tmp_path):
    file = tmp_path / "mine.yaml"
    file.write_text("extends: wasmcloud@2.6\nwithoutPlugins: [wasi-blobstore]\n")
    mine = load_catalog(str(file))
    base = load_catalog("wasmcloud@2.6")
    assert mine is not None and base is not None
    assert set(base.host_groups[0].plugins) - set(mine.host_groups[0].plugins) == {"wasi-blobstore"}
    assert mine.host == base.host and mine.source == str(file)


def _two_keyvalue_servers(tmp_path, release: str):
    catalog = tmp_path / f"two-kv-{release}.yaml"
    catalog.write_text(
        f"extends: {release}\n"
        "plugins:\n"
        "  - id: redis-kv\n"
        "    worlds: [{namespace: wasi, package: keyvalue, imports: [store]}]\n"
        "hostGroups:\n"
        "  - {name: default, plugins: [redis-kv, wasi-keyvalue]}\n"
    )
    return load_catalog(str(catalog))


def test_before_2_7_two_plugins_for_one_entry_bind_in_an_undefined_order(tmp_path):
    """engine/workload.rs bind_plugins at v2.6.1 iterates a HashMap of plugins: with two
    plain keyvalue servers either may take the entry; from v2.7.0 (9feb2fe6a) the first
    by id does."""
    entry = {"namespace": "wasi", "package": "keyvalue", "interfaces": ["store"]}
    old = build_validator(catalog=_two_keyvalue_servers(tmp_path, "wasmcloud@2.6"))
    [warning] = old.check(workload([entry])).violations
    assert warning.rule == "plugin-order-undefined" and warning.action.value == "warn"
    assert "'redis-kv' and 'wasi-keyvalue' all serve" in warning.message
    new = build_validator(catalog=_two_keyvalue_servers(tmp_path, "wasmcloud@2.7"))
    assert new.check(workload([entry])).violations == ()
