"""A forward-chaining OWL 2 RL reasoner, semi-naive, specialised to the ontology it is given.

owlrl re-applies every rule to every triple of the graph in each round until a round adds
nothing: on a graph of a million triples it runs for more than ten minutes. This module
computes the same closure in time roughly linear in its size:

1. **Terms become ints.** Every RDF term is interned once; triples are int tuples kept in
   two indexes, ``predicate -> subject -> {objects}`` (all predicates) and
   ``predicate -> object -> {subjects}`` (only the predicates some rule looks up backwards).
2. **The schema is closed first and compiled.** The ``scm-*`` rules run to a fixpoint on the
   schema triples (a few hundred), then the closed schema is compiled into lookup tables:
   the domains, ranges, super-properties, inverses of each predicate, the superclasses,
   intersections, restrictions of each class. The rules that remain are those the ontology
   uses, and each is a dictionary look-up away.
3. **Each triple is processed once** (semi-naive evaluation as a work list): a new triple is
   joined with the triples already known, and whatever it yields that is new goes on the
   list. Joins (transitivity, property chains, intersections, existential restrictions) look
   at the indexes, never scan the graph.
4. **The schema is checked again at the end.** Should the data have derived new schema
   triples (a class typed ``owl:Class`` by a range, say), the schema is closed and compiled
   again and the rules re-run, so the result never depends on what was compiled first.

The rules are owlrl's, with owlrl's own quirks kept where they change what is derived
(owlrl gives every declared class ``rdfs:subClassOf owl:Thing``, types literals with their
datatypes, treats literals as ordinary nodes): after :func:`eusdp.inference.filter_derived`
the two closures are the same set (``tests/test_reasoner.py`` compares them). Literals are
carried through as the very terms the input holds, so a datatype is never changed.

Compiled: ``cax-sco``, ``cax-eqc1/2``, ``cls-int1/2``, ``cls-uni``, ``cls-hv1/2``,
``cls-svf1/2``, ``cls-avf``, ``cls-oo``, ``cls-thing``, ``cls-nothing1``, ``prp-dom``,
``prp-rng``, ``prp-spo1``, ``prp-spo2`` (chains of any length), ``prp-eqp1/2``,
``prp-inv1/2``, ``prp-symp``, ``prp-trp``, ``prp-ap``, every ``scm-*`` rule and owlrl's
``dt-*`` typing. Checked after the fixpoint (inconsistency messages worded as owlrl words
them): ``cax-dw``, ``cax-adc``, ``cls-com``, ``cls-nothing2``, ``prp-irp``, ``prp-asyp``,
``prp-pdw``, ``prp-adp``, ``dt-not-type``.

Not compiled: equality. ``owl:sameAs`` and what derives it (functional and
inverse-functional properties, ``owl:hasKey``, maximum cardinalities) and negative property
assertions. A graph that uses any of them is handed to owlrl whole, and the result says so
(:attr:`Closure.engine`, :attr:`Closure.fallback`): never a silently different closure.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rdflib import OWL, RDF, RDFS, Graph, Literal
from rdflib.term import Node

#: Part of the inference cache key: bump it when the derivations change.
VERSION = "1"

Triple = tuple[Node, Node, Node]
_Int3 = tuple[int, int, int]
_Index = dict[int, dict[int, set[int]]]

#: Constructs whose rules derive owl:sameAs (or need it): a graph using them goes to owlrl.
_EQUALITY_PREDICATES = (
    OWL.sameAs,
    OWL.hasKey,
    OWL.maxCardinality,
    OWL.maxQualifiedCardinality,
    OWL.sourceIndividual,
)
_EQUALITY_TYPES = (OWL.FunctionalProperty, OWL.InverseFunctionalProperty)

#: Predicates of the schema: rules are compiled from the triples that use them.
_SCHEMA_PREDICATES = (
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    RDFS.domain,
    RDFS.range,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    OWL.inverseOf,
    OWL.disjointWith,
    OWL.intersectionOf,
    OWL.unionOf,
    OWL.complementOf,
    OWL.oneOf,
    OWL.someValuesFrom,
    OWL.allValuesFrom,
    OWL.hasValue,
    OWL.onProperty,
    OWL.onClass,
    OWL.propertyChainAxiom,
    OWL.propertyDisjointWith,
    OWL.members,
    OWL.distinctMembers,
    RDF.first,
    RDF.rest,
    *_EQUALITY_PREDICATES,
)
#: Classes whose instances are schema terms (a property is transitive, a class is a class).
_SCHEMA_TYPES = (
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    RDF.Property,
    OWL.SymmetricProperty,
    OWL.TransitiveProperty,
    OWL.IrreflexiveProperty,
    OWL.AsymmetricProperty,
    OWL.AllDisjointClasses,
    OWL.AllDisjointProperties,
    *_EQUALITY_TYPES,
)


class _Unsupported(Exception):
    """The graph needs a rule this reasoner does not compile: owlrl takes over."""


@dataclass
class Closure:
    """What :func:`closure` derived from a graph."""

    #: Every triple of the closure that is not in the input, in no particular order.
    derived: list[Triple]
    #: Inconsistencies found (``cax-dw`` and the like), in owlrl's wording.
    inconsistencies: list[str]
    #: ``"eusdp"``, or ``"owlrl"`` when the graph uses a construct not compiled here.
    engine: str = "eusdp"
    #: Why owlrl took over, if it did.
    fallback: str | None = None
    #: How many times the schema was compiled (1 unless the data derived schema triples).
    compilations: int = 0
    #: The rules compiled, and how many schema axioms each one applies.
    rules: dict[str, int] = field(default_factory=dict)


def run_reasoner(asserted: Iterable[Triple]) -> tuple[list[Triple], list[str]]:
    """The derived triples and inconsistency messages: :func:`eusdp.inference.run_owlrl`'s shape."""
    result = closure(asserted)
    return result.derived, result.inconsistencies


