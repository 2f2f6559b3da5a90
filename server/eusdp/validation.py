"""Validation: syntax (the loader), SHACL shapes (pySHACL) and OWL-RL consistency.

A report names, for each problem, the file that holds the focus node, the focus
node, the property path and the broken rule, so a person can go straight to the
line to fix. Syntax errors are raised by the loader as :class:`DataError` with
file and line; the caller decides how to print them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import OWL, RDF, Dataset, Graph, Namespace, URIRef
from rdflib.term import Node

from .config import Settings
from .inference import InferenceReport, cache_key, infer_cached, write_atomic
from .loader import SourceFile, load_dataset, merged, parse_file, project_sources

SH = Namespace("http://www.w3.org/ns/shacl#")


@dataclass(frozen=True)
class Problem:
    """One broken rule at one node."""

    severity: str  # "Violation", "Warning" or "Info"
    focus: str
    message: str
    path: str | None = None
    value: str | None = None
    shape: str | None = None
    file: str | None = None

    def line(self) -> str:
        where = f"{self.file}: " if self.file else ""
        path = f" {self.path}" if self.path else ""
        value = f" (value {self.value})" if self.value else ""
        rule = f" [{self.shape}]" if self.shape else ""
        return f"{self.severity}: {where}<{self.focus}>{path}: {self.message}{value}{rule}"


@dataclass
class ValidationReport:
    """The outcome of ``eusdp validate``: ok unless there is a violation or an inconsistency."""

    problems: list[Problem] = field(default_factory=list)
    inference: InferenceReport | None = None
    triples: int = 0

    @property
    def violations(self) -> list[Problem]:
        return [p for p in self.problems if p.severity in {"Violation", "Inconsistency"}]

    @property
    def ok(self) -> bool:
        return not self.violations

    def lines(self) -> list[str]:
        out = [p.line() for p in self.problems]
        warnings = len(self.problems) - len(self.violations)
        verdict = "valid" if self.ok else "INVALID"
        out.append(
            f"{verdict}: {self.triples} asserted triples, "
            f"{len(self.violations)} violation(s), {warnings} warning(s)"
        )
        return out


def _short(graph: Graph, node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(node)
        except Exception:
            return str(node)
    return str(node)


def _file_of(
    node: Node, sources: list[SourceFile], asserted: Mapping[URIRef, Graph]
) -> str | None:
    """The file that describes ``node`` (where it is a subject), for the message."""
    for source in sources:
        if (node, None, None) in asserted[source.graph]:
            return str(source.path)
    return None


def shacl_problems(
    data: Graph, shapes: Graph, sources: list[SourceFile], graphs: Mapping[URIRef, Graph]
) -> list[Problem]:
    """Run pySHACL on ``data`` (no further inference: the closure is already in it)."""
    from pyshacl import validate as shacl_validate

    _conforms, results, _text = shacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True
    )
    problems = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        severity = results.value(result, SH.resultSeverity)
        message = results.value(result, SH.resultMessage)
        problems.append(
            Problem(
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                focus=str(focus),
                message=str(message) if message else "constraint not met",
                path=_short(data, results.value(result, SH.resultPath)),
                value=_short(data, results.value(result, SH.value)),
                shape=_short(shapes, results.value(result, SH.sourceConstraintComponent)),
                file=_file_of(focus, sources, graphs) if focus is not None else None,
            )
        )
    return sorted(problems, key=lambda p: (p.severity != "Violation", p.file or "", p.focus))


def consistency_problems(closure: Graph, report: InferenceReport) -> list[Problem]:
    """The reasoner's clash messages, and anything typed owl:Nothing."""
    problems = [
        Problem("Inconsistency", "reasoner", message) for message in report.inconsistencies
    ]
    for node in closure.subjects(RDF.type, OWL.Nothing):
        problems.append(Problem("Inconsistency", str(node), "member of owl:Nothing"))
    return problems


class InvalidData(Exception):
    """The data breaks a shape or is inconsistent: the server must not serve it."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__("\n".join(report.lines()))

    def __reduce__(self) -> tuple[type[InvalidData], tuple[ValidationReport]]:
        return (type(self), (self.report,))  # crosses a process boundary intact


def _stamp(settings: Settings, sources: list[SourceFile]) -> Path | None:
    if settings.cache_dir is None:
        return None
    return settings.cache_dir / f"valid-{cache_key(sources)[:32]}"


def check_graphs(
    settings: Settings,
    sources: Sequence[SourceFile],
    dataset: Dataset,
    asserted: Graph,
    inferred: Graph,
    report: InferenceReport,
) -> ValidationReport:
    """Validate the rdflib graphs of a build, before they become a store; remembered (per
    content) when it passes, so that a server restarting on unchanged files does not pay
    for SHACL again.

    Raises :class:`InvalidData` if there is a violation or an inconsistency.
    """
    project = [s for s in sources if s.role != "extra"]
    return _checked(
        settings,
        project,
        report,
        len(asserted),
        lambda: {s.graph: dataset.graph(s.graph) for s in project},
        lambda: closure_of(dataset, asserted, inferred),
    )


def closure_of(dataset: Dataset, asserted: Graph, inferred: Graph) -> Graph:
    """Asserted and inferred triples in one in-memory graph, with the files' prefixes."""
    union = Graph()
    for t in asserted:
        union.add(t)
    for t in inferred:
        union.add(t)
    for prefix, ns in dataset.namespaces():
        union.bind(prefix, ns, override=True)
    return union


def _checked(
    settings: Settings,
    sources: Sequence[SourceFile],
    inference: InferenceReport,
    triples: int,
    graphs: Callable[[], Mapping[URIRef, Graph]],
    closure: Callable[[], Graph],
) -> ValidationReport:
    stamp = _stamp(settings, list(sources))
    if stamp is not None and stamp.exists():
        return ValidationReport(inference=inference, triples=triples)
    union = closure()
    problems = consistency_problems(union, inference)
    problems += shacl_problems(union, parse_file(settings.shapes_file), list(sources), graphs())
    report = ValidationReport(problems=problems, inference=inference, triples=triples)
    if not report.ok:
        raise InvalidData(report)
    if stamp is not None:
        try:
            write_atomic(stamp, b"valid\n")
        except OSError:
            pass  # an unwritable cache only costs a validation at the next start
    return report


def validate(settings: Settings, shapes_file: Path | None = None) -> ValidationReport:
    """Load, reason and validate the project files named by ``settings``.

    Raises :class:`eusdp.loader.DataError` when a file cannot be parsed.
    """
    sources = project_sources(settings)
    dataset = load_dataset(sources)
    graphs = {s.graph: dataset.graph(s.graph) for s in sources}
    asserted = merged(dataset, sources)
    inferred, inference = infer_cached(asserted, sources, settings.cache_dir)
    closure = closure_of(dataset, asserted, inferred)
    shapes = parse_file(shapes_file or settings.shapes_file)
    problems = consistency_problems(closure, inference)
    problems += shacl_problems(closure, shapes, sources, graphs)
    return ValidationReport(problems=problems, inference=inference, triples=len(asserted))
