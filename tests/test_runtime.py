"""The thin runtime: WIT semantics, the catalog format, binding, backends, settings, HTTP.

Upstream's own cases are translated in tests/test_upstream_host.py; these cover
bindcheck's side: the catalog's validation, messages and redaction.
"""

from __future__ import annotations

import json

import pytest
from conftest import entry, workload
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook.core import build_validator
from webhook.errors import CatalogError
from webhook.model import HostInterface
from webhook.runtime.binding import named_conflicts, route_collisions
from webhook.runtime.catalog_files import load_catalog, parse_catalog
from webhook.runtime.hosts import Hosts
from webhook.runtime.http import is_valid_hostname, why_invalid
from webhook.runtime.multiplex import ResolutionError, choose_backend, resolve_import
from webhook.runtime.settings import REDACTED, Reading, safe_value
from webhook.runtime.wit import at_least, display, host_version, instance_id, parse_semver
from webhook.violations import Action, Policy

KV = {"namespace": "wasi", "package": "keyvalue", "version": "0.2.0", "imports": ["store"]}
P = "spec.template.spec.hostInterfaces"


def catalog(*plugins: dict, groups: list | None = None, http: str = "none"):
    groups = groups or [{"name": "g", "http": http, "plugins": [p["id"] for p in plugins]}]
    return parse_catalog(json.dumps({"hostGroups": groups, "plugins": list(plugins)}), "test")


def hi(index: int = 0, name: str | None = None, version: str | None = "0.2.0", **kw):
    return HostInterface(
        index,
        "wasi",
        "keyvalue",
        kw.get("interfaces", ("store",)),
        version,
        name,
        kw.get("config", {}),
        kw.get("external", False),
    )


def plain(pid: str, world: dict = KV, **kw) -> dict:
    return {"id": pid, "worlds": [world], **kw}


def multi(pid: str, world: dict = KV, **kw) -> dict:
    backends = [{"name": "in-memory"}, {"name": "redis", "required": ["url"]}]
    mux = {"defaultBackend": "in-memory", "backends": backends}
    return {"id": pid, "namedInstances": True, "worlds": [world], "multiplex": mux, **kw}


def bound(cat, entries):
    group = cat.host_groups[0]
    return Hosts(cat).binder(group).bind(entries)


def violations(cat, entries, selector=None, policy=Policy.UPSTREAM):
    obj = workload(entries)
    if selector:
        obj["spec"]["template"]["spec"]["hostSelector"] = selector
    return build_validator(policy, catalog=cat).check(obj).violations


# WIT semantics


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("0.2.0", True),
        ("0.2.0-draft", True),
        ("1.0.0-rc.1+build.5", True),
        ("0.2.0-rc.2024-12-05", True),
        ("1.0.0+001", True),
        ("0.2.0--x", True),
        ("0.2", False),
        ("latest", False),
        ("v1.0.0", False),
        ("01.0.0", False),
        ("1.0.0-01", False),
        ("1.0.0-", False),
        ("1.0.0-a..b", False),
        (" 1.0.0", False),
        ("18446744073709551616.0.0", False),
        ("18446744073709551615.0.0", True),
        ("1" * 3000 + ".0.0", False),
    ],
)
def test_versions_parse_as_rusts_strict_semver(text, parsed):
    assert (parse_semver(text) is not None) is parsed
    assert host_version(text) == (text if parsed else None)


def test_claims_compare_by_semver_precedence():
    assert at_least("0.3.0", "0.3.0") and at_least("0.10.0", "0.3.0")
    assert not at_least("0.3.0-rc.1", "0.3.0")  # a prerelease sorts before its release
    assert not at_least(None, "0.3.0") and not at_least("0.2.9", "0.3.0")
    assert at_least("0.3.0-rc.10", "0.3.0-rc.9")  # numeric identifiers compare as numbers


