"""The ``bindcheck`` command: parse arguments, call the core, print, exit.

Exit codes: 0 ok, 1 denied (or warned with ``--fail-on-warnings``, a template of ours
skipped with ``--fail-on-skipped``, or a probe failed), 2 bad input or usage, 3
internal error. Each command computes its code from its counts in one place;
:func:`main` maps errors to codes.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from webhook import __version__, project_config
from webhook.cel.engines import DEFAULT_ENGINE, ENGINES
from webhook.core import Validator, build_validator
from webhook.errors import BindcheckError, ConfigError, UnknownRule
from webhook.facts import FRESH, Facts
from webhook.runtime import releases
from webhook.runtime.catalog_files import load_catalog
from webhook.text import did_you_mean, shown
from webhook.violations import Action, Policy

if TYPE_CHECKING:  # these modules load only for the commands that use them
    from webhook.api_server import Crds, Explain
    from webhook.cluster import Cluster
    from webhook.core import Judge

EXIT_OK, EXIT_DENIED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

DESCRIPTION = """\
Check wasmCloud workloads that import one host interface under several names
(hostInterfaces entries with a `name`), before a host fails them at deploy time.

  bindcheck check manifests/            CI gate: exit 1 when something is denied
  bindcheck resolve app.yaml            which plugin and backend serves each name
  bindcheck serve                       the HTTPS admission webhook
  bindcheck rules                       every rule, its action and what it checks

Without --catalog the host is wasmCloud's newest release (`bindcheck catalog show`);
--host wasmcloud@2.6 (or --catalog wasmcloud@2.6) predicts another release's hosts.
"""


_INVALID_CHOICE = re.compile(r"invalid choice: '(.*?)' \(choose from (.*)\)$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"bindcheck: error: {message}{self._suggestion(message)}\n")
        raise SystemExit(EXIT_USAGE)

    def _suggestion(self, message: str) -> str:
        """did-you-mean for a misspelt command, choice or flag (argparse before 3.14
        suggests nothing)."""
        choice = _INVALID_CHOICE.search(message)
        if choice:
            return did_you_mean(choice[1], re.findall(r"'([^']*)'", choice[2]))
        if message.startswith("unrecognized arguments: "):
            # The top parser reports a subcommand's leftovers: every parser's flags count.
            flags = {*self._option_string_actions}
            for action in self._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for sub in action.choices.values():
                        flags.update(sub._option_string_actions)
            for word in message.removeprefix("unrecognized arguments: ").split():
                hint = did_you_mean(word.split("=", 1)[0], flags) if word.startswith("--") else ""
                if hint:
                    return hint
        return ""


def _rule_action(text: str) -> tuple[str, str]:
    rule, sep, action = text.partition("=")
    if not sep or action not in (*(a.value for a in Action), "off"):
        raise argparse.ArgumentTypeError(f"expected RULE=deny|warn|audit|off, got {text!r}")
    return rule, action


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not between 1 and 65535")
    return port


def _positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def _catalog_option(p: argparse.ArgumentParser, host_flag: bool = True) -> None:
    """``--catalog`` (and ``--host``, where the command has no listen address of that
    name): the hosts to predict, as a file, a release, or none; and ``--config``, the
    project file that may name them."""
    found = "only this FILE" if not host_flag else f"the nearest {project_config.FILE_NAME}"
    p.add_argument(
        "--config",
        metavar="FILE|none",
        help=f"project config (policy, host or catalog, rules, rule actions, excludes); flags "
        f"given here win over it; 'none' reads none (default: {found})",
    )
    p.add_argument(
        "--catalog",
        metavar="FILE|RELEASE",
        help="host catalog file, or a wasmCloud release (wasmcloud@2.6, wasmcloud@2.5.1, "
        f"wasmcloud@main); 'none' checks schema and naming only (default: {releases.DEFAULT}, "
        "the newest release)",
    )
    if host_flag:
        p.add_argument(
            "--host",
            dest="catalog",
            metavar="RELEASE",
            type=_release_name,
            help="the wasmCloud release the cluster's hosts run, e.g. wasmcloud@2.6 "
            f"(the same as --catalog RELEASE; default: {releases.DEFAULT})",
        )


def _release_name(value: str) -> str:
    try:
        releases.find(value)
    except releases.UnknownRelease as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _validator_options(p: argparse.ArgumentParser, host_flag: bool = True) -> None:
    p.add_argument(
        "--policy",
        choices=[x.value for x in Policy],
        help="naming policy: upstream is what the CRD enforces, strict the original design "
        f"(default: the config's, else {Policy.UPSTREAM.value})",
    )
    p.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="PATH",
        type=Path,
        help="extra CEL rule file, or directory of them (repeatable; default: none)",
    )
    _catalog_option(p, host_flag)
    p.add_argument(
        "--rule-action",
        action="append",
        default=[],
        type=_rule_action,
        metavar="RULE=ACTION",
        help="override a rule's action: deny, warn, audit or off (repeatable; "
        "default: each rule's own, see `bindcheck rules`)",
    )
    p.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default=DEFAULT_ENGINE,
        help="CEL engine (default: %(default)s)",
    )


def _output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE (default: stdout)"
    )


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files, directories (searched for *.yaml, *.yml, *.json) or - for stdin",
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files or directories matching GLOB, by path or name (repeatable; "
        "default: none, though node_modules and .git are always left out)",
    )


def _report_options(p: argparse.ArgumentParser) -> None:
    """How a check's findings are written: format, file, verbosity, colour."""
    p.add_argument(
        "--format",
        choices=["text", "json", "junit", "sarif", "github"],
        default="text",
        help="report format; github writes Actions annotations (default: %(default)s)",
    )
    _output_option(p)
    p.add_argument(
        "-q", "--quiet", action="store_true", help="only findings and the summary (default: off)"
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also list every skipped object: file, line, apiVersion, kind, name (default: off)",
    )
    p.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour text output: auto colours a terminal unless NO_COLOR is set "
        "(default: %(default)s)",
    )