def closure(asserted: Iterable[Triple], *, fallback: bool = True) -> Closure:
    """The OWL 2 RL closure of ``asserted`` (a Graph or any iterable of triples, not quads).

    ``asserted`` is only read. With ``fallback=False`` a graph that needs equality rules
    raises ``ValueError`` instead of going to owlrl.
    """
    triples = asserted if isinstance(asserted, Graph) else list(asserted)
    # Millions of small sets and tuples, none of them in a cycle: the cyclic collector
    # would only re-scan them (a quarter of the time at 1M triples).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Run(triples).result()
    except _Unsupported as exc:
        if not fallback:
            raise ValueError(f"not compiled by eusdp.reasoner: {exc}") from None
        return _owlrl_closure(triples, str(exc))
    finally:
        if collecting:
            gc.enable()


def _owlrl_closure(asserted: Iterable[Triple], why: str) -> Closure:
    from owlrl.OWLRL import OWLRL_Semantics

    source = Graph()
    for t in asserted:
        source.add(t)
    work = Graph()
    for t in source:
        work.add(t)
    semantics = OWLRL_Semantics(work, False, False, rdfs=False)
    semantics.closure()
    derived = [t for t in work if t not in source]
    return Closure(derived, list(semantics.error_messages), "owlrl", why)


# --- terms and indexes --------------------------------------------------------------