def test_instance_id_and_display_omit_absent_parts():
    e = HostInterface(0, "wasi", "keyvalue", ("store", "atomics"), "0.2.0", "cache")
    assert instance_id(e) == "wasi:keyvalue/cache@0.2.0"
    assert display(e) == "wasi:keyvalue [cache]/store,atomics@0.2.0"
    bare = HostInterface(0, "wasi", "http", ("incoming-handler",))
    assert (instance_id(bare), display(bare)) == ("wasi:http", "wasi:http/incoming-handler")


# The catalog format


def test_the_embedded_catalog_loads_and_records_its_upstream_commit():
    cat = load_catalog(None)  # the newest release, v2.7.0
    assert cat.upstream.commit == "9561cb59759fa15b0a64bdb0b318255309aeddcd"
    assert cat.upstream.release == "v2.7.0"
    assert (
        load_catalog("wasmcloud@main").upstream.commit == "7cd553cc57cfb5a64717d76b11ddeea2cd8c0a8b"
    )
    assert all(p.source for p in cat.plugins), "every plugin cites where upstream defines it"


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        ("hostGroups: []\nplugins: []\n", "hostGroups", "at least 1 item"),
        (
            "hostGroups: [{name: g, plugins: [x]}]\nplugins: []\n",
            "",
            "host group 'g' names unknown plugin 'x'",
        ),
        (
            "hostGroups: [{name: g, plugins: []}]\nplugins: [{id: p, worlds: [{namespace: w}]}]\n",
            "plugins.0.worlds.0.package",
            "Field required",
        ),
        (
            "hostGroups: [{name: g, plugins: []}]\nplugins: [{id: p, worlds: [], typo: 1}]\n",
            "plugins.0.typo",
            "unknown key 'typo'",  # before the rest: a misspelt key leaves the real one out
        ),
        (
            "hostGroups: [{name: g, plugins: []}]\n"
            "plugins: [{id: p, worlds: [{namespace: a, package: b}]},"
            " {id: p, worlds: [{namespace: a, package: b}]}]\n",
            "",
            "plugin ids must be unique: p",
        ),
        (
            "hostGroups: [{name: g, plugins: []}]\nplugins: [{id: p, worlds: "
            "[{namespace: a, package: b}], multiplex: {defaultBackend: redis, backends: "
            "[{name: in-memory}]}}]\n",
            "plugins.0.multiplex",
            "defaultBackend 'redis' is not one of the backends (in-memory)",
        ),
        (
            "hostGroups: [{name: g, plugins: []}]\nplugins: [{id: p, worlds: "
            "[{namespace: a, package: b, version: '0.2'}]}]\n",
            "plugins.0.worlds.0.version",
            "'0.2' is not a semver version",
        ),
        (
            "hostGroups: [{name: g, plugins: [p], optIn: [{id: p, flag: --p}]}]\n"
            "plugins: [{id: p, worlds: [{namespace: a, package: b}]}]\n",
            "",
            "lists ['p'] as registered and opt-in",
        ),
        (
            "hostGroups: [{name: g, plugins: []}]\nhostGroups: []\nplugins: []\n",
            "line 2",
            "already defined",
        ),
        (
            "hostGroups: [{name: g, plugins: []}]\nplugins: []\nx: 2024-13-45\n",
            "line 3",
            "a timestamp value is not plain data here",
        ),
    ],
)
def test_a_catalog_that_contradicts_itself_fails_at_load_with_file_path_and_reason(
    text, path, reason
):
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, "cat.yaml")
    assert (info.value.source, info.value.path) == ("cat.yaml", path)
    assert reason in str(info.value)


# Binding details the upstream translations do not reach


def test_an_unnamed_entry_with_a_backend_lands_on_the_plain_plugin_with_a_warning():
    cat = catalog(plain("wasi-keyvalue", description="host NATS"), multi("wasi-keyvalue-m"))
    v = violations(cat, [entry(version="0.2.0", config={"backend": "redis", "url": "redis://r"})])
    assert [(x.rule, x.action, x.field) for x in v] == [
        ("backend-ignored", Action.WARN, f"{P}[0].config.backend"),
        ("config-unread", Action.WARN, f"{P}[0].config.url"),  # the plain plugin reads no url
    ]
    assert "'wasi-keyvalue' (host NATS)" in v[0].message
    assert "give the entry a name" in v[0].message and "'wasi-keyvalue-m'" in v[0].message