def _crds_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--crds",
        metavar="chart|kustomize[@RELEASE]",
        help="how the cluster's runtime-operator CRDs were installed, and from which release "
        "(chart@2.6): each object then says whether that API server refuses it itself or "
        "admits it for the host to fail (default: with --kubeconfig the cluster's own, "
        "else the chart CRDs of the --host release; Helm never upgrades them)",
    )


def _cluster_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--kubeconfig", metavar="FILE", help=what)
    p.add_argument("--context", help="kubeconfig context (default: its current-context)")
    p.add_argument(
        "--timeout",
        type=_positive(float),
        default=30.0,
        help="seconds reading the cluster may take in all (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bindcheck",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bindcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="check manifest files (the CI gate)")
    _input_options(check)
    _validator_options(check)
    _report_options(check)
    check.add_argument(
        "--fail-on-warnings",
        action="store_true",
        help="exit 1 when anything has warnings, not only denials (default: off)",
    )
    _cluster_options(
        check,
        "check each workload against the hosts this cluster's Host objects describe (their "
        "labels and releases) instead of --host or --catalog (default: off)",
    )
    _crds_option(check)
    check.add_argument(
        "--debug",
        action="store_true",
        help="when a CEL rule cannot be evaluated on an object, also print the engine's own "
        "message to stderr (it may quote the object's values; default: off)",
    )
    check.add_argument(
        "--fail-on-skipped",
        action="store_true",
        help="exit 1 when a template or kustomize patch naming runtime.wasmcloud.dev was "
        "skipped unchecked (default: off)",
    )

    audit = sub.add_parser(
        "audit", help="judge every workload object in a cluster as the webhook would"
    )
    _cluster_options(
        audit,
        "kubeconfig to read (default: $KUBECONFIG, else ~/.kube/config); the workloads are "
        "checked against the cluster's own hosts unless --host or --catalog is given",
    )
    audit.add_argument("-n", "--namespace", help="audit one namespace (default: every namespace)")
    _validator_options(audit)
    _crds_option(audit)
    _report_options(audit)

    resolve = sub.add_parser("resolve", help="show which plugin and backend serves each name")
    _input_options(resolve)
    _catalog_option(resolve)
    _crds_option(resolve)
    resolve.add_argument(
        "--format", choices=["text", "json"], default="text", help="(default: %(default)s)"
    )
    _output_option(resolve)
    resolve.add_argument(
        "--probe",
        action="store_true",
        help="connect to each Redis and NATS backend, authenticating as configured, and check "
        "filesystem roots (default: off)",
    )
    resolve.add_argument(
        "--timeout",
        type=_positive(float),
        default=5.0,
        help="seconds all probes together may take (default: %(default)s)",
    )

    rules = sub.add_parser("rules", help="list every rule id, its action, policy and purpose")
    _validator_options(rules)
    rules.add_argument(
        "--format", choices=["text", "json"], default="text", help="(default: %(default)s)"
    )

    sub.add_parser("version", help="print the version")

    serve = sub.add_parser("serve", help="run the HTTPS admission webhook")
    serve.add_argument(
        "--host",
        default="0.0.0.0",  # noqa: S104 - a webhook serves the cluster
        help="address to listen on (default: %(default)s)",
    )
    serve.add_argument("--port", type=_port, default=8443, help="TCP port (default: %(default)s)")
    serve.add_argument(
        "--cert-dir",
        type=Path,
        default=Path("certs"),
        help="ca.crt, tls.crt and tls.key, created on first start when absent; reloaded "
        "when they change (default: %(default)s)",
    )
    serve.add_argument(
        "--client-ca",
        type=Path,
        help="require client certificates signed by this CA (default: off)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="info logs one line per decision (default: %(default)s)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=_positive(int),
        default=3 * 1024 * 1024,
        help="refuse larger requests with 413 (default: 3 MiB)",
    )
    serve.add_argument(
        "--max-header-bytes",
        type=_positive(int),
        default=1024 * 1024,
        help="refuse requests whose URL and headers are larger with 431 (default: 1 MiB)",
    )
    serve.add_argument(
        "--request-timeout",
        type=_positive(float),
        default=10.0,
        help="seconds a client has for a TLS handshake, and for a whole request (default: 10)",
    )
    serve.add_argument(
        "--reload-interval",
        type=_positive(float),
        default=2.0,
        help="seconds between checks of certificates, --catalog and --rules for changes "
        "(default: 2)",
    )
    serve.add_argument(
        "--max-connections",
        type=_positive(int),
        default=1000,
        help="open connections; past it the idlest is closed, never the newest (default: 1000)",
    )
    serve.add_argument(
        "--max-in-flight",
        type=_positive(int),
        default=200,
        help="requests being answered at once; past it 503 (default: 200)",
    )
    serve.add_argument(
        "--no-ratcheting",
        dest="ratcheting",
        action="store_false",
        help="on UPDATE, deny violations the old object already had too (default: they warn)",
    )
    serve.add_argument(
        "--discover-hosts",
        action="store_true",
        help="read the cluster's Host objects and judge each workload against the releases "
        "of the hosts its hostSelector matches; the pod's service account unless "
        "--kubeconfig (default: off)",
    )
    serve.add_argument(
        "--kubeconfig",
        type=Path,
        help="with --discover-hosts: the cluster to read Hosts from (default: the pod's "
        "service account)",
    )
    serve.add_argument("--context", help="with --kubeconfig: the context (default: current)")
    serve.add_argument(
        "--hosts-interval",
        type=_positive(float),
        default=30.0,
        help="with --discover-hosts: seconds between reads of the Host objects (default: 30)",
    )
    _validator_options(serve, host_flag=False)  # --host is the listen address

    catalog = sub.add_parser("catalog", help="show the host catalog, or its JSON Schema")
    catalog_sub = catalog.add_subparsers(
        dest="catalog_command", required=True, parser_class=_Parser
    )
    show = catalog_sub.add_parser(
        "show", help="the effective host: plugins in binding order, worlds, backends"
    )
    _catalog_option(show)
    show.add_argument(
        "--format", choices=["text", "json"], default="text", help="(default: %(default)s)"
    )
    catalog_sub.add_parser("schema", help="the catalog format as JSON Schema, for editors and CI")

    export = sub.add_parser(
        "export", help="the checks as ValidatingAdmissionPolicies, enforced by the API server"
    )
    export_sub = export.add_subparsers(dest="export_command", required=True, parser_class=_Parser)
    vap = export_sub.add_parser(
        "vap",
        help="ValidatingAdmissionPolicy and binding YAML, one pair per action "
        "(Kubernetes 1.30+); says on stderr which checks it cannot express",
    )
    _validator_options(vap)
    vap.add_argument(
        "--failure-policy",
        choices=["Fail", "Ignore"],
        default="Fail",
        help="what the API server does when a policy cannot be evaluated (default: %(default)s)",
    )
    vap.add_argument(
        "--name-prefix",
        default="bindcheck",
        help="prefix of the policies' and bindings' names (default: %(default)s)",
    )
    _output_option(vap)
    vap.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="leave out the list of checks the policies cannot express (default: off)",
    )

    certs = sub.add_parser("certs", help="write a CA and a serving certificate for a Service")
    certs.add_argument(
        "--service", required=True, help="the webhook's Service name (required, no default)"
    )
    certs.add_argument(
        "--namespace", required=True, help="the Service's namespace (required, no default)"
    )
    certs.add_argument(
        "--out", type=Path, default=Path("certs"), help="directory to write (default: %(default)s)"
    )
    return parser


