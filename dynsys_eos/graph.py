"""A bifurcation graph: continued branches and their special points, with the edges that link them.

Nodes are branches (ids ``"B0"``, ``"B1"``, ...) and special points (``"P0"``,
``"P1"``, ...).  An edge ``branch -> point`` with relation ``"on"`` says the
point lies on the branch; an edge ``point -> branch`` with relation
``"born at"`` says the branch was born at the point (a period-doubling
cascade is the chain ``B0 -> P0 -> B1 -> P1 -> B2 ...``).

Each node carries a plain record (numbers, strings, lists, dicts: JSON as it
stands), so a graph written with :meth:`BifurcationGraph.to_json` and read
back with :meth:`BifurcationGraph.from_json` is the same graph, to the last
digit.  Floats are float64 values (written exactly by ``repr``); high-precision
numbers (a located parameter value, its orbit, its normal-form coefficient)
are decimal strings with the digits achieved plus five guard digits, stored
as strings so that nothing is rounded on the way out or back in.  Non-finite
floats are the strings ``"nan"``, ``"inf"`` and ``"-inf"``.

The live :class:`~dynsys_eos.continuation.Branch` and
:class:`~dynsys_eos.bifurcation.BifurcationPoint` objects are kept beside the
graph (not serialized), so one can continue from a node:
``continue_branch(switch(g.branch("B0"), g.point("P0")), ...)``.

Examples
--------
>>> from dynsys_eos.models import build_model
>>> from dynsys_eos.continuation import ContinuationProblem, ContinuationOptions, continue_branch
>>> from dynsys_eos.bifurcation import locate, switch
>>> options = ContinuationOptions(p_min=2.8, p_max=3.5, direction="forward")
>>> problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
>>> b1 = continue_branch(problem, options=options)
>>> flip = locate(b1, b1.detections[0], dps=30)
>>> g = BifurcationGraph()
>>> g.add_branch(b1)
'B0'
>>> g.add_point("B0", flip)
'P0'
>>> g.add_branch(continue_branch(switch(g.branch("B0"), g.point("P0")), options=options), born_at="P0")
'B1'
>>> g.chain("B0")
['B0', 'P0', 'B1']
>>> g.graph.nodes["P0"]["value"], g.graph.nodes["P0"]["criticality"]
('3.0', 'supercritical')
>>> g.graph.edges["P0", "B1"]["relation"]
'born at'
>>> text = g.to_json()
>>> BifurcationGraph.from_json(text).to_json() == text
True
>>> print(g.summary_table())  # doctest: +NORMALIZE_WHITESPACE
node  kind    period  r           digits  status / criticality    on  born at
B0    branch  1       2.8 .. 3.5  -       forward: reached-bound  -   -
P0    flip    1       3.0         40      supercritical           B0  -
B1    branch  2       3 .. 3.5    -       forward: reached-bound  -   P0
"""

import json
import math
import re

import mpmath
import networkx as nx

from .errors import ContinuationError

__all__ = ["BifurcationGraph", "FORMAT", "VERSION", "branch_record", "point_record"]

#: The ``format`` field of a serialized graph.
FORMAT = "dynsys_eos.BifurcationGraph"
#: The version of the serialized format this module writes and reads.
VERSION = 1

#: Guard digits written beyond the digits achieved.
GUARD_DIGITS = 5

_KINDS = ("flip", "fold", "ns", "branch")
_KIND_NAMES = {"flip": "flip", "fold": "fold", "ns": "Neimark-Sacker", "branch": "branch point"}
_RELATIONS = {"on": ("branch", "point"), "born at": ("point", "branch")}
_ID = re.compile(r"^([BP])(0|[1-9][0-9]*)$")
_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
_NONFINITE = {"nan", "inf", "-inf"}


# --------------------------------------------------------------------------------------------- records