def test_a_colon_inside_namespace_or_package_never_makes_two_packages_collide():
    a = entry(namespace="a:b", package="c", name="x")
    b = entry(namespace="a", package="b:c", name="x")
    assert violations(None, [a, b], policy=Policy.STRICT) == ()
    assert violations(None, [dict(a, name=None), dict(b, name=None)]) == ()
    cat = catalog(plain("p", {"namespace": "a:b", "package": "c", "imports": ["store"]}))
    assert [c.plugin.id if c.plugin else None for c in bound(cat, [hi(0), hi(1)])] == [None, None]
    odd = HostInterface(0, "a", "b:c", ("store",), None, "x")
    assert bound(cat, [odd])[0].plugin is None


def test_entries_the_host_sees_as_one_interface_count_once():
    # "latest" and "0.2" both become no version: with equal config they are one
    # interface to the host, so a plain plugin holds one named entry, not two.
    cat = catalog(plain("kv"))
    same = [hi(0, "cache", "latest"), hi(1, "cache", "0.2")]
    assert named_conflicts(bound(cat, same)) == []
    differ = [hi(0, "cache", "latest"), hi(1, "other", "0.2")]
    assert [c.names for c in named_conflicts(bound(cat, differ))] == [["cache", "other"]]


def test_two_entries_under_one_name_on_a_multiplexer_collide():
    cat = catalog(multi("m", dict(KV, version=None)))
    claims = bound(cat, [hi(0, "cache", "0.2.0"), hi(1, "cache", None, config={"a": "1"})])
    assert [[e.index for e in c.entries] for c in route_collisions(claims)] == [[0, 1]]
    v = violations(cat, [entry(name="cache", version="0.2.0"), entry(name="cache")])
    assert [(x.rule, x.action, x.field) for x in v] == [
        ("route-collision", Action.WARN, f"{P}[1].version")
    ]
    assert "[0] and [1] both reach 'm' under the name \"cache\"" in v[0].message


def test_an_unavailable_entry_is_told_what_the_host_offers_and_which_flag_adds_a_plugin():
    otel = {"namespace": "wasi", "package": "otel", "imports": ["tracing"]}
    groups = [
        {"name": "g", "http": "none", "plugins": ["m"], "optIn": [{"id": "o", "flag": "--otel"}]}
    ]
    cat = catalog(multi("m"), plain("o", otel), groups=groups)
    v = violations(
        cat, [entry(name="a", version="9.9.9"), entry("wasi", "otel", interfaces=["tracing"])]
    )
    assert [x.rule for x in v] == ["interface-unavailable", "interface-unavailable"]
    assert "for wasi:keyvalue it offers store@0.2.0 from 'm'" in v[0].message
    assert "'o' serves it on hosts started with --otel" in v[1].message


def test_a_named_conflict_says_which_version_the_multiplexer_serves():
    draft = dict(KV, version="0.2.0-draft")
    cat = catalog(plain("kv", dict(KV, version=None)), multi("kv-m", draft))
    v = violations(cat, [entry(name="a", version="0.2.0"), entry(name="b", version="0.2.0")])
    assert [x.rule for x in v] == ["plugin-named-instances"]
    assert "'kv-m' on this host supports named instances of wasi:keyvalue at 0.2.0-draft" in (
        v[0].message
    )