class _Store:
    """Interned terms and the int triples, indexed by predicate."""

    def __init__(self) -> None:
        self.ids: dict[Node, int] = {}
        self.terms: list[Node] = []
        self.spo: _Index = {}
        self.pos: _Index = {}  # only for the predicates in ``self.pos``
        self.work: list[_Int3] = []
        self.derived: list[_Int3] = []

    def id(self, term: Node) -> int:
        i = self.ids.get(term)
        if i is None:
            i = self.ids[term] = len(self.terms)
            self.terms.append(term)
        return i

    def add(self, s: int, p: int, o: int) -> bool:
        """Add a derived triple; ``False`` if it was known."""
        by_s = self.spo.get(p)
        if by_s is None:
            by_s = self.spo[p] = {}
        objects = by_s.get(s)
        if objects is None:
            by_s[s] = {o}
        elif o in objects:
            return False
        else:
            objects.add(o)
        by_o = self.pos.get(p)
        if by_o is not None:
            subjects = by_o.get(o)
            if subjects is None:
                by_o[o] = {s}
            else:
                subjects.add(s)
        self.work.append((s, p, o))
        self.derived.append((s, p, o))
        return True

    def need_pos(self, p: int) -> dict[int, set[int]]:
        """The object -> subjects index of ``p``, built on first use and kept up to date."""
        by_o = self.pos.get(p)
        if by_o is None:
            by_o = self.pos[p] = {}
            for s, objects in self.spo.get(p, {}).items():
                for o in objects:
                    subjects = by_o.get(o)
                    if subjects is None:
                        by_o[o] = {s}
                    else:
                        subjects.add(s)
        return by_o

    def objects(self, s: int, p: int) -> set[int]:
        return self.spo.get(p, {}).get(s, _EMPTY)

    def subjects(self, p: int, o: int) -> set[int]:
        return self.need_pos(p).get(o, _EMPTY)

    def pairs(self, p: int) -> Iterator[tuple[int, int]]:
        for s, objects in self.spo.get(p, {}).items():
            for o in objects:
                yield s, o

    def has(self, s: int, p: int, o: int) -> bool:
        return o in self.spo.get(p, {}).get(s, _EMPTY)

    def items(self, head: int) -> list[int]:
        """The members of an RDF list (owlrl's ``graph.items``); stops at a loop."""
        first, rest, nil = self.id(RDF.first), self.id(RDF.rest), self.id(RDF.nil)
        out: list[int] = []
        seen: set[int] = set()
        node = head
        while node != nil and node not in seen:
            seen.add(node)
            value = self.objects(node, first)
            if not value:
                break
            out.append(min(value))
            nxt = self.objects(node, rest)
            if not nxt:
                break
            node = min(nxt)
        return out


_EMPTY: set[int] = set()


# --- the run --------------------------------------------------------------------------