def _settle(args: argparse.Namespace) -> None:
    """Fill what the flags leave unset from the project config, then from the defaults.
    A flag wins; lists add to the config's; rule actions override it rule by rule."""
    config = _project_config(args)
    args.project = config
    if config is not None:
        if getattr(args, "policy", "") is None:
            args.policy = config.policy
        cluster = (
            args.command == "audit"  # always reads a cluster, $KUBECONFIG's by default
            or getattr(args, "kubeconfig", None)
            or getattr(args, "discover_hosts", False)
        )
        if args.catalog is None and not cluster:  # the cluster's hosts replace the file's
            args.catalog = config.catalog
        if hasattr(args, "rules"):
            args.rules = [Path(r) for r in config.rules] + args.rules
        if hasattr(args, "rule_action"):
            args.rule_action = [*config.rule_actions.items(), *args.rule_action]
        if hasattr(args, "exclude"):
            args.exclude = [*config.exclude, *args.exclude]
        if hasattr(args, "fail_on_warnings"):
            args.fail_on_warnings = args.fail_on_warnings or config.fail_on_warnings
            args.fail_on_skipped = args.fail_on_skipped or config.fail_on_skipped
    if getattr(args, "policy", "") is None:
        args.policy = Policy.UPSTREAM.value


def _project_config(args: argparse.Namespace) -> project_config.ProjectConfig | None:
    if not hasattr(args, "config") or args.config == "none":
        return None
    if args.config is not None:
        return project_config.load(Path(args.config))
    if args.command == "serve":  # a server's settings never depend on where it started
        return None
    found = project_config.find(Path.cwd())
    return project_config.load(found) if found is not None else None