def test_backends_and_missing_config_point_at_config_fields_without_quoting_values():
    v = violations(
        catalog(multi("m")),
        [
            entry(name="a", version="0.2.0", config={"backend": "mongo-s3cr3t"}),
            entry(name="b", version="0.2.0", config={"backend": "redis"}),
            entry(
                name="c", version="0.2.0", config={"backend": "redis"}, configFrom=[{"name": "x"}]
            ),
        ],
    )
    assert [(x.rule, x.field) for x in v] == [
        ("backend-unknown", f"{P}[0].config.backend"),
        ("backend-config-missing", f"{P}[1].config.url"),
    ]
    assert "no wasi:keyvalue provider registered for the backend" in v[0].message
    assert "mongo-s3cr3t" not in v[0].message
    assert "redis keyvalue backend requires a 'url' config" in v[1].message


@pytest.mark.parametrize(
    ("backend", "named"),
    [("etcd", "backend 'etcd'"), ("in-memry", "backend 'in-memry'"),
     ("mongo-s3cr3t", None), ("etcd-token", None), ("Redis", None), ("a" * 25, None),
     ("x\x1b[2J", None), ("", None)],
)  # fmt: skip
def test_an_unknown_backend_is_quoted_as_the_host_does_only_when_it_reads_as_a_backend_type(
    backend, named
):
    v = violations(
        catalog(multi("m")), [entry(name="a", version="0.2.0", config={"backend": backend})]
    )
    assert [x.rule for x in v] == ["backend-unknown"]
    said = named or "the backend that config.backend names"
    assert f"no wasi:keyvalue provider registered for {said}; 'm' has: in-memory, redis" in (
        v[0].message
    )
    if named is None and backend:
        assert backend not in v[0].message


def test_a_multiplexed_default_is_its_declared_default_not_its_first_backend():
    mux = multi("m")
    mux["multiplex"] = {
        "defaultBackend": "in-memory",
        "backends": [{"name": "redis", "required": ["url"]}, {"name": "in-memory"}],
    }
    cat = catalog(mux)
    assert choose_backend(hi(name="a"), cat.plugins[0].multiplex).backend.name == "in-memory"


def test_host_selector_picks_groups_and_an_unmatched_selector_is_a_warning():
    groups = [
        {"name": "edge", "plugins": [], "http": "none"},
        {"name": "core", "plugins": ["m"], "http": "none"},
    ]
    cat = catalog(multi("m"), groups=groups)
    e = [entry(name="a", version="0.2.0")]
    assert violations(cat, e, {"hostgroup": "core"}) == ()
    edge = violations(cat, e, {"hostgroup": "edge"})
    assert [x.rule for x in edge] == ["interface-unavailable"]
    assert "in host group 'edge'" in edge[0].message
    # No selector: the scheduler may pick a host of any group, so every group counts.
    assert [x.rule for x in violations(cat, e)] == ["interface-unavailable"]
    pending = violations(cat, e, {"hostgroup": "gpu"})
    assert [(x.rule, x.action) for x in pending] == [("hostgroup-unmatched", Action.WARN)]
    assert "stays pending" in pending[0].message


# Import labels


def test_an_import_label_nothing_names_is_an_error_never_a_fallback():
    routes = [hi(0), hi(1, name="cache")]
    assert resolve_import(routes, ("wasi", "keyvalue"), "").index == 0
    assert resolve_import(routes, ("wasi", "keyvalue"), "cache").index == 1
    with pytest.raises(ResolutionError, match="no wasi:keyvalue backend bound for import 'x'"):
        resolve_import(routes, ("wasi", "keyvalue"), "x")


# What resolve may show


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("redis://user:hunter2@r:6379/0", "redis://***@r:6379/0"),
        ("redis://:pa/ss@r:6379", "redis://***@r:6379"),
        ("  nats://u:p@a:4222", "nats://***@a:4222"),
        ("nats://a:p1@n1:4222,nats://b:p2@n2:4222", "nats://***@n1:4222,nats://***@n2:4222"),
        ("redis://r:6379/0?password=hunter2", "redis://r:6379/0?***"),
        ("postgres://u:p#w@db/app", "postgres://***@db/app"),
        ("not a url://x", REDACTED),
    ],
)
def test_urls_keep_scheme_host_and_path_never_credentials(value, shown):
    how = Reading(frozenset({"url"}), frozenset())
    assert safe_value("url", value, how) == shown


