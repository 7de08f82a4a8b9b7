"""Tests of dynsys_eos.graph: records, exact JSON round trips, validation, chains, the summary table.

Known answers: the logistic map x -> r x (1 - x) doubles its period at
r = 3 (period 1 -> 2) and r = 1 + sqrt(6) = 3.44948974278317809819728...
(period 2 -> 4).
"""

import json
import mpmath
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dynsys_eos.bifurcation import locate, switch
from dynsys_eos.continuation import ContinuationOptions, ContinuationProblem, continue_branch
from dynsys_eos.errors import ContinuationError, DynsysError
from dynsys_eos.graph import FORMAT, VERSION, BifurcationGraph, branch_record, point_record
from dynsys_eos.models import build_model

ONE_PLUS_SQRT6 = "3.449489742783178098197284074705891391965947480656670128432692567250960377457315"


@pytest.fixture(scope="module")
def cascade(logistic_cascade):
    """The logistic cascade 1 -> 2 -> 4 as a graph, with the live objects."""
    b1, f1, b2, f2, b4 = logistic_cascade
    g = BifurcationGraph()
    n1 = g.add_branch(b1)
    p1 = g.add_point(n1, f1)
    n2 = g.add_branch(b2, born_at=p1)
    p2 = g.add_point(n2, f2)
    g.add_branch(b4, born_at=p2)
    return g, (b1, f1, b2, f2, b4)


# ------------------------------------------------------------------------------------------ building


def test_ids_edges_and_live_objects(cascade):
    g, (b1, f1, b2, f2, b4) = cascade
    assert g.nodes() == ["B0", "B1", "B2", "P0", "P1"]
    assert g.nodes("branch") == ["B0", "B1", "B2"] and g.nodes("point") == ["P0", "P1"]
    assert {(u, v): a["relation"] for u, v, a in g.graph.edges(data=True)} == {
        ("B0", "P0"): "on", ("P0", "B1"): "born at", ("B1", "P1"): "on", ("P1", "B2"): "born at"}
    assert g.branch("B0") is b1 and g.branch("B2") is b4 and g.point("P1") is f2
    assert [g.graph.nodes[b]["period"] for b in ("B0", "B1", "B2")] == [1, 2, 4]
    assert g.born_at("B1") == "P0" and g.born_at("B0") is None and g.points_on("B1") == ["P1"]
    # adding the same object again gives the same node
    assert g.add_branch(b1) == "B0" and g.add_point("B0", f1) == "P0"
    assert g.graph.number_of_nodes() == 5


def test_chain_follows_born_at_edges(cascade):
    g, _ = cascade
    assert g.chain("B0") == ["B0", "P0", "B1", "P1", "B2"]
    assert g.chain("B1") == ["B1", "P1", "B2"]
    assert g.chain("B2") == ["B2"]
    assert g.chain("B0", kind="flip") == g.chain("B0")
    assert g.chain("B0", kind="fold") == ["B0"]
    with pytest.raises(ContinuationError, match="is a point, not a branch"):
        g.chain("P0")


def test_continue_from_a_node(cascade):
    g, _ = cascade
    problem = switch(g.branch("B1"), g.point("P1"))
    assert problem.period == 4 and abs(problem.start_value - 3.4495) < 1e-2


def test_point_record_keeps_every_digit(cascade):
    g, (b1, f1, b2, f2, b4) = cascade
    record = g.graph.nodes["P1"]
    assert record["digits"] >= 30
    # the stored string carries the digits achieved plus five guard digits, none lost to float64 rounding
    assert record["value"] == mpmath.nstr(f2.value, record["digits"] + 5)
    with mpmath.workdps(80):
        error = abs(mpmath.mpf(record["value"]) - mpmath.mpf(ONE_PLUS_SQRT6))
        assert error < mpmath.mpf(10) ** (-record["digits"])
        # the orbit: the period-2 points (r + 1 +- sqrt((r - 3)(r + 1))) / (2 r) at r = 1 + sqrt(6)
        r = mpmath.mpf(ONE_PLUS_SQRT6)
        exact = sorted([(r + 1 + s * mpmath.sqrt((r - 3) * (r + 1))) / (2 * r) for s in (1, -1)])
        stored = sorted(mpmath.mpf(x[0]) for x in record["orbit"])
        assert max(abs(a - b) for a, b in zip(exact, stored)) < mpmath.mpf(10) ** (-record["digits"])
    assert record["criticality"] == "supercritical" and record["kind"] == "flip" and record["period"] == 2
    assert record["coefficient"] == mpmath.nstr(f2.coefficient, f2.coefficient_digits + 5)
    assert g.graph.nodes["P0"]["value"] == "3.0"


