"""Canned queries: ``queries/*.rq`` -> :class:`CannedQuery`, with typed parameters.

Each file is one SPARQL query that runs unchanged in YASGUI or grlc: its
metadata sits in grlc-style ``#+`` comment lines at the top, read as YAML::

    #+ summary: Partners that cooperate in an area
    #+ tags: [partners]
    #+ params:
    #+   - name: area
    #+     type: iri
    #+     default: https://w3id.org/eusdp/id/area/cyber

A parameter is the query variable of the same name (``?area``). Its value is
checked against its type (and enumeration) and bound as an RDF term through
Oxigraph's substitutions (SEP-0007), never pasted into the text, so no value
can change what the query means.

Every file is parsed once, when the catalog loads, so a broken query or a
broken decorator stops the program at start with the file and line, rather
than failing the first person who asks for it. Nothing here knows about HTTP:
the web layer maps :class:`UnknownQuery` and :class:`BadParameter` to responses.
"""

from __future__ import annotations

import difflib
import re
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pyoxigraph as ox
import yaml  # type: ignore[import-untyped, unused-ignore]

from .federation import without_services
from .terms import OxTerm

QueryType = Literal["select", "ask", "construct", "describe"]
ParamType = Literal["iri", "literal", "language", "date", "integer"]
PARAM_TYPES: tuple[ParamType, ...] = ("iri", "literal", "language", "date", "integer")
METHODS = ("GET", "POST")

_XSD = "http://www.w3.org/2001/XMLSchema#"
_KEYS = {"summary", "description", "tags", "method", "params"}
#: grlc decorators that mean nothing here; accepted so that grlc files load.
_GRLC_KEYS = {"endpoint", "endpoint_in_url", "pagination", "enumerate", "defaults", "transform"}
_PARAM_KEYS = {"name", "type", "description", "default", "enum", "required"}


# --- errors ----------------------------------------------------------------------