def test_declared_secret_keys_and_credential_like_names_are_redacted():
    how = Reading(frozenset({"url", "db", "password"}), frozenset({"db"}))
    assert safe_value("db", "3", how) == REDACTED
    assert safe_value("password", "x", how) == REDACTED
    assert safe_value("url", "plain-value", how) == "plain-value"
    assert safe_value("anything", "x", Reading(None, None)) == REDACTED


# HTTP routing


@pytest.mark.parametrize(
    ("host", "valid", "why"),
    [
        ("app.example.com", True, ""),
        ("localhost", True, ""),
        ("a-b.c1", True, ""),
        ("app.example.com:8080", False, "':'"),
        ("http://app", False, "':'"),
        ("app/x", False, "'/'"),
        ("my_app", False, "'_'"),
        ("", False, "empty"),
        ("-app", False, "'-'"),
        ("a..b", False, "empty label"),
        ("a" * 64, False, "63"),
        ("ünicode", False, "ASCII"),
        ("x" * 254, False, "253"),
        (".".join(["a" * 63] * 3 + ["a" * 61]), True, ""),  # 253 characters
        (".".join(["a" * 63] * 3 + ["a" * 62]), False, "253"),  # 254, every label fine
    ],
)
def test_host_names_are_checked_as_rfc_1123_like_the_host_does(host, valid, why):
    assert is_valid_hostname(host) is valid
    if not valid:
        assert why in why_invalid(host)


def _upstream_is_valid_hostname(host: str) -> bool:
    """crates/wash-runtime/src/host/http.rs ``is_valid_hostname`` (wasmCloud@7cd553cc),
    line for line (Rust's ``len`` counts bytes)."""
    return (
        host != ""
        and len(host.encode()) <= 253
        and all(
            label != ""
            and len(label.encode()) <= 63
            and all(b < 128 and (chr(b).isalnum() or b == ord("-")) for b in label.encode())
            and not label.startswith("-")
            and not label.endswith("-")
            for label in host.split(".")
        )
    )


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet="aZ9-._:/ \nü", max_size=20)
    | st.lists(st.text(alphabet="a-", min_size=0, max_size=66), max_size=5).map(".".join)
)
def test_the_host_name_check_is_the_hosts(host):
    assert is_valid_hostname(host) is _upstream_is_valid_hostname(host)


def test_the_first_http_handler_needs_a_valid_host_on_a_dynamic_router():
    cat = catalog(multi("m"), http="dynamic")
    http = {"namespace": "wasi", "package": "http", "interfaces": ["incoming-handler"]}
    missing = violations(cat, [http])
    assert [(x.rule, x.field) for x in missing] == [("http-host", f"{P}[0].config.host")]
    typo = violations(cat, [dict(http, config={"address": "a.example"})])
    assert "config.address is not read; the key is host" in typo[0].message
    bad = violations(
        cat, [dict(http, config={"host": "app.example:80", "host-aliases": "a,b_c, ,d"})]
    )
    assert [(x.rule, x.action) for x in bad] == [
        ("http-host", Action.DENY),
        ("http-host-alias", Action.WARN),
    ]
    assert "app.example:80" not in bad[0].message and "':'" in bad[0].message
    assert "name(s) 2 of the comma-separated list" in bad[1].message
    assert violations(cat, [dict(http, configFrom=[{"name": "cm"}])]) == ()
    assert violations(catalog(multi("m"), http="dev"), [http]) == ()


def test_the_binders_shape_memo_is_bounded_in_count_and_in_key_size():
    cat = catalog(multi("m"))
    binder = Hosts(cat).binder(cat.host_groups[0])
    long_iface = ("x" * 600,)
    binder.bind([hi(interfaces=long_iface)])
    assert binder._shapes == {}  # a key built from 600 request characters is not kept
    for i in range(binder.MAX_SHAPES + 5):
        binder.bind([hi(version=f"0.{i}.0")])
    assert len(binder._shapes) <= binder.MAX_SHAPES
    # And a memoised shape answers exactly as a fresh binding does.
    assert [c.plugin.id for c in binder.bind([hi(name="a"), hi()])] == ["m", "m"]