class _Run:
    def __init__(self, asserted: Iterable[Triple]) -> None:
        st = self.st = _Store()
        self.errors: list[str] = []
        self.compilations = 0
        self.rules: dict[str, int] = {}
        idf = st.id
        spo = st.spo
        literals: set[Literal] = set()
        for s, p, o in asserted:
            si, pi, oi = idf(s), idf(p), idf(o)
            by_s = spo.get(pi)
            if by_s is None:
                by_s = spo[pi] = {}
            objects = by_s.get(si)
            if objects is None:
                by_s[si] = {oi}
            elif oi in objects:
                continue
            else:
                objects.add(oi)
            st.work.append((si, pi, oi))
            if isinstance(o, Literal):
                literals.add(o)
        self.TYPE = idf(RDF.type)
        self.SCO, self.SPO = idf(RDFS.subClassOf), idf(RDFS.subPropertyOf)
        self.EQC, self.EQP = idf(OWL.equivalentClass), idf(OWL.equivalentProperty)
        self.DOM, self.RNG = idf(RDFS.domain), idf(RDFS.range)
        self.INV, self.DW = idf(OWL.inverseOf), idf(OWL.disjointWith)
        self.INT, self.UNI = idf(OWL.intersectionOf), idf(OWL.unionOf)
        self.COMP, self.ONEOF = idf(OWL.complementOf), idf(OWL.oneOf)
        self.SVF, self.AVF = idf(OWL.someValuesFrom), idf(OWL.allValuesFrom)
        self.HV, self.ONP = idf(OWL.hasValue), idf(OWL.onProperty)
        self.CHAIN, self.PDW = idf(OWL.propertyChainAxiom), idf(OWL.propertyDisjointWith)
        self.MEMBERS = idf(OWL.members)
        self.THING, self.NOTHING = idf(OWL.Thing), idf(OWL.Nothing)
        self.CLASS, self.DATATYPE = idf(OWL.Class), idf(RDFS.Datatype)
        self.schema_predicates = [idf(p) for p in _SCHEMA_PREDICATES]
        self.schema_types = [idf(c) for c in _SCHEMA_TYPES]
        st.need_pos(self.TYPE)
        for pid in self.schema_predicates:
            st.need_pos(pid)
        self._refuse_equality()
        self._one_time_rules(literals)

    # -- what is not compiled

    def _refuse_equality(self) -> None:
        st = self.st
        same = st.ids.get(OWL.sameAs)
        if same is not None and any(True for _ in st.pairs(same)):
            raise _Unsupported("owl:sameAs is used")
        for term in _EQUALITY_PREDICATES:
            i = st.ids.get(term)
            if i is not None and st.spo.get(i):
                raise _Unsupported(f"{term.n3()} is used (equality rules)")
        for term in _EQUALITY_TYPES:
            if st.subjects(self.TYPE, st.id(term)):
                raise _Unsupported(f"{term.n3()} is used (equality rules)")
        if same is not None:
            # owl:sameAs named in a schema axiom would need owlrl's eq-ref on every node.
            for p in self.schema_predicates:
                if st.spo.get(p, {}).get(same) or st.need_pos(p).get(same):
                    raise _Unsupported("owl:sameAs is named in a schema axiom")

    # -- cls-thing, cls-nothing1, prp-ap and owlrl's dt-* typing, once

    def _one_time_rules(self, literals: set[Literal]) -> None:
        from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
        from owlrl.DatatypeHandling import AltXSDToPYTHON
        from owlrl.OWLRL import OWLRL_Annotation_properties
        from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes

        st, idf, T = self.st, self.st.id, self.TYPE
        st.add(self.THING, T, self.CLASS)
        st.add(self.NOTHING, T, self.CLASS)
        annotation = idf(OWL.AnnotationProperty)
        for prop in OWLRL_Annotation_properties:
            st.add(idf(prop), T, annotation)

        rl_datatypes: set[Node] = set(OWL_RL_Datatypes)
        implicit: dict[Literal, Node] = {
            lt: lt.datatype for lt in literals if lt.datatype in rl_datatypes
        }  # dt-type2 and dt-not-type: literals of the graph with an OWL 2 RL datatype
        used: set[Node] = set(implicit.values())
        for lt, ldt in implicit.items():
            st.add(idf(lt), T, idf(ldt))
            try:
                AltXSDToPYTHON.get(ldt, _identity)(str(lt))
            except ValueError:
                self._error(
                    f"Lexical value of the literal '{lt}' does not match its datatype ({ldt})"
                )
        explicit: dict[int, set[Node]] = {}  # nodes typed with a datatype in the graph
        implicit_ids = {st.ids[lt] for lt in implicit}
        for dtype in rl_datatypes:
            dt_id = st.ids.get(dtype)
            if dt_id is None:
                continue
            for s in list(st.subjects(T, dt_id)):
                used.add(dtype)
                if s not in implicit_ids:
                    explicit.setdefault(s, set()).add(dtype)
        for dtype in OWL_RL_Datatypes:  # dt-type1
            st.add(idf(dtype), T, self.DATATYPE)
        for dts in explicit.values():
            for dtype in dts:
                st.add(idf(dtype), T, self.DATATYPE)

        def subsumptions(r: int, dt: Node) -> None:
            for new_dt in OWL_Datatype_Subsumptions.get(dt, ()):
                st.add(r, T, idf(new_dt))
                st.add(idf(new_dt), T, self.DATATYPE)
                used.add(new_dt)

        for r, dts in explicit.items():
            for dtype in dts:
                subsumptions(r, dtype)
        for lt, ldt in implicit.items():
            subsumptions(st.ids[lt], ldt)
        for left, pred, right in OWLRL_Datatypes_Disjointness:
            if left in used and right in used:
                st.add(idf(left), idf(pred), idf(right))

    def _error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)

    # -- the main loop

    def result(self) -> Closure:
        st = self.st
        while True:
            self._close_schema()
            signature = self._schema_signature()
            rules = _Rules(self)
            self.compilations += 1
            self.rules = rules.counts
            _saturate(st, rules)
            if self._schema_signature() == signature:
                break
            # The data derived schema triples: compile again and re-run every rule.
            st.work = [
                (s, p, o) for p, by_s in st.spo.items() for s, os in by_s.items() for o in os
            ]
        self._checks()
        terms = st.terms
        derived = [(terms[s], terms[p], terms[o]) for s, p, o in st.derived]
        return Closure(derived, list(self.errors), compilations=self.compilations, rules=self.rules)

    def _schema_signature(self) -> frozenset[_Int3]:
        st = self.st
        out = {(s, p, o) for p in self.schema_predicates for s, o in st.pairs(p)}
        out |= {(s, self.TYPE, c) for c in self.schema_types for s in st.subjects(self.TYPE, c)}
        return frozenset(out)

    # -- scm-*: the schema's own closure, naively (it is small)

    def _close_schema(self) -> None:
        st, T = self.st, self.TYPE
        SCO, SPO, EQC, EQP, DOM, RNG = self.SCO, self.SPO, self.EQC, self.EQP, self.DOM, self.RNG
        ONP, HV, SVF, AVF = self.ONP, self.HV, self.SVF, self.AVF
        properties = [st.id(c) for c in (OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property)]
        while True:
            new: list[_Int3] = []
            add = new.append
            for c in st.subjects(T, self.CLASS):  # scm-cls
                add((c, SCO, c))
                add((c, EQC, c))
                add((c, SCO, self.THING))
                add((self.NOTHING, SCO, c))
            for kind in properties:  # scm-op, scm-dp
                for p in st.subjects(T, kind):
                    add((p, SPO, p))
                    add((p, EQP, p))
            for sub, eq in ((SCO, EQC), (SPO, EQP)):
                for a, b in st.pairs(sub):  # scm-sco, scm-spo; scm-eqc2, scm-eqp2
                    if a != b:
                        for c in st.objects(b, sub):
                            if a != c:
                                add((a, sub, c))
                        if st.has(b, sub, a):
                            add((a, eq, b))
                    elif sub == SCO and st.has(b, sub, a):
                        add((a, eq, b))
                for a, b in st.pairs(eq):  # scm-eqc1, scm-eqp1
                    if a != b:
                        add((a, sub, b))
                        add((b, sub, a))
            for rel in (DOM, RNG):  # scm-dom1/2, scm-rng1/2
                for p, c in st.pairs(rel):
                    for c2 in st.objects(c, SCO):
                        if c != c2:
                            add((p, rel, c2))
                    for p1 in st.subjects(SPO, p):
                        if p1 != p:
                            add((p1, rel, c))
            for c1, i in st.pairs(HV):  # scm-hv
                for p1 in st.objects(c1, ONP):
                    for c2 in st.subjects(HV, i):
                        for p2 in st.objects(c2, ONP):
                            if st.has(p1, SPO, p2):
                                add((c1, SCO, c2))
            for rel, forward in ((SVF, True), (AVF, False)):  # scm-svf1/2, scm-avf1/2
                for c1, y1 in st.pairs(rel):
                    for p in st.objects(c1, ONP):
                        for c2 in st.subjects(ONP, p):
                            for y2 in st.objects(c2, rel):
                                if st.has(y1, SCO, y2):
                                    add((c1, SCO, c2))
                    for p1 in st.objects(c1, ONP):
                        for c2 in st.subjects(rel, y1):
                            for p2 in st.objects(c2, ONP):
                                if st.has(p1, SPO, p2):
                                    add((c1, SCO, c2) if forward else (c2, SCO, c1))
            for c, head in st.pairs(self.INT):  # scm-int
                for ci in st.items(head):
                    add((c, SCO, ci))
            for c, head in st.pairs(self.UNI):  # scm-uni
                for ci in st.items(head):
                    add((ci, SCO, c))
            if not [t for t in new if st.add(*t)]:
                return

    # -- inconsistencies, once the closure is complete

    def _checks(self) -> None:
        st, T, terms = self.st, self.TYPE, self.st.terms

        def members(c: int) -> set[int]:
            return st.subjects(T, c)

        for x in sorted(members(self.NOTHING)):  # cls-nothing2
            self._error(f"{terms[x]} is defined of type 'Nothing'")
        for c1, c2 in st.pairs(self.DW):  # cax-dw
            for x in sorted(members(c1) & members(c2)):
                self._error(
                    f"Disjoint classes {terms[c1]} and {terms[c2]} "
                    f"have a common individual {terms[x]}"
                )
        for x in members(st.id(OWL.AllDisjointClasses)):  # cax-adc
            for head in st.objects(x, self.MEMBERS):
                classes = st.items(head)
                for i, cl1 in enumerate(classes):
                    for z in sorted(members(cl1)):
                        for cl2 in classes[i + 1 :]:
                            if st.has(z, T, cl2):
                                self._error(
                                    f"Disjoint classes {terms[cl1]} and {terms[cl2]} "
                                    f"have a common individual {terms[z]}"
                                )
        for c1, c2 in st.pairs(self.COMP):  # cls-com
            for x in sorted(members(c1) & members(c2)):
                self._error(
                    f"Violation of complementarity for classes {terms[c1]} and {terms[c2]} "
                    f"on element {terms[x]}"
                )
        for p in members(st.id(OWL.IrreflexiveProperty)):  # prp-irp
            for x, y in st.pairs(p):
                if x == y:
                    self._error(f"Irreflexive property used on {terms[x]} with {terms[p]}")
        for p in members(st.id(OWL.AsymmetricProperty)):  # prp-asyp
            for x, y in st.pairs(p):
                if st.has(y, p, x):
                    self._error(
                        f"Erroneous usage of asymmetric property {terms[p]} "
                        f"on {terms[x]} and {terms[y]}"
                    )
        pairs: list[tuple[int, int]] = list(st.pairs(self.PDW))  # prp-pdw
        for x in members(st.id(OWL.AllDisjointProperties)):  # prp-adp
            for head in st.objects(x, self.MEMBERS):
                props = st.items(head)
                pairs += [(a, b) for i, a in enumerate(props) for b in props[i + 1 :]]
        for p1, p2 in pairs:
            for x, y in st.pairs(p1):
                if st.has(x, p2, y):
                    self._error(
                        f"Erroneous usage of disjoint properties {terms[p1]} and {terms[p2]} "
                        f"on {terms[x]} and {terms[y]}"
                    )