class CatalogError(Exception):
    """A query file that cannot be used: names the file and, when known, line and column."""

    def __init__(
        self, path: Path, message: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.path = path
        self.message = message
        self.line = line
        self.column = column
        where = str(path)
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {message}")


class UnknownQuery(KeyError):
    """No canned query has this name; carries the names that look close, and all names."""

    def __init__(
        self, name: str, suggestions: tuple[str, ...] = (), available: tuple[str, ...] = ()
    ) -> None:
        self.name = name
        self.suggestions = suggestions
        self.available = available
        super().__init__(name)

    def __str__(self) -> str:  # KeyError would print the repr of the name
        hint = f"; did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        return f"no canned query named {self.name!r}{hint}"


class BadParameter(ValueError):
    """A parameter value that the query cannot take: names the parameter and says why."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"parameter {name!r}: {reason}")


# --- parameter types ---------------------------------------------------------------

_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|^`\\]*")
# RFC 5646 well-formed tags (langtag or private use); grandfathered tags are not accepted.
_LANGTAG = re.compile(
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WYZa-wyz](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[xX](?:-[A-Za-z0-9]{1,8})+"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER = re.compile(r"[+-]?\d{1,30}")


def _iri(value: str) -> OxTerm:
    if not _IRI.fullmatch(value):
        raise ValueError("not an absolute IRI (scheme:..., without spaces or <>\"{}|^`\\)")
    return ox.NamedNode(value)


def _literal(value: str) -> OxTerm:
    return ox.Literal(value)


def _language(value: str) -> OxTerm:
    if not _LANGTAG.fullmatch(value):
        raise ValueError("not a BCP 47 language tag (like en, fr-BE, zh-Hant)")
    # Both engines store language tags in lower case; bound as a string to compare with lang().
    return ox.Literal(value.lower())


def _date(value: str) -> OxTerm:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a date of the form YYYY-MM-DD") from None
    return ox.Literal(value, datatype=ox.NamedNode(_XSD + "date"))


def _integer(value: str) -> OxTerm:
    if not _INTEGER.fullmatch(value):
        raise ValueError("not an integer")
    return ox.Literal(str(int(value)), datatype=ox.NamedNode(_XSD + "integer"))


CONVERTERS: dict[ParamType, Callable[[str], OxTerm]] = {
    "iri": _iri,
    "literal": _literal,
    "language": _language,
    "date": _date,
    "integer": _integer,
}


@dataclass(frozen=True)
class Parameter:
    """One typed parameter of a canned query, bound to the variable ``?name``."""

    name: str
    type: ParamType
    description: str = ""
    default: str | None = None
    enum: tuple[str, ...] = ()
    required: bool = True

    def convert(self, value: str) -> OxTerm:
        """The RDF term for ``value``; :class:`BadParameter` says why it does not fit."""
        if self.enum and value not in self.enum:
            raise BadParameter(self.name, f"{value!r} is not one of: {', '.join(self.enum)}")
        try:
            return CONVERTERS[self.type](value)
        except ValueError as exc:
            raise BadParameter(self.name, f"{value!r} is {exc}") from None


# --- queries -------------------------------------------------------------------------


@dataclass(frozen=True)
class CannedQuery:
    """A query file: its text (decorators included; they are comments) and its metadata."""

    name: str
    path: Path
    text: str
    summary: str
    description: str
    tags: tuple[str, ...]
    method: str
    params: tuple[Parameter, ...]
    query_type: QueryType

    def param(self, name: str) -> Parameter | None:
        return next((p for p in self.params if p.name == name), None)

    def bind(self, raw: Mapping[str, str]) -> dict[str, OxTerm]:
        """Check ``raw`` values and turn them into terms for ``Store.query(bindings=...)``.

        Defaults fill what is not given; an empty value counts as not given (an
        empty form field). An optional parameter without a value stays unbound.
        """
        known = {p.name for p in self.params}
        for name in raw:
            if name not in known:
                takes = ", ".join(sorted(known)) if known else "no parameters"
                raise BadParameter(name, f"unknown parameter; {self.name} takes {takes}")
        bound: dict[str, OxTerm] = {}
        for p in self.params:
            value = raw.get(p.name) or p.default
            if value is None:
                if p.required:
                    raise BadParameter(p.name, "missing: this parameter is required")
                continue
            bound[p.name] = p.convert(value)
        return bound


class Catalog:
    """The canned queries by name (the file's stem), in name order."""

    def __init__(self, queries: Mapping[str, CannedQuery]) -> None:
        self._queries = dict(sorted(queries.items()))

    def get(self, name: str) -> CannedQuery:
        """The query called ``name``; :class:`UnknownQuery` (with close names) if none."""
        try:
            return self._queries[name]
        except KeyError:
            raise UnknownQuery(name, self.suggest(name), tuple(self._queries)) from None

    def suggest(self, name: str) -> tuple[str, ...]:
        """Names that look like ``name``: close spellings first, then names containing it."""
        close = difflib.get_close_matches(name, self._queries, n=5, cutoff=0.6)
        containing = [n for n in self._queries if name and name in n and n not in close]
        return tuple([*close, *containing][:5])

    def names(self) -> list[str]:
        return list(self._queries)

    def __contains__(self, name: object) -> bool:
        return name in self._queries

    def __iter__(self) -> Iterator[CannedQuery]:
        return iter(self._queries.values())

    def __len__(self) -> int:
        return len(self._queries)


def load_catalog(queries_dir: Path) -> Catalog:
    """Load and check every ``*.rq`` in ``queries_dir``: a :class:`CatalogError` if one fails."""
    if not queries_dir.is_dir():
        raise CatalogError(queries_dir, "not a folder of queries")
    return Catalog({q.name: q for q in map(load_query, sorted(queries_dir.glob("*.rq")))})


def load_query(path: Path) -> CannedQuery:
    """Read one query file: its decorators, then its SPARQL, both checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(path, f"cannot read: {exc}") from None
    return parse_query(text, path)


def parse_query(text: str, path: Path) -> CannedQuery:
    """Build a :class:`CannedQuery` from a query's text; ``path`` names it in errors."""
    meta, lines = _decorators(text, path)
    entries = meta.get("params", [])
    if not isinstance(entries, list):
        raise CatalogError(path, "params must be a list of parameters", _at(lines, "params"))
    params = tuple(_parameter(item, i, path, lines) for i, item in enumerate(entries))
    query_type = check_sparql(text, path)
    _check_params(params, text, path, lines)
    _check_bindable(params, text, path, lines)
    method = str(meta.get("method", "GET")).upper()
    if method not in METHODS:
        raise CatalogError(path, f"method must be GET or POST, not {method}", _at(lines, "method"))
    tags = meta.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CatalogError(path, "tags must be a list of words", _at(lines, "tags"))
    return CannedQuery(
        name=path.stem,
        path=path,
        text=text,
        summary=_text(meta, "summary", path, lines),
        description=_text(meta, "description", path, lines),
        tags=tuple(tags),
        method=method,
        params=params,
        query_type=query_type,
    )


# --- decorators ----------------------------------------------------------------------

#: libyaml's parser where PyYAML has it (10x faster: a start reads every query's header).
_COMPOSER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

#: Where each decorator key sits: a path of keys and list indexes -> line in the file.
Lines = dict[tuple[str | int, ...], int]


def _decorators(text: str, path: Path) -> tuple[dict[str, Any], Lines]:
    """Parse the ``#+`` lines of the file's leading comment block as one YAML mapping."""
    body: list[str] = []
    numbers: list[int] = []  # file line of each YAML line
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#+"):
            body.append(stripped[2:])
            numbers.append(number)
        elif stripped and not stripped.startswith("#"):
            break
    if not body:
        return {}, {}
    yaml_text = textwrap.dedent("\n".join(body))
    try:
        node = yaml.compose(yaml_text, Loader=_COMPOSER)
        data = yaml.BaseLoader(yaml_text).construct_document(node) if node is not None else {}
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path, numbers) from None
    if not isinstance(data, dict):
        raise CatalogError(path, "the #+ decorators must be 'key: value' lines", numbers[0])
    lines: Lines = {}
    _record_lines(node, (), numbers, lines)
    for key in data:
        if key not in _KEYS | _GRLC_KEYS:
            known = ", ".join(sorted(_KEYS))
            raise CatalogError(path, f"unknown decorator {key!r} (known: {known})", lines[(key,)])
    return data, lines


def _yaml_error(exc: Any, path: Path, numbers: list[int]) -> CatalogError:
    """Where YAML found the fault, and where the construct it was reading began."""

    def line_of(mark: Any) -> int:
        return numbers[min(mark.line, len(numbers) - 1)] if mark is not None else numbers[0]

    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem += f" ({context} that starts on line {line_of(context_mark)})"
    return CatalogError(path, f"bad #+ decorator: {problem}", line_of(exc.problem_mark))


def _record_lines(node: Any, at: tuple[str | int, ...], numbers: list[int], out: Lines) -> None:
    out[at] = numbers[min(node.start_mark.line, len(numbers) - 1)]
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _record_lines(value, (*at, key.value), numbers, out)
            out[(*at, key.value)] = numbers[min(key.start_mark.line, len(numbers) - 1)]
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_lines(item, (*at, i), numbers, out)


def _at(lines: Lines, *path: str | int) -> int | None:
    """The line of the deepest recorded part of ``path``."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _text(meta: Mapping[str, Any], key: str, path: Path, lines: Lines) -> str:
    value = meta.get(key, "")
    if not isinstance(value, str):
        raise CatalogError(path, f"{key} must be text", _at(lines, key))
    return value.strip()


def _parameter(item: Any, index: int, path: Path, lines: Lines) -> Parameter:
    """One entry of ``params``, with its default and enumeration checked against its type."""

    def fail(message: str, *key: str) -> CatalogError:
        return CatalogError(path, message, _at(lines, "params", index, *key))

    if not isinstance(item, dict):
        raise fail("each entry of params must be a mapping with name and type")
    unknown = sorted(set(item) - _PARAM_KEYS)
    if unknown:
        raise fail(f"unknown parameter field {unknown[0]!r}", unknown[0])
    name, kind = item.get("name"), item.get("type", "literal")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise fail(f"parameter name must be a SPARQL variable name, not {name!r}", "name")
    if kind not in PARAM_TYPES:
        raise fail(f"parameter {name}: type must be one of {', '.join(PARAM_TYPES)}", "type")
    enum = item.get("enum", [])
    if not isinstance(enum, list) or not all(isinstance(v, str) for v in enum):
        raise fail(f"parameter {name}: enum must be a list of values", "enum")
    required = item.get("required", "true" if "default" not in item else "false")
    if required not in ("true", "false"):
        raise fail(f"parameter {name}: required must be true or false", "required")
    default = item.get("default")
    if default is not None and not isinstance(default, str):
        raise fail(f"parameter {name}: default must be one value", "default")
    param = Parameter(
        name=name,
        type=kind,
        description=str(item.get("description", "")).strip(),
        default=default,
        enum=tuple(enum),
        required=required == "true",
    )
    for i, value in enumerate(enum):
        try:
            CONVERTERS[param.type](value)
        except ValueError as exc:
            raise CatalogError(
                path, f"parameter {name}: enum value {value!r} is {exc}",
                _at(lines, "params", index, "enum", i),
            ) from None
    if default is not None:
        try:
            param.convert(default)
        except BadParameter as exc:
            raise fail(f"parameter {name}: default {exc.reason}", "default") from None
    return param


def _check_params(params: tuple[Parameter, ...], text: str, path: Path, lines: Lines) -> None:
    seen: set[str] = set()
    body = _SKIP.sub(" ", text)
    for i, p in enumerate(params):
        if p.name in seen:
            where = _at(lines, "params", i)
            raise CatalogError(path, f"parameter {p.name} is declared twice", where)
        seen.add(p.name)
        if not re.search(rf"[?$]{p.name}(?![A-Za-z0-9_\u00b7])", body):
            raise CatalogError(
                path,
                f"parameter {p.name} has no variable ?{p.name} in the query",
                _at(lines, "params", i, "name"),
            )


def _check_bindable(params: tuple[Parameter, ...], text: str, path: Path, lines: Lines) -> None:
    """Oxigraph substitutes only variables that the query returns: check each parameter is one."""
    local = without_services(text)
    for i, p in enumerate(params):
        probe = ox.NamedNode("urn:eusdp:probe") if p.type == "iri" else ox.Literal("probe")
        try:
            ox.Store().query(local, substitutions={ox.Variable(p.name): probe})
        except RuntimeError:
            raise CatalogError(
                path,
                f"parameter {p.name} cannot be bound: the query must return ?{p.name} "
                "(project it in SELECT, or use it in the WHERE pattern of ASK/CONSTRUCT)",
                _at(lines, "params", i, "name"),
            ) from None


# --- SPARQL -------------------------------------------------------------------------

# What a query keyword can hide in: strings, IRIs and comments.
_SKIP = re.compile(
    r"\"{3}.*?\"{3}|'{3}.*?'{3}|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>|#[^\n]*",
    re.DOTALL,
)
_FORM = re.compile(r"(?<![\w:?$-])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:-])", re.IGNORECASE)
_ERROR_AT = re.compile(r"error at (\d+):(\d+)(?:-\d+:\d+)?: (.*)", re.DOTALL)


def syntax_position(
    error: SyntaxError, text: str | None = None
) -> tuple[int | None, int | None, str]:
    """Line, column and message of an Oxigraph ``SyntaxError`` ("error at L:C: ...").

    Oxigraph reports the furthest point its parser reached, which can be lines
    past the fault (an extra term, a stray brace). Given the ``text``, rdflib's
    parser is asked too: it points at the start of the statement that fails, so
    when that is on an earlier line it is the better guess; on the same line
    Oxigraph's column is the more precise.
    """
    match = _ERROR_AT.match(str(error))
    if match is None:
        return None, None, str(error)
    line, column = int(match.group(1)), int(match.group(2))
    other = _rdflib_position(text) if text is not None else None
    if other is not None and other[0] < line:
        line, column = other
    return line, column, match.group(3)


def _rdflib_position(text: str) -> tuple[int, int] | None:
    from pyparsing import ParseException

    from .sparqlparse import parse_query

    try:
        parse_query(text)
    except ParseException as exc:
        return exc.lineno, exc.col
    except Exception:  # rdflib fails in other ways on syntax it does not know: no opinion
        return None
    return None


def check_sparql(text: str, path: Path) -> QueryType:
    """Parse ``text`` with Oxigraph (the engine that will run it) and return its form.

    The query runs against an empty store: SELECT, CONSTRUCT and DESCRIBE are
    lazy there (only parsed); an ASK is evaluated, over no data, at once. So each
    SERVICE block is first replaced by its own pattern (:func:`without_services`):
    its syntax is checked and nothing is fetched, not even by an ASK.
    """
    try:
        result = ox.Store().query(without_services(text))
    except SyntaxError as exc:
        line, column, message = syntax_position(exc, text)
        raise CatalogError(path, f"SPARQL syntax error: {message}", line, column) from None
    if isinstance(result, ox.QueryBoolean):
        return "ask"
    if isinstance(result, ox.QuerySolutions):
        return "select"
    form = _FORM.search(_SKIP.sub(" ", text))
    return "describe" if form and form.group(1).upper() == "DESCRIBE" else "construct"