def _warned(entries: list[dict], release: str | None = None) -> list:
    validator = build_validator(Policy.UPSTREAM, catalog=load_catalog(release))
    outcome = validator.check(workload(entries))
    assert outcome is not None
    return [v for v in outcome.violations if v.rule == "config-unread"]


def test_config_keys_the_host_never_reads_are_named_never_shown():
    # wasi_keyvalue/multiplexed/redis.rs reads url and prefix; nats.rs url;
    # wasmcloud_messaging/nats.rs subscriptions and consumer_group (v2.7.0)
    redis = entry(name="cache", version="0.2.0-draft",
                  config={"backend": "redis", "url": "redis://r:6379", "prefix": "p",
                          "password": "hunter2"})  # fmt: skip
    nats = entry(name="kv", version="0.2.0-draft",
                 config={"backend": "nats", "url": "nats://n:4222", "bucket": "b"})  # fmt: skip
    messaging = entry("wasmcloud", "messaging", version="0.2.0", interfaces=["handler"],
                      config={"subscriptions": "a.b", "credentials": "s3cr3t"})  # fmt: skip
    found = _warned([redis, nats, messaging])
    assert [(v.field, v.action) for v in found] == [
        (f"{P}[0].config.password", Action.WARN),
        (f"{P}[1].config.bucket", Action.WARN),
        (f"{P}[2].config.credentials", Action.WARN),
    ]
    assert "through its redis backend" in found[0].message
    assert "looks like a credential, and the host connects without it" in found[0].message
    assert "looks like a credential" not in found[1].message
    assert not any("hunter2" in v.message or "s3cr3t" in v.message for v in found)


def test_keys_that_are_read_or_reported_elsewhere_are_not_unread():
    config = entry("wasi", "config", version="0.2.0-rc.1", config={"anything": "x"})
    assert _warned([config]) == []  # wasi-config hands the whole map on
    # the plain NATS plugin reads neither: backend is backend-ignored's, url is unread
    plain = entry(version="0.2.0-draft", config={"backend": "redis", "url": "redis://r"})
    [unread] = _warned([plain])
    assert unread.field == f"{P}[0].config.url" and "'backend'" not in unread.message
    # what a release's plugin reads is that release's: consumer_group from v2.6.0
    grouped = entry("wasmcloud", "messaging", version="0.2.0", interfaces=["handler"],
                    config={"subscriptions": "a", "consumer_group": "g"})  # fmt: skip
    assert _warned([grouped], "wasmcloud@2.6") == []
    assert [v.field for v in _warned([grouped], "wasmcloud@2.5")] == [
        f"{P}[0].config.consumer_group"
    ]


def test_a_hostile_key_is_clipped_and_escaped_and_the_list_is_bounded():
    keys = {f"k{i}\x1b[2J" + "x" * 5000: "v" for i in range(40)}
    [unread] = _warned([entry(version="0.2.0-draft", config=keys)])
    assert "\x1b" not in unread.message and "and 30 more" in unread.message
    assert len(unread.message) < 1024 and len(unread.field) <= 512


def test_a_catalog_error_names_the_line_of_the_offending_key():
    text = (
        "hostGroups:\n  - name: g\n    plugins: []\nplugins:\n  - id: p\n    worlds:\n"
        "      - namespace: a\n        version: '0.2'\n        package: b\n"
    )
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, "cat.yaml")
    assert (info.value.line, info.value.path) == (8, "plugins.0.worlds.0.version")
    assert str(info.value).startswith("cat.yaml:8: plugins.0.worlds.0.version: '0.2' is not")
    with pytest.raises(CatalogError) as info:  # a missing key: the line of the item lacking it
        parse_catalog(text.replace("        package: b\n", ""), "cat.yaml")
    assert (info.value.line, info.value.path) == (7, "plugins.0.worlds.0.package")