def test_branch_record(cascade):
    g, (b1, *_rest) = cascade
    record = g.graph.nodes["B0"]
    assert record == {"type": "branch", **branch_record(b1)}
    assert (record["model"], record["period"], record["parameter"], record["parameters"]) == ("logistic", 1, "r", {})
    assert record["state_names"] == ["x"] and record["status"]["forward"] == "reached-bound"
    first = record["points"][0]
    assert first["parameter"] == 2.8 and first["stable"] is True and first["unstable_count"] == 0
    assert first["multipliers"] == [[pytest.approx(-0.8), 0.0]]
    assert first["orbit"] == [[pytest.approx(1 - 1 / 2.8)]]
    assert all(isinstance(v, float) for p in record["points"] for v in (p["parameter"], *p["orbit"][0]))
    json.dumps(record, allow_nan=False)


def test_fixed_parameters_are_exact_strings():
    problem = ContinuationProblem.from_guess(build_model("henon"), 1, "a", ["0.6", "0.18"], {"a": "0.2", "b": "3/10"})
    branch = continue_branch(problem, options=ContinuationOptions(p_min=0.1, p_max=0.5, direction="forward"))
    g = BifurcationGraph()
    node = g.add_branch(branch)
    assert g.graph.nodes[node]["parameters"] == {"b": "3/10"}
    assert g.graph.nodes[node]["state_names"] == ["x", "y"]
    flip = locate(branch, branch.detections[0], dps=20)
    point = g.add_point(node, flip)
    assert g.graph.nodes[point]["value"] == "0.3675"  # 3 (1 - b)^2 / 4
    assert BifurcationGraph.from_json(g.to_json()).to_json() == g.to_json()


def test_add_errors(cascade):
    g, (b1, f1, b2, f2, b4) = cascade
    fresh = BifurcationGraph()
    with pytest.raises(ContinuationError, match="no node 'B7'"):
        fresh.add_point("B7", f1)
    node = fresh.add_branch(b1)
    with pytest.raises(ContinuationError, match="period-2 point in 'r' cannot lie on branch 'B0'"):
        fresh.add_point(node, f2)
    with pytest.raises(ContinuationError, match="is a branch, not a point"):
        fresh.add_branch(b2, born_at=node)
    p = fresh.add_point(node, f1)
    fresh.add_branch(b2, born_at=p)
    other = fresh.add_point(node, locate(b1, b1.detections[0], dps=20))
    with pytest.raises(ContinuationError, match="already born at 'P0'"):
        fresh.add_branch(b2, born_at=other)


# ------------------------------------------------------------------------------------------ round trip


def test_round_trip_exact(cascade):
    g, _ = cascade
    text = g.to_json()
    h = BifurcationGraph.from_json(text)
    assert h.to_json() == text
    assert dict(h.graph.nodes(data=True)) == dict(g.graph.nodes(data=True))
    assert {(u, v): a for u, v, a in h.graph.edges(data=True)} == {(u, v): a for u, v, a in g.graph.edges(data=True)}
    assert h.chain("B0") == g.chain("B0") and h.summary_table() == g.summary_table()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))


def test_read_graph_has_no_live_objects_and_new_ids_continue(cascade):
    g, (b1, *_rest) = cascade
    h = BifurcationGraph.from_json(g.to_json())
    assert not h.has_live("B0") and g.has_live("B0")
    with pytest.raises(ContinuationError, match="read from JSON"):
        h.branch("B0")
    with pytest.raises(ContinuationError, match="read from JSON"):
        h.point("P0")
    assert h.add_branch(b1) == "B3"
    assert h.branch("B3") is b1