def _float(x):
    """A float64 for JSON: itself when finite, else ``"nan"``, ``"inf"`` or ``"-inf"``."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _decimal(x, digits):
    """A high-precision number as a decimal string with ``digits`` achieved plus guard digits (None stays None)."""
    if x is None:
        return None
    if not isinstance(x, mpmath.mpf):
        # mpmath.mpf(x) rounds to the *current* working precision (53 bits by default): an mpf is used as it is,
        # anything else is converted with room for every digit it has
        with mpmath.workdps(max(int(digits), 0) + GUARD_DIGITS + 20 + (len(x) if isinstance(x, str) else 0)):
            x = mpmath.mpf(x)
    if not mpmath.isfinite(x):
        raise ContinuationError(f"cannot record the non-finite value {x} in a bifurcation graph")
    return mpmath.nstr(x, max(int(digits), 0) + GUARD_DIGITS)


def branch_record(branch):
    """The plain (JSON-able) record of a :class:`~dynsys_eos.continuation.Branch`.

    Examples
    --------
    >>> from dynsys_eos.models import build_model
    >>> from dynsys_eos.continuation import ContinuationProblem, ContinuationOptions, continue_branch
    >>> problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})
    >>> record = branch_record(continue_branch(problem, options=ContinuationOptions(p_min=2.8, p_max=2.9)))
    >>> record["model"], record["period"], record["state_names"], record["points"][0]["parameter"]
    ('logistic', 1, ['x'], 2.8)
    """
    problem = branch.problem
    return {
        "model": str(problem.map.name),
        "period": int(problem.period),
        "parameter": str(problem.parameter),
        "parameters": {str(name): str(value) for name, value in problem.parameters.items()},
        "state_names": [str(name) for name in problem.map.state_names],
        "origin": str(problem.origin),
        "status": {str(k): str(v) for k, v in (branch.status or {}).items()},
        "manifold_dimension": int(branch.manifold_dimension),
        "message": str(branch.message),
        "start_index": int(branch.start_index),
        "detections": [{"kind": str(d.kind), "index": int(d.index),
                        "bracket": [_float(d.bracket[0]), _float(d.bracket[1])]} for d in branch.detections],
        "points": [{
            "parameter": _float(p.parameter),
            "orbit": [[_float(c) for c in x] for x in p.orbit],
            "stable": None if p.stable is None else bool(p.stable),
            "unstable_count": int(p.unstable_count),
            "multipliers": [[_float(complex(m).real), _float(complex(m).imag)] for m in p.multipliers],
            "tangent_parameter": _float(p.tangent_parameter),
        } for p in branch.points],
    }


def point_record(point):
    """The plain (JSON-able) record of a :class:`~dynsys_eos.bifurcation.BifurcationPoint`.

    ``value``, ``orbit`` and ``angle`` are decimal strings with ``digits`` + 5
    significant digits, ``coefficient`` with ``coefficient_digits`` + 5.
    """
    digits = int(point.digits)
    return {
        "kind": str(point.kind),
        "parameter": str(point.parameter),
        "status": str(point.status),
        "value": _decimal(point.value, digits),
        "digits": digits,
        "bracket": [_float(point.bracket[0]), _float(point.bracket[1])],
        "period": int(point.period),
        "branch_index": int(point.branch_index),
        "coefficient": _decimal(point.coefficient, point.coefficient_digits),
        "coefficient_digits": int(point.coefficient_digits),
        "criticality": point.criticality,
        "angle": _decimal(point.angle, digits),
        "orbit": [[_decimal(c, digits) for c in x] for x in point.orbit],
        "message": str(point.message),
    }


# ------------------------------------------------------------------------------------------ validation


class _Invalid(Exception):
    """A malformed field (turned into a ContinuationError naming where it is)."""


def _check_str(x, where):
    if not isinstance(x, str):
        raise _Invalid(f"{where}: expected a string, got {x!r}")
    return x


def _check_int(x, where, minimum=0):
    if isinstance(x, bool) or not isinstance(x, int) or x < minimum:
        raise _Invalid(f"{where}: expected an integer >= {minimum}, got {x!r}")
    return x


def _check_float(x, where):
    if isinstance(x, str) and x in _NONFINITE:
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise _Invalid(f"{where}: expected a number (or 'nan', 'inf', '-inf'), got {x!r}")
    return _float(x)


def _check_decimal(x, where, optional=False):
    if x is None and optional:
        return None
    if not isinstance(x, str) or not _DECIMAL.match(x):
        raise _Invalid(f"{where}: expected a decimal string{' or null' if optional else ''}, got {x!r}")
    return x


def _check_choice(x, where, choices):
    if x not in choices:
        raise _Invalid(f"{where}: expected one of {', '.join(map(repr, choices))}, got {x!r}")
    return x


def _check_list(x, where, length=None):
    if not isinstance(x, list):
        raise _Invalid(f"{where}: expected a list, got {type(x).__name__}")
    if length is not None and len(x) != length:
        raise _Invalid(f"{where}: expected {length} entries, got {len(x)}")
    return x


def _check_fields(record, where, fields):
    if not isinstance(record, dict):
        raise _Invalid(f"{where}: expected an object, got {type(record).__name__}")
    missing = sorted(set(fields) - set(record))
    extra = sorted(set(record) - set(fields))
    if missing:
        raise _Invalid(f"{where}: missing field(s) {', '.join(missing)}")
    if extra:
        raise _Invalid(f"{where}: unknown field(s) {', '.join(extra)}")
    return {name: check(record[name], f"{where}.{name}") for name, check in fields.items()}


def _string_dict(x, where):
    if not isinstance(x, dict):
        raise _Invalid(f"{where}: expected an object, got {type(x).__name__}")
    return {_check_str(k, where): _check_str(v, f"{where}.{k}") for k, v in x.items()}


def _validate_branch(record, where):
    def points(x, w):
        return [_validate_branch_point(p, f"{w}[{i}]") for i, p in enumerate(_check_list(x, w))]

    def detections(x, w):
        return [_check_fields(d, f"{w}[{i}]", {
            "kind": lambda v, ww: _check_choice(v, ww, _KINDS),
            "index": _check_int,
            "bracket": _bracket,
        }) for i, d in enumerate(_check_list(x, w))]

    out = _check_fields(record, where, {
        "model": _check_str,
        "period": lambda v, w: _check_int(v, w, 1),
        "parameter": _check_str,
        "parameters": _string_dict,
        "state_names": lambda v, w: [_check_str(s, f"{w}[{i}]") for i, s in enumerate(_check_list(v, w))],
        "origin": _check_str,
        "status": _string_dict,
        "manifold_dimension": _check_int,
        "message": _check_str,
        "start_index": _check_int,
        "detections": detections,
        "points": points,
    })
    shape = (out["period"], len(out["state_names"]))
    for i, p in enumerate(out["points"]):
        if (len(p["orbit"]), *{len(x) for x in p["orbit"]}) != shape:
            raise _Invalid(f"{where}.points[{i}].orbit: expected {shape[0]} states of {shape[1]} coordinates "
                           f"(period {shape[0]}, state {out['state_names']})")
    if out["points"] and not out["start_index"] < len(out["points"]):
        raise _Invalid(f"{where}.start_index: {out['start_index']} is not the index of one of the "
                       f"{len(out['points'])} points")
    return out


def _bracket(x, where):
    return [_check_float(v, f"{where}[{i}]") for i, v in enumerate(_check_list(x, where, 2))]


def _float_list(x, where):
    return [_check_float(v, f"{where}[{i}]") for i, v in enumerate(_check_list(x, where))]


def _validate_branch_point(record, where):
    return _check_fields(record, where, {
        "parameter": _check_float,
        "orbit": lambda v, w: [_float_list(x, f"{w}[{i}]") for i, x in enumerate(_check_list(v, w))],
        "stable": lambda v, w: v if v is None or isinstance(v, bool) else _check_choice(v, w, (True, False, None)),
        "unstable_count": _check_int,
        "multipliers": lambda v, w: [[_check_float(c, f"{w}[{i}][{j}]")
                                      for j, c in enumerate(_check_list(m, f"{w}[{i}]", 2))]
                                     for i, m in enumerate(_check_list(v, w))],
        "tangent_parameter": _check_float,
    })


def _validate_point(record, where):
    def optional_decimal(v, w):
        return _check_decimal(v, w, optional=True)

    out = _check_fields(record, where, {
        "kind": lambda v, w: _check_choice(v, w, _KINDS),
        "parameter": _check_str,
        "status": lambda v, w: _check_choice(v, w, ("located", "not-located")),
        "value": optional_decimal,
        "digits": _check_int,
        "bracket": _bracket,
        "period": lambda v, w: _check_int(v, w, 1),
        "branch_index": _check_int,
        "coefficient": optional_decimal,
        "coefficient_digits": _check_int,
        "criticality": lambda v, w: _check_choice(v, w, (None, "supercritical", "subcritical")),
        "angle": optional_decimal,
        "orbit": lambda v, w: [[_check_decimal(c, f"{w}[{i}][{j}]") for j, c in enumerate(_check_list(x, f"{w}[{i}]"))]
                               for i, x in enumerate(_check_list(v, w))],
        "message": _check_str,
    })
    if out["status"] == "located" and out["value"] is None:
        raise _Invalid(f"{where}.value: a located point needs a value")
    return out


def _id_key(node_id):
    """Sort key: branches before points, then by number (B2 before B10)."""
    letter, number = _ID.match(node_id).groups()
    return (letter, int(number))


# --------------------------------------------------------------------------------------------- graph


class BifurcationGraph:
    """Branches and special points as a :class:`networkx.DiGraph` (``.graph``), with the live objects kept beside it.

    Node attributes are plain records: ``{"type": "branch", ...}`` as made by
    :func:`branch_record`, ``{"type": "point", ...}`` as made by
    :func:`point_record`.  Edge attributes are ``{"relation": "on"}``
    (branch -> point) and ``{"relation": "born at"}`` (point -> branch).

    Attributes
    ----------
    graph : networkx.DiGraph
        The graph itself; read it freely, change it only through the methods.

    Examples
    --------
    >>> g = BifurcationGraph()
    >>> g.graph.number_of_nodes(), g.to_json()
    (0, '{"edges": [], "format": "dynsys_eos.BifurcationGraph", "nodes": [], "version": 1}')
    >>> BifurcationGraph.from_json('{"format": "dynsys_eos.BifurcationGraph", "version": 99, "nodes": [], "edges": []}')
    Traceback (most recent call last):
    ...
    dynsys_eos.errors.ContinuationError: unsupported bifurcation graph version 99 (this version reads version 1)
    """

    def __init__(self):
        self.graph = nx.DiGraph()
        self._live = {}      # node id -> Branch or BifurcationPoint (not serialized)
        self._by_object = {}  # id(object) -> node id, so adding the same object twice gives the same node
        self._counters = {"B": 0, "P": 0}

    # ------------------------------------------------------------------ building

    def _new_id(self, letter):
        node_id = f"{letter}{self._counters[letter]}"
        self._counters[letter] += 1
        return node_id

    def _require(self, node_id, kind):
        if node_id not in self.graph:
            raise ContinuationError(f"no node {node_id!r} in the graph (nodes: {', '.join(self.nodes()) or 'none'})")
        actual = self.graph.nodes[node_id]["type"]
        if actual != kind:
            raise ContinuationError(f"node {node_id!r} is a {actual}, not a {kind}")

    def add_branch(self, branch, born_at=None):
        """Add a continued branch; ``born_at`` is the id of the point node it was born at (an edge "born at").

        Adding the same Branch object again returns its node (adding the
        ``born_at`` edge if it is new).

        Returns
        -------
        str
            The node id, ``"B0"``, ``"B1"``, ...
        """
        if born_at is not None:
            self._require(born_at, "point")
            if branch.problem.parameter != self.graph.nodes[born_at]["parameter"]:
                raise ContinuationError(f"branch in {branch.problem.parameter!r} cannot be born at {born_at!r}, "
                                        f"a point in {self.graph.nodes[born_at]['parameter']!r}")
        node_id = self._by_object.get(id(branch))
        if node_id is None:
            record = branch_record(branch)
            node_id = self._new_id("B")
            self.graph.add_node(node_id, type="branch", **record)
            self._live[node_id] = branch
            self._by_object[id(branch)] = node_id
        if born_at is not None:
            parents = [u for u in self.graph.predecessors(node_id) if u != born_at]
            if parents:
                raise ContinuationError(f"branch {node_id!r} is already born at {parents[0]!r}")
            self.graph.add_edge(born_at, node_id, relation="born at")
        return node_id

    def add_point(self, branch_node, point):
        """Add a special point (a :class:`~dynsys_eos.bifurcation.BifurcationPoint`) on a branch node.

        Returns
        -------
        str
            The node id, ``"P0"``, ``"P1"``, ...
        """
        self._require(branch_node, "branch")
        branch = self.graph.nodes[branch_node]
        if (point.period, point.parameter) != (branch["period"], branch["parameter"]):
            raise ContinuationError(f"a period-{point.period} point in {point.parameter!r} cannot lie on branch "
                                    f"{branch_node!r} (period {branch['period']} in {branch['parameter']!r})")
        node_id = self._by_object.get(id(point))
        if node_id is None:
            record = point_record(point)
            node_id = self._new_id("P")
            self.graph.add_node(node_id, type="point", **record)
            self._live[node_id] = point
            self._by_object[id(point)] = node_id
        self.graph.add_edge(branch_node, node_id, relation="on")
        return node_id

    # ------------------------------------------------------------------ reading

    def nodes(self, kind=None):
        """Node ids in order (branches first, by number), all of them or those of ``kind`` ("branch", "point")."""
        if kind not in (None, "branch", "point"):
            raise ContinuationError(f"kind must be 'branch', 'point' or None, got {kind!r}")
        return sorted((n for n, a in self.graph.nodes(data=True) if kind is None or a["type"] == kind), key=_id_key)

    def _live_object(self, node_id, kind):
        self._require(node_id, kind)
        if node_id not in self._live:
            raise ContinuationError(f"node {node_id!r} was read from JSON and has no live {kind} object: its record "
                                    f"is graph.graph.nodes[{node_id!r}]; recompute the {kind} to continue from it")
        return self._live[node_id]

    def has_live(self, node_id):
        """Whether the live Branch / BifurcationPoint of a node is available (not after :meth:`from_json`)."""
        return node_id in self._live

    def branch(self, node_id):
        """The live :class:`~dynsys_eos.continuation.Branch` of a branch node (an error after :meth:`from_json`)."""
        return self._live_object(node_id, "branch")

    def point(self, node_id):
        """The live :class:`~dynsys_eos.bifurcation.BifurcationPoint` of a point node (not after :meth:`from_json`)."""
        return self._live_object(node_id, "point")

    def points_on(self, branch_node):
        """Ids of the points on a branch node, in order."""
        self._require(branch_node, "branch")
        return sorted((v for v in self.graph.successors(branch_node)), key=_id_key)

    def born_at(self, branch_node):
        """The id of the point a branch was born at, or None."""
        self._require(branch_node, "branch")
        parents = list(self.graph.predecessors(branch_node))
        return parents[0] if parents else None

    def chain(self, start_branch, kind=None):
        """Follow "born at" edges from a branch: ``[branch, point, branch, point, branch, ...]`` (a cascade).

        At each branch the chain goes on through the point on it at which a
        branch was born.  Where several points of a branch (of ``kind``,
        if given) have branches born at them the way on is ambiguous, and an
        error lists them: pass ``kind`` (``"flip"`` for a period-doubling
        cascade) to choose.
        """
        if kind is not None and kind not in _KINDS:
            raise ContinuationError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")
        self._require(start_branch, "branch")
        sequence, seen = [start_branch], {start_branch}
        current = start_branch
        while True:
            options = [(p, b) for p in self.points_on(current)
                       if kind is None or self.graph.nodes[p]["kind"] == kind
                       for b in sorted(self.graph.successors(p), key=_id_key)]
            if not options:
                return sequence
            if len(options) > 1:
                listed = ", ".join(f"{b} born at {p} ({self.graph.nodes[p]['kind']})" for p, b in options)
                raise ContinuationError(f"the chain from {start_branch!r} branches at {current!r}: {listed}; "
                                        f"pass kind= to choose")
            point, child = options[0]
            if child in seen:
                raise ContinuationError(f"the chain from {start_branch!r} returns to {child!r} (a cycle)")
            sequence += [point, child]
            seen.add(child)
            current = child

    # ------------------------------------------------------------------ serialization

    def to_json(self):
        """The graph as JSON text (sorted keys, nodes and edges in id order: equal graphs give equal text)."""
        nodes = [{"id": n, "attributes": dict(self.graph.nodes[n])} for n in self.nodes()]
        edges = [{"source": u, "target": v, "relation": a["relation"]}
                 for u, v, a in sorted(self.graph.edges(data=True), key=lambda e: (_id_key(e[0]), _id_key(e[1])))]
        document = {"format": FORMAT, "version": VERSION, "nodes": nodes, "edges": edges}
        return json.dumps(document, sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text):
        """Read a graph written by :meth:`to_json` (validated; malformed input raises ContinuationError).

        The graph read has the records only: :meth:`branch` and
        :meth:`point` are not available for its nodes.
        """
        if not isinstance(text, (str, bytes, bytearray)):
            raise ContinuationError(f"expected JSON text, got {type(text).__name__}")
        try:
            document = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, _Invalid) as exc:
            raise ContinuationError(f"not a bifurcation graph: invalid JSON ({exc})") from None
        if not isinstance(document, dict):
            raise ContinuationError(f"not a bifurcation graph: expected a JSON object, got {type(document).__name__}")
        if document.get("format") != FORMAT:
            raise ContinuationError(f"not a bifurcation graph: format is {document.get('format')!r}, "
                                    f"expected {FORMAT!r}")
        version = document.get("version")
        if type(version) is not int or version != VERSION:
            raise ContinuationError(f"unsupported bifurcation graph version {version!r} "
                                    f"(this version reads version {VERSION})")
        try:
            return cls._build(document)
        except _Invalid as exc:
            raise ContinuationError(f"malformed bifurcation graph: {exc}") from None

    @classmethod
    def _build(cls, document):
        extra = sorted(set(document) - {"format", "version", "nodes", "edges"})
        if extra:
            raise _Invalid(f"unknown top-level field(s) {', '.join(extra)}")
        self = cls()
        for i, node in enumerate(_check_list(document.get("nodes"), "nodes")):
            where = f"nodes[{i}]"
            if not isinstance(node, dict) or set(node) != {"id", "attributes"}:
                raise _Invalid(f"{where}: expected an object with fields 'id' and 'attributes'")
            node_id = node["id"]
            match = _ID.match(node_id) if isinstance(node_id, str) else None
            if match is None:
                raise _Invalid(f"{where}.id: expected 'B<number>' or 'P<number>', got {node_id!r}")
            if node_id in self.graph:
                raise _Invalid(f"{where}.id: node {node_id!r} appears twice")
            where = f"{where} ({node_id}).attributes"
            attributes = node["attributes"]
            if not isinstance(attributes, dict):
                raise _Invalid(f"{where}: expected an object, got {type(attributes).__name__}")
            attributes = dict(attributes)
            kind = {"B": "branch", "P": "point"}[match.group(1)]
            if attributes.pop("type", None) != kind:
                raise _Invalid(f"{where}.type: node {node_id!r} must have type {kind!r}")
            record = (_validate_branch if kind == "branch" else _validate_point)(attributes, where)
            self.graph.add_node(node_id, type=kind, **record)
            letter, number = match.group(1), int(match.group(2))
            self._counters[letter] = max(self._counters[letter], number + 1)
        for i, edge in enumerate(_check_list(document.get("edges"), "edges")):
            where = f"edges[{i}]"
            if not isinstance(edge, dict) or set(edge) != {"source", "target", "relation"}:
                raise _Invalid(f"{where}: expected an object with fields 'source', 'target' and 'relation'")
            u, v, relation = edge["source"], edge["target"], edge["relation"]
            _check_choice(relation, f"{where}.relation", tuple(_RELATIONS))
            for end, name in ((u, "source"), (v, "target")):
                if not isinstance(end, str) or end not in self.graph:
                    raise _Invalid(f"{where}.{name}: {end!r} is not a node")
            expected = _RELATIONS[relation]
            actual = (self.graph.nodes[u]["type"], self.graph.nodes[v]["type"])
            if actual != expected:
                raise _Invalid(f"{where}: relation {relation!r} goes from a {expected[0]} to a {expected[1]}, "
                               f"not from a {actual[0]} ({u}) to a {actual[1]} ({v})")
            if self.graph.has_edge(u, v):
                raise _Invalid(f"{where}: edge {u} -> {v} appears twice")
            if relation == "born at" and self.graph.in_degree(v) > 0:
                raise _Invalid(f"{where}: branch {v!r} is born at two points")
            self.graph.add_edge(u, v, relation=relation)
        return self

    # ------------------------------------------------------------------ reports

    def summary_table(self):
        """A fixed-width table for a person: one row per node, each branch followed by the points on it.

        Columns: node, kind, period, the parameter (a point's value rounded
        to the digits achieved; a branch's range), digits, the branch's status
        per direction or the point's criticality (else its status), the
        branch a point is on, and the point a branch was born at.
        """
        parameters = sorted({a["parameter"] for _, a in self.graph.nodes(data=True)})
        header = ["node", "kind", "period", " / ".join(parameters) or "parameter", "digits", "status / criticality",
                  "on", "born at"]
        order = []
        for b in self.nodes("branch"):
            order += [b] + self.points_on(b)
        order += [p for p in self.nodes("point") if p not in order]  # points on no branch (hand-written JSON)
        rows = []
        for n in order:
            a = self.graph.nodes[n]
            parents = list(self.graph.predecessors(n))
            if a["type"] == "branch":
                values = [p["parameter"] for p in a["points"] if not isinstance(p["parameter"], str)]
                value = f"{min(values):.8g} .. {max(values):.8g}" if values else "-"
                status = ", ".join(f"{d}: {s}" for d, s in sorted(a["status"].items()) if s != "not-run") or "-"
                rows.append([n, "branch", str(a["period"]), value, "-", status, "-", parents[0] if parents else "-"])
            else:
                value = _rounded(a["value"], a["digits"]) if a["value"] is not None else \
                    f"in [{_short(a['bracket'][0])}, {_short(a['bracket'][1])}]"
                status = a["criticality"] or a["status"]
                rows.append([n, _KIND_NAMES[a["kind"]], str(a["period"]), value,
                             str(a["digits"]) if a["digits"] else "-", status, parents[0] if parents else "-", "-"])
        widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header] + rows)

    def __repr__(self):
        return (f"BifurcationGraph({len(self.nodes('branch'))} branches, {len(self.nodes('point'))} points, "
                f"{self.graph.number_of_edges()} edges)")


def _short(x):
    """A float (or 'nan', 'inf', '-inf') in 6 significant digits."""
    return x if isinstance(x, str) else f"{x:.6g}"


def _reject_constant(name):
    raise _Invalid(f"{name} is not allowed (non-finite floats are written as the strings 'nan', 'inf', '-inf')")


def _rounded(text, digits):
    """A decimal string rounded to the digits achieved (relative to max(1, |value|), as locate measures them)."""
    with mpmath.workdps(len(text) + 10):
        x = mpmath.mpf(text)
        if x == 0:
            return "0.0"
        exponent = int(mpmath.floor(mpmath.log10(abs(x)))) + 1
        significant = digits if exponent >= 1 else digits + exponent
        return mpmath.nstr(x, max(significant, 1))