def _identity(value: str) -> str:
    return value


# --- the compiled rules ---------------------------------------------------------------


class _Rules:
    """The closed schema as look-up tables, one per kind of rule."""

    def __init__(self, run: _Run) -> None:
        st, T = run.st, run.TYPE
        self.type = T
        self.thing = run.THING
        self.dom: dict[int, set[int]] = {}
        self.rng: dict[int, set[int]] = {}
        self.sup: dict[int, set[int]] = {}  # prp-spo1, prp-eqp1/2
        self.inv: dict[int, set[int]] = {}  # prp-inv1/2
        self.sym: set[int] = set(st.subjects(T, st.id(OWL.SymmetricProperty)))
        self.trans: set[int] = set(st.subjects(T, st.id(OWL.TransitiveProperty)))
        self.chains: dict[int, list[tuple[int, tuple[int, ...], int]]] = {}  # p -> (q, chain, i)
        self.sco: dict[int, set[int]] = {}  # cax-sco, cax-eqc1/2, cls-int2, cls-uni
        self.ints: dict[int, list[tuple[int, tuple[int, ...]]]] = {}  # member -> (class, all)
        self.hv_class: dict[int, list[tuple[int, int]]] = {}  # restriction -> (p, value)
        self.hv_prop: dict[int, dict[int, set[int]]] = {}  # p -> value -> restrictions
        self.svf_prop: dict[int, list[tuple[int, int]]] = {}  # p -> (restriction, filler)
        self.svf_filler: dict[int, list[tuple[int, int]]] = {}  # filler -> (p, restriction)
        self.avf_class: dict[int, list[tuple[int, int]]] = {}  # restriction -> (p, filler)
        self.avf_prop: dict[int, list[tuple[int, int]]] = {}  # p -> (restriction, filler)
        counts: dict[str, int] = {}

        def put(table: dict[int, set[int]], key: int, value: int, rule: str) -> None:
            table.setdefault(key, set()).add(value)
            counts[rule] = counts.get(rule, 0) + 1

        for p, c in st.pairs(run.DOM):
            put(self.dom, p, c, "prp-dom")
        for p, c in st.pairs(run.RNG):
            put(self.rng, p, c, "prp-rng")
        for p1, p2 in st.pairs(run.SPO):
            if p1 != p2:
                put(self.sup, p1, p2, "prp-spo1")
        for p1, p2 in st.pairs(run.EQP):
            if p1 != p2:
                put(self.sup, p1, p2, "prp-eqp")
                put(self.sup, p2, p1, "prp-eqp")
        for p1, p2 in st.pairs(run.INV):
            put(self.inv, p1, p2, "prp-inv")
            put(self.inv, p2, p1, "prp-inv")
        for c1, c2 in st.pairs(run.SCO):
            if c1 != c2:
                put(self.sco, c1, c2, "cax-sco")
        for c1, c2 in st.pairs(run.EQC):
            if c1 != c2:
                put(self.sco, c1, c2, "cax-eqc")
                put(self.sco, c2, c1, "cax-eqc")
        for c, head in st.pairs(run.INT):
            members = tuple(st.items(head))
            for ci in members:
                put(self.sco, c, ci, "cls-int2")
            if members:
                for ci in set(members):
                    self.ints.setdefault(ci, []).append((c, members))
                counts["cls-int1"] = counts.get("cls-int1", 0) + 1
        for c, head in st.pairs(run.UNI):
            for ci in st.items(head):
                put(self.sco, ci, c, "cls-uni")
        for c, head in st.pairs(run.ONEOF):
            for y in st.items(head):
                st.add(y, T, c)
            counts["cls-oo"] = counts.get("cls-oo", 0) + 1
        for q, head in st.pairs(run.CHAIN):
            chain = tuple(st.items(head))
            if not chain:
                continue
            counts["prp-spo2"] = counts.get("prp-spo2", 0) + 1
            for i, p in enumerate(chain):
                self.chains.setdefault(p, []).append((q, chain, i))
                if i < len(chain) - 1:
                    st.need_pos(p)  # extended backwards from position i + 1
        for r, v in st.pairs(run.HV):
            for p in st.objects(r, run.ONP):
                self.hv_class.setdefault(r, []).append((p, v))
                self.hv_prop.setdefault(p, {}).setdefault(v, set()).add(r)
                counts["cls-hv"] = counts.get("cls-hv", 0) + 1
        for r, y in st.pairs(run.SVF):
            for p in st.objects(r, run.ONP):
                self.svf_prop.setdefault(p, []).append((r, y))
                self.svf_filler.setdefault(y, []).append((p, r))
                st.need_pos(p)
                counts["cls-svf"] = counts.get("cls-svf", 0) + 1
        for r, y in st.pairs(run.AVF):
            for p in st.objects(r, run.ONP):
                self.avf_class.setdefault(r, []).append((p, y))
                self.avf_prop.setdefault(p, []).append((r, y))
                counts["cls-avf"] = counts.get("cls-avf", 0) + 1
        for p in self.trans:
            st.need_pos(p)
        if self.sym:
            counts["prp-symp"] = len(self.sym)
        if self.trans:
            counts["prp-trp"] = len(self.trans)
        self.counts = dict(sorted(counts.items()))
        #: Predicates with any rule other than those of rdf:type.
        self.active = (
            set(self.dom) | set(self.rng) | set(self.sup) | set(self.inv) | self.sym | self.trans
            | set(self.chains) | set(self.hv_prop) | set(self.svf_prop) | set(self.avf_prop)
        )