def test_not_finite_floats_are_strings():
    g = BifurcationGraph.from_json(json.dumps(_document([_branch_record(parameter="nan", tangent="-inf")], [], [])))
    attributes = g.graph.nodes["B0"]
    assert attributes["points"][0]["parameter"] == "nan" and attributes["points"][0]["tangent_parameter"] == "-inf"
    assert "NaN" not in g.to_json() and "Infinity" not in g.to_json()


# ------------------------------------------------------------------------------------------ hypothesis

FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([-0.0, 5e-324, -1.7976931348623157e308,
                                                                              "nan", "inf", "-inf"])
DECIMALS = (st.decimals(allow_nan=False, allow_infinity=False).map(str)
            | st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{1,80})?([eE][+-]?[0-9]{1,4})?", fullmatch=True)
            | st.floats(allow_nan=False, allow_infinity=False).map(lambda x: mpmath.nstr(mpmath.mpf(x), 17)))
TEXT = st.text(max_size=30)
KINDS = st.sampled_from(["flip", "fold", "ns", "branch"])


def _branch_record(parameter=2.5, tangent=1.0, period=1, names=("x",)):
    return {"type": "branch", "model": "m", "period": period, "parameter": "r", "parameters": {},
            "state_names": list(names), "origin": "given orbit", "status": {"forward": "reached-bound"}, "manifold_dimension": 0, "message": "",
            "start_index": 0, "detections": [],
            "points": [{"parameter": parameter, "orbit": [[0.5] * len(names)] * period, "stable": True,
                        "unstable_count": 0, "multipliers": [[0.5, 0.0]] * len(names), "tangent_parameter": tangent}]}


def _point_record(value="3.0", period=1):
    return {"type": "point", "kind": "flip", "parameter": "r", "status": "located", "value": value, "digits": 40,
            "bracket": [2.9, 3.1], "period": period, "branch_index": 0, "coefficient": "9.0", "coefficient_digits": 40,
            "criticality": "supercritical", "angle": None, "orbit": [["0.666"]] * period, "message": "flip located"}


def _document(branches, points, edges):
    nodes = [{"id": f"B{i}", "attributes": b} for i, b in enumerate(branches)]
    nodes += [{"id": f"P{i}", "attributes": p} for i, p in enumerate(points)]
    return {"format": FORMAT, "version": VERSION, "nodes": nodes,
            "edges": [{"source": u, "target": v, "relation": r} for u, v, r in edges]}


@st.composite
def branch_records(draw):
    period = draw(st.integers(1, 3))
    names = draw(st.lists(st.sampled_from(["x", "y", "w_1", "v_x"]), min_size=1, max_size=2, unique=True))
    points = draw(st.lists(st.fixed_dictionaries({
        "parameter": FLOATS,
        "orbit": st.lists(st.lists(FLOATS, min_size=len(names), max_size=len(names)), min_size=period, max_size=period),
        "stable": st.sampled_from([True, False, None]),
        "unstable_count": st.integers(0, 5),
        "multipliers": st.lists(st.lists(FLOATS, min_size=2, max_size=2), max_size=3),
        "tangent_parameter": FLOATS,
    }), min_size=1, max_size=4))
    return {
        "type": "branch", "model": draw(TEXT), "period": period, "parameter": draw(st.sampled_from(["r", "lr", "a"])),
        "parameters": draw(st.dictionaries(TEXT, TEXT, max_size=2)), "state_names": names, "origin": draw(TEXT),
        "status": draw(st.dictionaries(st.sampled_from(["forward", "backward"]), TEXT)),
        "manifold_dimension": draw(st.integers(0, 3)), "message": draw(TEXT),
        "start_index": draw(st.integers(0, len(points) - 1)),
        "detections": draw(st.lists(st.fixed_dictionaries({"kind": KINDS, "index": st.integers(0, 10),
                                                            "bracket": st.lists(FLOATS, min_size=2, max_size=2)}),
                                    max_size=2)),
        "points": points,
    }