def make_validator(args: argparse.Namespace, facts: Facts = FRESH) -> Validator:
    """The validator the flags describe; ``facts``: what it remembers between reviews."""
    final = dict(args.rule_action)  # the last word on each rule, the command line's
    actions = {r: Action(a) for r, a in final.items() if a != "off"}
    disabled = [r for r, a in final.items() if a == "off"]
    try:
        return build_validator(
            policy=Policy(args.policy or Policy.UPSTREAM.value),  # unsettled: a library caller
            extra_rule_dirs=args.rules,
            catalog=load_catalog(getattr(args, "catalog", None)),
            actions=actions,
            disabled=disabled,
            engine=args.engine,
            facts=facts,
        )
    except UnknownRule as exc:
        config: project_config.ProjectConfig | None = getattr(args, "project", None)
        given = {r for r, _ in args.rule_action[len(config.rule_actions) :]} if config else set()
        if config is None or exc.rule_id not in config.rule_actions or exc.rule_id in given:
            raise
        raise config.error(f"ruleActions.{exc.rule_id}", str(exc)) from None


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """Where a report goes; a FILE that cannot be written is a usage error."""
    if path is None:
        yield sys.stdout
        return
    try:
        f = Path(path).open("w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    with f:
        yield f


def _use_color(choice: str, out: TextIO) -> bool:
    if choice != "auto":
        return choice == "always"
    return out.isatty() and not os.environ.get("NO_COLOR")


def _check(args: argparse.Namespace) -> int:
    from webhook.checking import run_check
    from webhook.inputs import Inputs
    from webhook.memo import Remembering
    from webhook.report import FORMATS, Options

    # Files repeat entries too (one chart's many workloads); their objects come from
    # YAML, so the memo prints them with marshal.
    validator = make_validator(args, Remembering())
    cluster = None
    if args.kubeconfig:
        from webhook.cluster import Cluster, load_kubeconfig

        _catalog_for_hosts("--kubeconfig", args.catalog, validator)
        cluster = Cluster(load_kubeconfig(args.kubeconfig, args.context), args.timeout)
    judge = _cluster_hosts(validator, cluster) if cluster is not None else validator
    explain = _api_server(args.crds, validator, cluster)
    with _output(args.output) as out:
        options = Options(args.quiet, args.verbose, _use_color(args.color, out))
        reporter = FORMATS[args.format](out, validator.rule_descriptions, options)
        with _engine_messages(args.debug):
            summary = run_check(Inputs(args.paths, args.exclude), judge, reporter, explain)
    for error in summary.errors:
        if args.format != "text" or args.output:  # the text report already lists them
            sys.stderr.write(f"bindcheck: {error}\n")
    if not (summary.objects or summary.skipped or summary.errors or summary.skipped_files):
        sys.stderr.write(
            f"bindcheck: warning: no manifests found in {' '.join(args.paths)} "
            "(searched *.yaml, *.yml, *.json)\n"
        )
    return summary.exit_code(args.fail_on_warnings, args.fail_on_skipped)


def _api_server(
    crds: str | None, validator: Validator, cluster: Cluster | None = None
) -> Explain | None:
    """What the API server with ``crds`` (the cluster's own, when one is read and
    ``--crds`` is not given) and the host make of each outcome; ``None`` (with a note)
    when bindcheck does not run the CRD's own rules and so cannot tell."""
    from webhook.api_server import admission, parse_crds

    upstream = validator.catalog.upstream if validator.catalog else None
    tag = upstream.release if upstream is not None else None
    host = releases.find(releases.PREFIX + (tag or "main")) if upstream else None
    chosen = _cluster_crds(cluster) if cluster is not None and crds is None else None
    if chosen is None:
        chosen = parse_crds(crds or "chart", host or releases.find(releases.DEFAULT))
    if chosen.rules and not validator.crd_rules_run:
        sys.stderr.write(
            f"bindcheck: note: {chosen.described} hold rules that do not run here (policy "
            "strict, or a rule turned off), so findings do not say what the API server does\n"
        )
        return None
    rules, hosts_known = validator.crd_rules, validator.catalog is not None
    return lambda outcome: admission(outcome, chosen, rules, hosts_known)


def _cluster_crds(cluster: Cluster) -> Crds | None:
    """The runtime-operator CRDs the cluster holds; ``None``, with a note, when they cannot
    be read (no right to get CRDs, or none installed)."""
    from webhook.api_server import Crds
    from webhook.cluster import ClusterError
    from webhook.crd import GROUP, PLURALS

    definitions = {}
    try:
        for kind, plural in PLURALS.items():
            path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{GROUP}"
            definitions[kind] = cluster.get(path)
    except ClusterError as exc:
        sys.stderr.write(
            f"bindcheck: note: cannot read the cluster's CRDs ({exc}); findings say what the "
            "chart CRDs of the hosts' release would do (--crds sets them)\n"
        )
        return None
    return Crds.as_read(definitions, shown(cluster.credentials.server, 120))


@contextlib.contextmanager
def _engine_messages(shown: bool) -> Iterator[None]:
    """With ``shown``, the engine's message for each rule that fails on an object goes
    to stderr for the duration of one run."""
    from webhook.cel.rules import ENGINE_LOG

    if not shown:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("bindcheck: debug: %(message)s"))
    ENGINE_LOG.addHandler(handler)
    ENGINE_LOG.setLevel(logging.DEBUG)
    ENGINE_LOG.disabled = False
    try:
        yield
    finally:
        ENGINE_LOG.disabled = True
        ENGINE_LOG.removeHandler(handler)
        ENGINE_LOG.setLevel(logging.NOTSET)


