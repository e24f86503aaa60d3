"""The ``bindcheck`` command: parse arguments, call the core, print, exit.

Exit codes (decided in one place, :func:`main`): 0 ok, 1 denied or a probe
failed, 2 bad input or usage, 3 internal error.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from webhook import __version__
from webhook.cel.engines import DEFAULT_ENGINE, ENGINES
from webhook.core import Validator, build_validator
from webhook.errors import BindcheckError, ConfigError
from webhook.runtime.catalog import load_catalog
from webhook.violations import Action, Policy

EXIT_OK, EXIT_DENIED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"bindcheck: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


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


def _validator_options(p: argparse.ArgumentParser, catalog: bool = True) -> None:
    p.add_argument(
        "--policy",
        choices=[x.value for x in Policy],
        default=Policy.UPSTREAM.value,
        help="naming policy (default: upstream, what the CRD enforces)",
    )
    p.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="DIR",
        type=Path,
        help="extra directory of CEL rule files (repeatable)",
    )
    if catalog:
        p.add_argument(
            "--catalog",
            metavar="FILE",
            help="host catalog file; 'none' for schema and naming only "
            "(default: the embedded standard host)",
        )
    p.add_argument(
        "--rule-action",
        action="append",
        default=[],
        type=_rule_action,
        metavar="RULE=ACTION",
        help="override a rule's action: deny|warn|audit|off",
    )
    p.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default=DEFAULT_ENGINE,
        help="CEL engine (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bindcheck", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"bindcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="check manifest files (for CI)")
    check.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files, directories (recursive *.yaml|*.yml|*.json) or - for stdin",
    )
    _validator_options(check)
    check.add_argument("--format", choices=["text", "json", "junit", "sarif"], default="text")
    check.add_argument("--output", "-o", metavar="FILE", help="write the report here, not stdout")

    resolve = sub.add_parser("resolve", help="show what a host would bind each name to")
    resolve.add_argument("paths", nargs="+", metavar="PATH")
    resolve.add_argument("--catalog", metavar="FILE")
    resolve.add_argument("--format", choices=["text", "json"], default="text")
    resolve.add_argument(
        "--probe",
        action="store_true",
        help="connect to each Redis/NATS backend and report reachability",
    )
    resolve.add_argument("--timeout", type=float, default=2.0, help="probe timeout in seconds")

    serve = sub.add_parser("serve", help="run the HTTPS admission webhook")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a webhook serves the cluster
    serve.add_argument("--port", type=_port, default=8443, help="TCP port (default: 8443)")
    serve.add_argument("--cert-dir", type=Path, default=Path("certs"))
    serve.add_argument("--client-ca", type=Path, help="require client certs signed by this CA")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
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
        help="deny old violations on UPDATE too",
    )
    _validator_options(serve)

    catalog = sub.add_parser("catalog", help="show the host catalog, or its JSON Schema")
    catalog_sub = catalog.add_subparsers(
        dest="catalog_command", required=True, parser_class=_Parser
    )
    show = catalog_sub.add_parser(
        "show", help="the effective host: plugins in binding order, worlds, backends"
    )
    show.add_argument(
        "--catalog", metavar="FILE", help="host catalog file (default: the embedded standard host)"
    )
    show.add_argument(
        "--format", choices=["text", "json"], default="text", help="output format (default: text)"
    )
    catalog_sub.add_parser("schema", help="the catalog format as JSON Schema, for editors and CI")

    certs = sub.add_parser("certs", help="write a CA and a serving certificate for a Service")
    certs.add_argument("--service", required=True)
    certs.add_argument("--namespace", required=True)
    certs.add_argument("--out", type=Path, default=Path("certs"))
    return parser


def make_validator(args: argparse.Namespace) -> Validator:
    actions = {r: Action(a) for r, a in args.rule_action if a != "off"}
    disabled = [r for r, a in args.rule_action if a == "off"]
    return build_validator(
        policy=Policy(args.policy),
        extra_rule_dirs=args.rules,
        catalog=load_catalog(getattr(args, "catalog", None)),
        actions=actions,
        disabled=disabled,
        engine=args.engine,
    )


def _run(args: argparse.Namespace) -> int:
    if args.command == "check":
        from webhook.checking import check_paths
        from webhook.report import FORMATS

        report = check_paths(args.paths, make_validator(args))
        text = FORMATS[args.format](report)
        if args.output:
            try:
                Path(args.output).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        else:
            sys.stdout.write(text)
        for error in report.errors:
            if args.format != "text":  # text already lists them
                sys.stderr.write(f"bindcheck: {error}\n")
        if not (report.results or report.skipped or report.errors):
            sys.stderr.write(f"bindcheck: warning: no documents found in {' '.join(args.paths)}\n")
        return report.exit_code()
    if args.command == "resolve":
        from webhook.resolving import run_resolve

        return run_resolve(
            args.paths, load_catalog(args.catalog), args.format, args.probe, args.timeout
        )
    if args.command == "catalog":
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
    if args.command == "certs":
        from webhook.certs import write_service_certs

        bundle = write_service_certs(args.out, args.service, args.namespace)
        sys.stderr.write(f"wrote ca.crt, tls.crt, tls.key to {args.out}\ncaBundle:\n")
        sys.stdout.write(bundle + "\n")
        return EXIT_OK
    if args.command == "serve":
        from webhook.serving import run_server

        return run_server(args, make_validator(args), lambda: make_validator(args))
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (ConfigError, BindcheckError) as exc:
        sys.stderr.write(f"bindcheck: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
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