@st.composite
def point_records(draw):
    period = draw(st.integers(1, 3))
    located = draw(st.booleans())
    return {
        "type": "point", "kind": draw(KINDS), "parameter": draw(st.sampled_from(["r", "lr"])),
        "status": "located" if located else "not-located",
        "value": draw(DECIMALS) if located else draw(st.none() | DECIMALS),
        "digits": draw(st.integers(0, 2000)), "bracket": draw(st.lists(FLOATS, min_size=2, max_size=2)),
        "period": period, "branch_index": draw(st.integers(0, 1000)), "coefficient": draw(st.none() | DECIMALS),
        "coefficient_digits": draw(st.integers(0, 100)),
        "criticality": draw(st.sampled_from([None, "supercritical", "subcritical"])),
        "angle": draw(st.none() | DECIMALS),
        "orbit": draw(st.lists(st.lists(DECIMALS, min_size=1, max_size=2), max_size=period)),
        "message": draw(TEXT),
    }


@st.composite
def documents(draw):
    branches = draw(st.lists(branch_records(), min_size=1, max_size=3))
    points = draw(st.lists(point_records(), max_size=3))
    edges = []
    for i in range(len(points)):
        edges.append((f"B{draw(st.integers(0, len(branches) - 1))}", f"P{i}", "on"))
    for j in range(1, len(branches)):
        if points and draw(st.booleans()):
            edges.append((f"P{draw(st.integers(0, len(points) - 1))}", f"B{j}", "born at"))
    key = lambda e: ((e[0][0], int(e[0][1:])), (e[1][0], int(e[1][1:])))  # noqa: E731 (canonical edge order)
    return _document(branches, points, sorted(edges, key=key))


PINNED_EXTREMES = _document(
    [dict(_branch_record(parameter=-0.0, tangent=5e-324), points=[
        {"parameter": -0.0, "orbit": [[1.7976931348623157e308]], "stable": None, "unstable_count": 0,
         "multipliers": [[-0.0, 2.2250738585072014e-308], ["nan", "-inf"]], "tangent_parameter": -5e-324}])],
    [dict(_point_record(value="-0.0000000000000000000000000000000000000001234567890123456789"), coefficient=None,
          criticality=None, angle="1E+400", orbit=[["1e-300"]])],
    [("B0", "P0", "on")])
PINNED_CASCADE = _document(
    [_branch_record(), _branch_record(period=2), _branch_record(period=4)],
    [_point_record(), _point_record(value=ONE_PLUS_SQRT6, period=2),
     dict(_point_record(value=None), status="not-located", digits=0, orbit=[], coefficient=None, criticality=None,
          coefficient_digits=0)],
    [("B0", "P0", "on"), ("B0", "P2", "on"), ("B1", "P1", "on"), ("P0", "B1", "born at"), ("P1", "B2", "born at")])


@settings(max_examples=60, deadline=None)
@given(documents())
@example(PINNED_EXTREMES)
@example(PINNED_CASCADE)
@example(_document([_branch_record()], [], []))
def test_round_trip_property(document):
    text_in = json.dumps(document, sort_keys=True)
    g = BifurcationGraph.from_json(text_in)
    text = g.to_json()
    assert text == text_in  # canonical input comes back byte for byte (-0.0, 5e-324, long decimals included)
    h = BifurcationGraph.from_json(text)
    assert h.to_json() == text
    assert dict(h.graph.nodes(data=True)) == dict(g.graph.nodes(data=True))
    assert list(h.graph.edges(data=True)) == list(g.graph.edges(data=True))
    for node in document["nodes"]:
        assert g.graph.nodes[node["id"]] == node["attributes"]
    g.summary_table()


@settings(max_examples=40, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(1, 200), st.integers(0, 300))
@example(1, 1, 0)
@example(0, 1, 0)
@example(-5, 3, 250)
def test_point_record_strings_are_stable(numerator, denominator, digits):
    """Decimal strings written from an mpf at any precision read back (as mpf) and re-write identically."""
    bits = mpmath.mp.prec
    with mpmath.workdps(digits + 30):
        value = mpmath.mpf(numerator) / denominator
    record = point_record(_FakePoint(value, digits))
    assert mpmath.mp.prec == bits  # the working precision is left alone
    with mpmath.workdps(digits + 30):
        again = point_record(_FakePoint(mpmath.mpf(record["value"]), digits))
    assert again["value"] == record["value"]
    with mpmath.workdps(digits + 30):
        assert abs(mpmath.mpf(record["value"]) - value) <= abs(value) * mpmath.mpf(10) ** (-digits - 4)


