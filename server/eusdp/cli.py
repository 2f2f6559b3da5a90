"""The ``eusdp`` command: validate | infer | export | query | serve | wikidata.

Each subcommand is a thin shell around a domain function; this module only
reads arguments, prints and picks the exit status: 0 done, 1 the data or the
query is at fault (with ``file:line`` and no traceback; a refused or failed
SERVICE too), 2 the command line is. ``wikidata check`` exits 1 when a link
differs from Wikidata and 3 when Wikidata cannot be reached or answers garbage.
Settings come from the defaults, then ``EUSDP_*`` variables, then the flags.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from . import __version__
from .catalog import (
    BadParameter,
    CannedQuery,
    CatalogError,
    UnknownQuery,
    load_catalog,
    load_query,
    syntax_position,
)
from .config import Settings, load_settings
from .export import (
    FORMATS,
    TRIPLE_FORMATS,
    WHATS,
    ExportError,
    export,
    jsonld_context,
    new_graph,
    prefixes,
    serialize,
)
from .federation import FederationError, ServiceFailed, check_http_url
from .inference import infer_cached, write_atomic
from .loader import DataError, load_dataset, merged, project_sources
from .store import Store, build_store
from .terms import to_rdflib
from .validation import InvalidData

RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "xml": ox.QueryResultsFormat.XML,
}
TABLE = "table"
QUERY_FORMATS = (TABLE, *RESULT_FORMATS, *TRIPLE_FORMATS)


class UsageError(Exception):
    """A command line that makes no sense (exit status 2)."""


# --- the parser ----------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    """Flags every subcommand takes, before or after its name (absent flags stay unset)."""
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--ontology-dir", type=Path, help="folder of eusdp.ttl and shapes.ttl")
    common.add_argument("--data-dir", type=Path, help="folder of the data (*.ttl)")
    common.add_argument("--queries-dir", type=Path, help="folder of the canned queries (*.rq)")
    cache = common.add_mutually_exclusive_group()
    cache.add_argument("--cache-dir", type=Path, help="folder of the inference cache")
    cache.add_argument("--no-cache", action="store_true", help="always run the reasoner")
    common.add_argument("--base", help="base IRI of instances and graphs")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="eusdp",
        parents=[common],
        description="Knowledge graph of the EU's Security and Defence Partnerships.",
    )
    parser.add_argument("--version", action="version", version=f"eusdp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("validate", parents=[common], help="check the data against the shapes")
    sub.add_parser("infer", parents=[common], help="build the OWL-RL closure and report on it")

    p = sub.add_parser("export", parents=[common], help="write the graph in an RDF syntax")
    p.add_argument("--format", choices=FORMATS, default="turtle")
    p.add_argument("--what", choices=WHATS, default="all", help="asserted, inferred or all")
    p.add_argument("--output", "-o", type=Path, help="file to write (atomically); default stdout")

    p = sub.add_parser("query", parents=[common], help="run SPARQL, a .rq file or a canned query")
    p.add_argument("query", nargs="?", help="SPARQL text, a .rq file or a canned query's name")
    p.add_argument("-f", "--file", type=Path, help="read the query from this file ('-': stdin)")
    p.add_argument(
        "-p", "--param", action="append", default=[], metavar="NAME=VALUE",
        help="a parameter of the query (repeatable)",
    )
    p.add_argument("--format", choices=QUERY_FORMATS, help="table (default), json... or turtle...")
    p.add_argument("--no-infer", action="store_true", help="asserted triples only")

    p = sub.add_parser("wikidata", parents=[common], help="check or suggest Wikidata links")
    wikidata = p.add_subparsers(dest="wikidata_command", required=True, metavar="ACTION")
    for name, helptext in (
        ("check", "compare every linked item with Wikidata (exit 1 if any differs, 3 if "
                  "Wikidata cannot be reached)"),
        ("suggest", "list entities without a link, with candidate items by English label"),
    ):
        action = wikidata.add_parser(name, parents=[common], help=helptext)
        action.add_argument(
            "--endpoint", help="Wikidata's SPARQL endpoint (default: setting wikidata_endpoint)"
        )
        action.add_argument("--json", action="store_true", help="JSON for programs")
        action.add_argument(
            "--batch-size", type=int, default=50, metavar="N", help="items per request"
        )

    p = sub.add_parser("serve", parents=[common], help="start the SPARQL endpoint and pages")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument(
        "--store-dir", type=Path, metavar="DIR",
        help="keep the store on disk in DIR (built once per content, read by every worker)",
    )
    p.add_argument(
        "--graph", action="append", default=[], metavar="IRI=FILE",
        help="serve a further RDF file as a named graph (repeatable)",
    )
    p.add_argument(
        "--access-log", action="store_true", default=None,
        help="write one line per request to stderr (setting access_log)",
    )
    return parser


def settings_from(args: argparse.Namespace, env: dict[str, str]) -> Settings:
    """Defaults, then the environment, then the flags that were given."""
    overrides: dict[str, Any] = {}
    flags = (
        "ontology_dir", "data_dir", "queries_dir", "cache_dir", "store_dir", "host", "port",
        "access_log",
    )
    for flag in flags:
        if getattr(args, flag, None) is not None:
            overrides[flag] = getattr(args, flag)
    if getattr(args, "no_cache", False):
        overrides["cache_dir"] = None
    if getattr(args, "base", None):
        overrides["base_iri"] = args.base
    graphs = getattr(args, "graph", [])
    if graphs:
        overrides["extra_graphs"] = tuple(_graph_pair(g) for g in graphs)
    try:
        return load_settings(env, **overrides)
    except ValueError as exc:  # a malformed EUSDP_* variable or --base
        raise UsageError(str(exc)) from None


def _graph_pair(raw: str) -> tuple[str, Path]:
    iri, sep, path = raw.partition("=")
    if not sep or not iri or not path:
        raise UsageError(f"--graph: expected IRI=FILE, got {raw!r}")
    return iri, Path(path)


# --- main ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error: argparse has printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        settings = settings_from(args, dict(os.environ))
        return COMMANDS[args.command](args, settings)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        return _fail(str(exc), status=2)
    except UnknownQuery as exc:
        return _fail(_unknown(exc))
    except (DataError, CatalogError, BadParameter, ExportError, FederationError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or 'eusdp'}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        return 130


def _unknown(exc: UnknownQuery) -> str:
    """The error, and when nothing looks close, every name there is to choose from."""
    if exc.suggestions:
        return str(exc)
    return f"{exc}; the canned queries are: {', '.join(exc.available) or '(none)'}"


def _fail(message: str, status: int = 1) -> int:
    print(f"eusdp: {message}" if status == 2 else message, file=sys.stderr)
    return status


# --- validate, infer, export, serve ----------------------------------------------------------


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    """SHACL and consistency: 0 when the data conforms, 1 when it does not."""
    from .validation import validate  # pyshacl is slow to import: only when asked for

    report = validate(settings)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def cmd_infer(args: argparse.Namespace, settings: Settings) -> int:
    """Build (or fetch from the cache) the closure and say what the reasoner did."""
    sources = project_sources(settings)
    dataset = load_dataset(sources)
    asserted = merged(dataset, sources)
    _, report = infer_cached(asserted, sources, settings.cache_dir)
    for line in report.lines():
        print(line)
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    data = export(build_store(settings), what=args.what, fmt=args.format)
    _emit(data, args.output)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Start the web server, which lives in ``eusdp.serve`` (imported only when asked for)."""
    try:
        module = importlib.import_module("eusdp.serve")
    except ModuleNotFoundError as exc:
        if exc.name != "eusdp.serve":
            raise
        return _fail("serve is not available: this build has no eusdp.serve module")
    try:
        result = module.serve(settings)
    except InvalidData as exc:
        print("eusdp: the data is invalid; not serving it:", file=sys.stderr)
        print("\n".join(exc.report.lines()), file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


def _emit(data: bytes, output: Path | None = None) -> None:
    """Write bytes to ``output`` atomically, or to stdout."""
    if output is not None:
        write_atomic(output, data)
        return
    if not data.endswith(b"\n"):  # a terminal's prompt should not follow on the same line
        data += b"\n"
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        buffer.write(data)
        buffer.flush()


# --- query ----------------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    label, text, bindings = _resolve(args, settings)
    store = build_store(settings)
    try:
        result = store.query(text, infer=not args.no_infer, bindings=bindings)
    except SyntaxError as exc:
        line, column, message = syntax_position(exc, text)
        where = f"{label}:{line}:{column}" if line is not None else label
        return _fail(f"{where}: SPARQL syntax error: {message}")
    except RuntimeError as exc:  # e.g. a parameter the query does not return
        return _fail(f"{label}: {exc}")
    return _print_result(result, args.format, text, store)


def _resolve(args: argparse.Namespace, settings: Settings) -> tuple[str, str, dict[str, Any]]:
    """The query to run: (label for messages, text, bindings)."""
    params = dict(_param_pair(p) for p in args.param)
    if args.file is not None and args.query is not None:
        raise UsageError("give a query or --file, not both")
    if args.file is None and args.query is None:
        raise UsageError("give a query: SPARQL text, a .rq file or a canned query's name")
    if args.file is not None and str(args.file) == "-":
        return _adhoc("<stdin>", sys.stdin.read(), params)
    if args.file is not None:
        return _canned(load_query(args.file), params)
    query: str = args.query
    if query.endswith(".rq"):
        if not Path(query).is_file():
            raise CatalogError(Path(query), "no such query file")
        return _canned(load_query(Path(query)), params)
    if _NAME.fullmatch(query):
        return _canned(load_catalog(settings.queries_dir).get(query), params)
    return _adhoc("<query>", query, params)


def _adhoc(label: str, text: str, params: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    if params:
        raise UsageError("-p works with canned queries and .rq files, not with query text")
    return label, text, {}


def _canned(query: CannedQuery, params: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    return str(query.path), query.text, dict(query.bind(params))


def _param_pair(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition("=")
    if not sep or not name:
        raise UsageError(f"-p: expected NAME=VALUE, got {raw!r}")
    return name.strip(), value


def _print_result(result: Any, fmt: str | None, text: str, store: Store) -> int:
    context = jsonld_context(store.settings)
    if isinstance(result, ox.QueryTriples):
        fmt = fmt or "turtle"
        if fmt not in TRIPLE_FORMATS:
            raise UsageError(f"this query returns a graph: use {', '.join(TRIPLE_FORMATS)}")
        graph = new_graph(context)
        for triple in result:
            graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate),
                       to_rdflib(triple.object)))
        _emit(serialize(graph, fmt, context))
        return 0
    fmt = fmt or TABLE
    if fmt in TRIPLE_FORMATS:
        kinds = ", ".join([TABLE, *RESULT_FORMATS])
        raise UsageError(f"this query returns solutions, not a graph: use {kinds}")
    if fmt != TABLE:
        _emit(result.serialize(format=RESULT_FORMATS[fmt]))
        return 0
    names = Compactor({**prefixes(context), **query_prefixes(text)})
    if isinstance(result, ox.QueryBoolean):
        print("true" if bool(result) else "false")
    else:
        for line in render_table(result, names):
            print(line)
    return 0


# --- the table for people -------------------------------------------------------------------

_XSD = "http://www.w3.org/2001/XMLSchema#"
#: Datatypes whose lexical form speaks for itself in a table.
_BARE = {_XSD + t for t in ("string", "integer", "decimal", "double", "boolean", "date",
                            "dateTime", "gYear", "gYearMonth")}
_PREFIX_DECL = re.compile(r"PREFIX\s+([A-Za-z][\w.\-]*)?:\s*<([^>\s]*)>", re.IGNORECASE)
_LOCAL = re.compile(r"[\w][\w.\-/]*(?<!\.)")


def query_prefixes(text: str) -> dict[str, str]:
    """The PREFIX declarations of a query, so the table speaks the query's language."""
    return {(m.group(1) or ""): m.group(2) for m in _PREFIX_DECL.finditer(text)}


class Compactor:
    """Shortens IRIs to ``prefix:local`` with the longest namespace that fits."""

    def __init__(self, names: dict[str, str]) -> None:
        self._names = sorted(names.items(), key=lambda item: -len(item[1]))

    def __call__(self, iri: str) -> str:
        for prefix, namespace in self._names:
            if namespace and iri.startswith(namespace) and _LOCAL.fullmatch(iri[len(namespace):]):
                return f"{prefix}:{iri[len(namespace):]}"
        return f"<{iri}>"


def show(term: Any, compact: Callable[[str], str]) -> str:
    """One cell: compact IRIs, plain numbers and dates, quoted tagged text; one line always."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        text = compact(term.value)
    elif isinstance(term, ox.BlankNode):
        text = f"_:{term.value}"
    elif isinstance(term, ox.Literal):
        if term.language:
            text = f'"{term.value}"@{term.language}'
        elif term.datatype.value in _BARE:
            text = term.value
        else:
            text = f'"{term.value}"^^{compact(term.datatype.value)}'
    else:
        text = str(term)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def render_table(solutions: ox.QuerySolutions, compact: Callable[[str], str]) -> list[str]:
    """Aligned columns under the variable names, and a count of rows."""
    heads = [v.value for v in solutions.variables]
    rows = [[show(solution[i], compact) for i in range(len(heads))] for solution in solutions]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(heads), line(["-" * w for w in widths])] if heads else []
    out += [line(r) for r in rows]
    out.append(f"{len(rows)} row" + ("" if len(rows) == 1 else "s"))
    return out


# --- wikidata -------------------------------------------------------------------------------

#: Exit status when Wikidata cannot be reached or answers nothing usable.
UNREACHABLE = 3


def cmd_wikidata(args: argparse.Namespace, settings: Settings) -> int:
    """check: 0 every link matches, 1 some differ, 3 Wikidata failed; suggest: 0 or 3."""
    from . import wikidata  # imports the store: only when asked for

    endpoint = args.endpoint or settings.wikidata_endpoint
    try:
        check_http_url(endpoint, "--endpoint")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    store = build_store(settings)
    options = settings.remote_options
    try:
        if args.wikidata_command == "check":
            findings = wikidata.check(wikidata.links(store), endpoint, options, args.batch_size)
        else:
            suggestions = wikidata.suggest(
                wikidata.unlinked(store), endpoint, options, args.batch_size
            )
    except ServiceFailed as exc:
        return _fail(f"eusdp wikidata {args.wikidata_command}: {exc}", status=UNREACHABLE)
    names = Compactor({**prefixes(jsonld_context(settings)), "id": f"{settings.base_iri}id/"})
    if args.wikidata_command == "check":
        if args.json:
            _emit(json.dumps(wikidata.findings_json(findings), indent=2).encode("utf-8"))
        else:
            for line in check_table(findings, names):
                print(line)
        return 0 if all(f.ok for f in findings) else 1
    if args.json:
        _emit(json.dumps(wikidata.suggestions_json(suggestions), indent=2).encode("utf-8"))
    else:
        for line in suggest_table(suggestions, names):
            print(line)
    return 0


def aligned(heads: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell, under a rule."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(heads), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def check_table(findings: Sequence[Any], compact: Callable[[str], str]) -> list[str]:
    """One row per link (differences first), then what differs, then a count."""
    order = {"not-an-item": 0, "missing": 1, "redirect": 2, "differs": 3, "ok": 4}
    ranked = sorted(findings, key=lambda f: (order.get(f.status, 9), f.entity))
    rows = [
        [
            f.status,
            compact(f.entity),
            compact(f.item),
            " / ".join(f.labels),
            " / ".join(f.wikidata_labels),
            " ".join([*f.iso2, *f.iso3]),
            " ".join([*f.wikidata_iso2, *f.wikidata_iso3]),
            " ".join(compact(t) for t in f.types),
        ]
        for f in ranked
    ]
    heads = ["status", "entity", "item", "our label", "Wikidata label", "our ISO",
             "Wikidata ISO", "Wikidata types (P31)"]
    lines = aligned(heads, rows)
    problems = [(f, p) for f in ranked for p in f.problems]
    if problems:
        lines.append("")
        lines += [f"{compact(f.item)} ({compact(f.entity)}): {p}" for f, p in problems]
    bad = sum(1 for f in findings if not f.ok)
    lines.append(f"{len(findings)} links: {len(findings) - bad} match, {bad} differ")
    return lines


def suggest_table(suggestions: Sequence[Any], compact: Callable[[str], str]) -> list[str]:
    """One row per candidate (or one saying there is none): for a person to confirm."""
    rows = []
    for s in suggestions:
        if not s.candidates:
            rows.append([compact(s.entity), s.label, "(none)", ""])
        for c in s.candidates:
            rows.append([compact(s.entity), s.label, compact(c.item), c.description or ""])
    lines = aligned(["entity", "label", "candidate", "Wikidata description"], rows)
    found = sum(1 for s in suggestions if s.candidates)
    lines.append(
        f"{len(suggestions)} entities without a link, {found} with candidates. "
        "Nothing was written: check each candidate on Wikidata before linking it."
    )
    return lines


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "validate": cmd_validate,
    "infer": cmd_infer,
    "export": cmd_export,
    "query": cmd_query,
    "serve": cmd_serve,
    "wikidata": cmd_wikidata,
}