def _saturate(st: _Store, rules: _Rules) -> None:
    """Apply the rules to every triple on the work list, and to what they derive, to a fixpoint."""
    spo, pos, work, add = st.spo, st.pos, st.work, st.add
    T, THING = rules.type, rules.thing
    dom, rng, sup, inv, sym, trans = (
        rules.dom, rules.rng, rules.sup, rules.inv, rules.sym, rules.trans
    )
    chains, sco, ints = rules.chains, rules.sco, rules.ints
    hv_class, hv_prop = rules.hv_class, rules.hv_prop
    svf_prop, svf_filler = rules.svf_prop, rules.svf_filler
    avf_class, avf_prop = rules.avf_class, rules.avf_prop
    active = rules.active
    types = spo.setdefault(T, {})
    empty: set[int] = set()
    no_index: dict[int, set[int]] = {}
    out: list[_Int3] = []
    emit = out.append
    while work:
        s, p, o = work.pop()
        if p == T:
            for c in sco.get(o, empty):  # cax-sco, cax-eqc, cls-int2, cls-uni
                emit((s, T, c))
            for c, members in ints.get(o, ()):  # cls-int1
                mine = types.get(s, empty)
                if all(m in mine for m in members):
                    emit((s, T, c))
            for q, v in hv_class.get(o, ()):  # cls-hv1
                emit((s, q, v))
            for q, r in svf_filler.get(o, ()):  # cls-svf1, the filler typed last
                for u in pos[q].get(s, empty):
                    emit((u, T, r))
            for q, y in avf_class.get(o, ()):  # cls-avf, the restriction typed last
                for v in spo.get(q, no_index).get(s, empty):
                    emit((v, T, y))
        if p in active:
            for c in dom.get(p, empty):  # prp-dom
                emit((s, T, c))
            for c in rng.get(p, empty):  # prp-rng
                emit((o, T, c))
            for q in sup.get(p, empty):  # prp-spo1, prp-eqp
                emit((s, q, o))
            for q in inv.get(p, empty):  # prp-inv
                emit((o, q, s))
            if p in sym:  # prp-symp
                emit((o, p, s))
            if p in trans:  # prp-trp, both ways round
                by_s = spo[p]
                for z in by_s.get(o, empty):
                    emit((s, p, z))
                for w in pos[p].get(s, empty):
                    emit((w, p, o))
            for q, chain, i in chains.get(p, ()):  # prp-spo2
                starts = {s}
                for j in range(i - 1, -1, -1):
                    back = pos[chain[j]]
                    starts = {x for b in starts for x in back.get(b, empty)}
                    if not starts:
                        break
                if not starts:
                    continue
                ends = {o}
                for j in range(i + 1, len(chain)):
                    forward = spo.get(chain[j], no_index)
                    ends = {y for e in ends for y in forward.get(e, empty)}
                    if not ends:
                        break
                for x in starts:
                    for y in ends:
                        emit((x, q, y))
            by_value = hv_prop.get(p)  # cls-hv2
            if by_value is not None:
                for r in by_value.get(o, empty):
                    emit((s, T, r))
            for r, y in svf_prop.get(p, ()):  # cls-svf1/2, the property triple last
                if y == THING or y in types.get(o, empty):
                    emit((s, T, r))
            for r, y in avf_prop.get(p, ()):  # cls-avf, the property triple last
                if r in types.get(s, empty):
                    emit((o, T, y))
        if out:
            for t in out:
                add(*t)
            out.clear()