class _FakePoint:
    """Duck-typed BifurcationPoint (just what point_record reads)."""

    kind, parameter, status, bracket, period, branch_index, coefficient, coefficient_digits = \
        "flip", "r", "located", (0.0, 1.0), 1, 0, None, 0
    criticality, angle, message = None, None, ""

    def __init__(self, value, digits):
        self.value, self.digits, self.orbit = value, digits, ((value,),)


# ------------------------------------------------------------------------------------------ malformed input


def _mutated(change):
    document = json.loads(json.dumps(PINNED_CASCADE))
    change(document)
    return json.dumps(document)


def _set(path, value):
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _delete(path):
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


MALFORMED = [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"format": "other", "version": 1, "nodes": [], "edges": []}', "format is 'other'"),
    (_mutated(_set(["version"], 2)), "unsupported bifurcation graph version 2"),
    (_mutated(_set(["version"], "1")), "unsupported bifurcation graph version '1'"),
    (_mutated(_set(["version"], True)), "unsupported bifurcation graph version True"),
    (_mutated(_set(["version"], 1.0)), "unsupported bifurcation graph version 1.0"),
    (_mutated(_delete(["version"])), "unsupported bifurcation graph version None"),
    (_mutated(_set(["extra"], 1)), "unknown top-level field"),
    (_mutated(_delete(["nodes"])), "nodes: expected a list"),
    (_mutated(_set(["nodes", 0, "id"], "X0")), "expected 'B<number>' or 'P<number>'"),
    (_mutated(_set(["nodes", 0, "id"], "B01")), "expected 'B<number>' or 'P<number>'"),
    (_mutated(_set(["nodes", 1, "id"], "B0")), "appears twice"),
    (_mutated(_set(["nodes", 0, "attributes", "type"], "point")), "must have type 'branch'"),
    (_mutated(_delete(["nodes", 0, "attributes", "period"])), "missing field"),
    (_mutated(_set(["nodes", 0, "attributes", "colour"], "red")), "unknown field"),
    (_mutated(_set(["nodes", 0, "attributes", "period"], 0)), r"period: expected an integer >= 1"),
    (_mutated(_set(["nodes", 3, "attributes", "digits"], "40")), r"digits: expected an integer"),
    (_mutated(_set(["nodes", 3, "attributes", "digits"], True)), r"digits: expected an integer"),
    (_mutated(_set(["nodes", 3, "attributes", "value"], 3.0)), r"value: expected a decimal string"),
    (_mutated(_set(["nodes", 3, "attributes", "value"], "3,0")), r"value: expected a decimal string"),
    (_mutated(_set(["nodes", 3, "attributes", "value"], None)), "a located point needs a value"),
    (_mutated(_set(["nodes", 3, "attributes", "kind"], "hopf")), r"kind: expected one of"),
    (_mutated(_set(["nodes", 3, "attributes", "orbit"], [[0.666]])), r"orbit\[0\]\[0\]: expected a decimal string"),
    (_mutated(_set(["nodes", 0, "attributes", "points", 0, "parameter"], "2.5")), r"parameter: expected a number"),
    (_mutated(_set(["nodes", 0, "attributes", "points", 0, "orbit"], [[0.5, 0.5]])), "expected 1 states of 1"),
    (_mutated(_set(["nodes", 0, "attributes", "start_index"], 5)), "start_index"),
    (_mutated(_set(["nodes", 0, "attributes", "points", 0, "multipliers"], [[1.0]])), "expected 2 entries"),
    (_mutated(_set(["edges", 0, "target"], "P9")), "'P9' is not a node"),
    (_mutated(_set(["edges", 0, "relation"], "near")), "relation: expected one of"),
    (_mutated(_set(["edges", 0, "source"], "P1")), "relation 'on' goes from a branch to a point"),
    (_mutated(lambda d: d["edges"].append(d["edges"][0])), "appears twice"),
    (_mutated(lambda d: d["edges"].append({"source": "P2", "target": "B1", "relation": "born at"})),
     "born at two points"),
    ('{"format": "dynsys_eos.BifurcationGraph", "version": 1, "nodes": [], "edges": [], "x": NaN}',
     "NaN is not allowed"),
]