def _catalog_for_hosts(flag: str, catalog: str | None, validator: Validator) -> None:
    """With the cluster's hosts, ``--catalog`` may only name a file that extends a
    release: it then describes that release's hosts (webhook/fleet.py)."""
    if catalog is None:
        return
    if catalog == "none" or releases.is_release_name(catalog):
        raise ConfigError(
            f"{flag} checks against the releases the cluster's hosts run: drop --host/"
            "--catalog, or give a catalog file that extends the release of some of them"
        )
    if validator.catalog is None or validator.catalog.extends is None:
        raise ConfigError(
            f"{flag} with --catalog takes a catalog that extends a release (extends: "
            f"{releases.DEFAULT}): it then describes the cluster's hosts of that release"
        )


def _cluster_hosts(validator: Validator, cluster: Cluster) -> Judge:
    """The cluster's Host objects as the hosts to check against (webhook/fleet.py); the
    validator's own catalog when the cluster has none, with a warning."""
    from webhook.cluster import ClusterError
    from webhook.fleet import Fleet, read_hosts
    from webhook.memo import Remembering

    try:
        hosts = read_hosts(cluster)
    except ClusterError as exc:
        if exc.status != 404:  # 404: no Host CRD, so no runtime-operator: no hosts
            raise ConfigError(f"cannot read the cluster's Host objects: {exc}") from None
        hosts = []
    if not hosts:
        used = validator.catalog.source if validator.catalog else "no catalog"
        sys.stderr.write(
            "bindcheck: warning: the cluster has no Host objects (no runtime-operator, no "
            f"hosts yet, or no right to list them): checked against {used}\n"
        )
        return validator
    for host in hosts:
        if host.note:
            sys.stderr.write(
                f"bindcheck: warning: Host {host.namespace}/{host.name}: {host.note}\n"
            )
    fleet = Fleet(validator, hosts, Remembering)
    against = ", ".join(
        f"{v.catalog.source} ({len(v.catalog.host_groups)} group(s))"
        for _, v in fleet.validators if v.catalog
    )  # fmt: skip
    sys.stderr.write(f"bindcheck: {len(hosts)} Host object(s): checking against {against}\n")
    return fleet


def _audit(args: argparse.Namespace) -> int:
    from webhook.auditing import run_audit
    from webhook.cluster import Cluster, load_kubeconfig
    from webhook.memo import Remembering
    from webhook.report import FORMATS, Options

    validator = make_validator(args, Remembering())
    cluster = Cluster(load_kubeconfig(args.kubeconfig, args.context), args.timeout)
    judge = validator if args.catalog else _cluster_hosts(validator, cluster)
    explain = _api_server(args.crds, validator, cluster)
    with _output(args.output) as out:
        options = Options(args.quiet, args.verbose, _use_color(args.color, out))
        reporter = FORMATS[args.format](out, validator.rule_descriptions, options)
        summary = run_audit(cluster, judge, reporter, args.namespace, explain)
    for error in summary.errors:
        if args.format != "text" or args.output:  # the text report already lists them
            sys.stderr.write(f"bindcheck: {error}\n")
    if summary.denied:
        sys.stderr.write(
            f"bindcheck: {summary.denied} object(s) would be refused on creation; on update "
            "the webhook's ratcheting lets them stand while the failing entries are unchanged\n"
        )
    return summary.exit_code()


def _resolve(args: argparse.Namespace) -> int:
    from webhook.inputs import Inputs
    from webhook.resolving import run_resolve

    catalog = load_catalog(args.catalog)
    if catalog is None:
        raise ConfigError("resolve needs a host catalog; drop --catalog none")
    validator = build_validator(catalog=catalog)
    explain = _api_server(args.crds, validator)
    with _output(args.output) as out:
        return run_resolve(
            Inputs(args.paths, args.exclude),
            validator,
            args.format,
            args.probe,
            args.timeout,
            out,
            explain,
        )