@pytest.mark.parametrize("text, message", MALFORMED)
def test_malformed_input_is_rejected(text, message):
    with pytest.raises(ContinuationError, match=message) as info:
        BifurcationGraph.from_json(text)
    assert isinstance(info.value, DynsysError)


def test_non_text_input_is_rejected():
    with pytest.raises(ContinuationError, match="expected JSON text"):
        BifurcationGraph.from_json({"format": FORMAT})


def test_pinned_documents_are_valid():
    for document in (PINNED_CASCADE, PINNED_EXTREMES):
        BifurcationGraph.from_json(json.dumps(document))


# ------------------------------------------------------------------------------------------ chain, table


def test_chain_ambiguous_and_cycle():
    document = json.loads(json.dumps(PINNED_CASCADE))
    document["nodes"][5]["attributes"]["kind"] = "fold"  # P2, on B0, now with a branch (B2) born at it
    document["edges"] = [e for e in document["edges"] if e["target"] != "B2"]
    document["edges"].append({"source": "P2", "target": "B2", "relation": "born at"})
    g = BifurcationGraph.from_json(json.dumps(document))
    with pytest.raises(ContinuationError, match="branches at 'B0': B1 born at P0 \\(flip\\), B2 born at P2 \\(fold\\)"):
        g.chain("B0")
    assert g.chain("B0", kind="flip") == ["B0", "P0", "B1"]
    assert g.chain("B0", kind="fold") == ["B0", "P2", "B2"]
    with pytest.raises(ContinuationError, match="kind must be one of"):
        g.chain("B0", kind="hopf")
    cyclic = json.loads(json.dumps(PINNED_CASCADE))
    cyclic["edges"].append({"source": "B2", "target": "P2", "relation": "on"})
    cyclic["edges"] = [e for e in cyclic["edges"] if (e["source"], e["target"]) != ("B0", "P2")]
    cyclic["edges"].append({"source": "P2", "target": "B0", "relation": "born at"})
    with pytest.raises(ContinuationError, match="cycle"):
        BifurcationGraph.from_json(json.dumps(cyclic)).chain("B0")


def test_summary_table(cascade):
    g, _ = cascade
    table = g.summary_table()
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["node", "kind", "period", "r"]
    assert [line.split()[0] for line in lines[1:]] == ["B0", "P0", "B1", "P1", "B2"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert " 3.0 " in rows["P0"] and "supercritical" in rows["P0"] and rows["P0"].split()[-2:] == ["B0", "-"]
    digits = g.graph.nodes["P1"]["digits"]
    shown = rows["P1"].split()[3]
    assert shown.startswith("3.449489742783178098197284") and len(shown) == digits + 1  # the digits achieved only
    assert ONE_PLUS_SQRT6.startswith(shown[:-1])
    assert rows["B1"].split()[-1] == "P0" and "forward: reached-bound" in rows["B1"]
    assert len({len(line) for line in lines}) > 0 and all("\t" not in line for line in lines)
    columns = [line.index(" r ") if i == 0 else None for i, line in enumerate(lines)][0]
    assert all(line[columns + 1:columns + 2] != " " for line in lines[1:])  # values aligned under the header


def test_summary_table_not_located_and_empty():
    g = BifurcationGraph.from_json(json.dumps(PINNED_CASCADE))
    row = [line for line in g.summary_table().splitlines() if line.startswith("P2")][0]
    assert "in [2.9, 3.1]" in row and "not-located" in row
    assert BifurcationGraph().summary_table().split() == ["node", "kind", "period", "parameter", "digits", "status",
                                                          "/", "criticality", "on", "born", "at"]
    assert repr(g) == "BifurcationGraph(3 branches, 3 points, 5 edges)"


def test_nodes_kind_checked():
    with pytest.raises(ContinuationError, match="kind must be"):
        BifurcationGraph().nodes("edge")


def test_rounding_keeps_leading_zeros_honest():
    document = json.loads(json.dumps(PINNED_CASCADE))
    document["nodes"][3]["attributes"].update(value="0.001234567890123", digits=6)
    g = BifurcationGraph.from_json(json.dumps(document))
    row = [line for line in g.summary_table().splitlines() if line.startswith("P0")][0]
    # 6 digits relative to max(1, |value|), as locate measures them: 6 decimals, 4 significant digits
    assert row.split()[3] == "0.001235"