def _rules(args: argparse.Namespace) -> int:
    import json

    table = make_validator(args).rule_table()
    if args.format == "json":
        rows = [
            {"id": r.id, "action": str(r.action), "policy": r.policy, "where": r.where,
             "description": r.description}
            for r in table
        ]  # fmt: skip
        sys.stdout.write(json.dumps({"rules": rows}, indent=2) + "\n")
        return EXIT_OK
    width = max(len(r.id) for r in table)
    sys.stdout.write(f"{'RULE':<{width}}  {'ACTION':<6}  {'POLICY':<8}  WHAT IT CHECKS\n")
    for r in table:
        sys.stdout.write(f"{r.id:<{width}}  {r.action!s:<6}  {r.policy:<8}  {r.description}\n")
    sys.stdout.write(
        f"\n{len(table)} rules (policy {args.policy}). Change an action with "
        "--rule-action RULE=deny|warn|audit|off.\n"
    )
    return EXIT_OK


def _catalog(args: argparse.Namespace) -> int:
    from webhook import catalog_view

    if args.catalog_command == "schema":
        sys.stdout.write(catalog_view.schema())
        return EXIT_OK
    shown = load_catalog(args.catalog)
    if shown is None:
        raise ConfigError("catalog show needs a catalog; 'none' has nothing to show")
    render = catalog_view.show_json if args.format == "json" else catalog_view.show_text
    sys.stdout.write(render(shown))
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    import yaml

    from webhook.export.vap import export_vap

    exported = export_vap(make_validator(args), args.failure_policy, args.name_prefix)
    with _output(args.output) as out:
        out.write(
            f"# bindcheck {__version__} export vap: re-export when the catalog or rules change\n"
        )
        out.write(yaml.safe_dump_all(exported.documents, sort_keys=False, width=1_000_000))
    if args.quiet:
        return EXIT_OK
    sys.stderr.write(
        "not expressed by the policies (the webhook and `bindcheck check` run them):\n"
    )
    for what, why in sorted(exported.not_expressed.items()):
        sys.stderr.write(f"  {what}: {why}\n")
    return EXIT_OK


def _certs(args: argparse.Namespace) -> int:
    from webhook.certs import write_service_certs

    bundle = write_service_certs(args.out, args.service, args.namespace)
    sys.stderr.write(f"wrote ca.crt, tls.crt, tls.key to {args.out}\ncaBundle:\n")
    sys.stdout.write(bundle + "\n")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from webhook.memo import Remembering
    from webhook.serving import run_server

    if (args.kubeconfig or args.context) and not args.discover_hosts:
        raise ConfigError("--kubeconfig and --context are for --discover-hosts")

    # Every review is read by orjson: its bytes print each entry (webhook/memo/prints.py).
    def facts() -> Remembering:
        return Remembering(json_prints=True)

    def build() -> Validator:
        return make_validator(args, facts())

    first = build()
    if args.discover_hosts:
        _catalog_for_hosts("--discover-hosts", args.catalog, first)
    return run_server(args, first, build, facts)


def _version(_: argparse.Namespace) -> int:
    sys.stdout.write(f"bindcheck {__version__}\n")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check,
    "resolve": _resolve,
    "audit": _audit,
    "rules": _rules,
    "version": _version,
    "serve": _serve,
    "catalog": _catalog,
    "export": _export,
    "certs": _certs,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _settle(args)
        return COMMANDS[args.command](args)
    except BindcheckError as exc:
        sys.stderr.write(f"bindcheck: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `bindcheck check . | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # what a process SIGPIPE ends returns, as `yes | head` does
    except Exception as exc:  # a bug: say so briefly, never a bare traceback
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        sys.stderr.write(
            f"bindcheck: internal error: {type(exc).__name__} at "
            f"{Path(frame.filename).name}:{frame.lineno}. This is a bug; please report it "
            "with the command you ran.\n"
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
