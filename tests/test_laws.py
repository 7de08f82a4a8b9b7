"""Conservation laws (dynsys_eos.laws, dynsys_eos.lie): known answers, properties, exact GD identities.

Known answers: x^2 - y^2 style laws of the minimalist models (Zhu et al.),
w_{i+1}^2 - w_i^2 of the depth-L scalar network (L - 1 laws), the entries of
U^T U - V^T V for U V^T (r(r+1)/2 laws, Marcotte, Gribonval, Peyre 2023),
the balancedness matrices W_{l+1}^T W_{l+1} - W_l W_l^T of deep matrix
factorization (Arora, Cohen, Hazan 2018), v v^T - U U^T for the uv model and
||U x||^2 - ||x||^2 ||v||^2 when the input x is fixed.
"""

import mpmath
import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dynsys_eos.arith import MP
from dynsys_eos.errors import ModelError, ParameterError
from dynsys_eos.laws import (LawOptions, singular_direction_gaps, conservation_laws, factorization_loss, gd_step_factor, known_laws,
                             laws_along_gd, lie_derivative, same_span)
from dynsys_eos.lie import lie_rank, model_fields
from dynsys_eos.loss import Loss
from dynsys_eos.models import build_model

FAST = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _model(name, **structure):
    m = build_model(name, **structure)
    return m, m.model.loss, known_laws(name, m.model.loss.state, m.model.structure)


def _assert_laws(loss, result):
    """Every law found has zero Lie derivative along grad L, symbolically, for every parameter value."""
    for law in result.laws:
        assert lie_derivative(law, loss) == 0, law


# -- known answers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, structure, count", [
    ("minimalist", {}, 3),
    ("minimalist2", {}, 1),
    ("scalar-net", {"depth": 2}, 1),
    ("scalar-net", {"depth": 5}, 4),
    ("uv", {"n": 3, "d": 2}, 6),           # v v^T - U U^T: n(n+1)/2 entries
    ("dmf", {"depth": 2, "dim": 2}, 3),    # one balancedness matrix, d(d+1)/2 entries
    ("dmf", {"depth": 3, "dim": 2}, 6),
    ("dmf", {"depth": 4, "dim": 2}, 9),
])
def test_seed_models_laws_are_the_textbook_ones(name, structure, count):
    m, loss, textbook = _model(name, **structure)
    result = conservation_laws(loss)
    assert (result.count, result.complete, result.status) == (count, True, "complete")
    assert same_span(result.laws, textbook, loss.state)
    _assert_laws(loss, result)


def test_uv_with_one_input_has_more_polynomial_laws_than_the_balancedness_ones():
    # d = 1: one direction grad(v.U); D - 1 = 7 laws; v_i U_j - v_j U_i are laws too
    m, loss, textbook = _model("uv", n=4, d=1)
    result = conservation_laws(loss)
    assert (result.count, result.independent, result.complete) == (7, 7, True)
    assert same_span(list(result.laws), list(result.laws) + textbook, loss.state)  # textbook laws inside the span
    U1, U2, v1, v2 = sympy.symbols("U1_1 U2_1 v1 v2", real=True)
    assert same_span(list(result.laws), list(result.laws) + [U1 * v2 - U2 * v1], loss.state)
    _assert_laws(loss, result)


def test_uv_with_the_input_fixed_conserves_norm_of_Ux_minus_norm_x_squared_norm_v():
    m = build_model("uv", n=4, d=2)
    loss = m.model.loss
    result = conservation_laws(loss, fixed={"x1": 1, "x2": 2})
    U = sympy.Matrix(4, 2, loss.state[:8])
    v = sympy.Matrix(loss.state[8:])
    x = sympy.Matrix([1, 2])
    law = sympy.expand((U * x).dot(U * x) - x.dot(x) * v.dot(v))
    assert same_span(list(result.laws), list(result.laws) + [law], loss.state)
    assert result.count == result.dimension - 1 and result.complete


def test_dmf_depth_3_dim_3_has_twelve_balancedness_laws():
    m, loss, textbook = _model("dmf", depth=3, dim=3)
    result = conservation_laws(loss)
    assert (result.count, result.dimension, result.lie.rank, result.complete) == (12, 27, 15, True)
    assert same_span(result.laws, textbook, loss.state)


def test_laws_without_parameters_held_count_D_minus_one():
    m = build_model("scalar-net", depth=3)
    result = conservation_laws(m.model.loss, fixed={"sigma": 2})
    assert result.held == () and result.count == 2 and result.complete


# -- properties (hypothesis) -----------------------------------------------------------------------

@FAST
@given(n=st.integers(1, 3), m=st.integers(1, 3), r=st.integers(1, 3))
@example(n=4, m=4, r=2)
@example(n=3, m=2, r=2)
def test_factorization_has_r_r_plus_one_over_two_laws(n, m, r):
    loss = factorization_loss(n, m, r)
    result = conservation_laws(loss)
    if r <= min(n, m):
        assert result.count == r * (r + 1) // 2
        assert same_span(result.laws, known_laws("uvt", loss.state, {"n": n, "m": m, "r": r}), loss.state)
    assert result.independent <= result.count
    _assert_laws(loss, result)


@FAST
@given(depth=st.integers(2, 6))
@example(depth=3)
def test_scalar_net_has_depth_minus_one_laws(depth):
    m, loss, textbook = _model("scalar-net", depth=depth)
    result = conservation_laws(loss)
    assert result.count == depth - 1 and result.complete
    assert same_span(result.laws, textbook, loss.state)
    _assert_laws(loss, result)


@FAST
@given(depth=st.integers(2, 3), dim=st.integers(1, 2), seed=st.integers(0, 10**6))
@example(depth=3, dim=2, seed=0)
def test_dmf_count_and_laws_do_not_depend_on_the_random_points(depth, dim, seed):
    m, loss, textbook = _model("dmf", depth=depth, dim=dim)
    result = conservation_laws(loss, options=LawOptions(seed=seed))
    assert result.count == (depth - 1) * dim * (dim + 1) // 2
    assert same_span(result.laws, textbook, loss.state)
    _assert_laws(loss, result)


def test_without_python_flint_the_same_laws_come_out(monkeypatch):
    import dynsys_eos.lie as lie

    m, loss, textbook = _model("dmf", depth=2, dim=2)
    b = conservation_laws(loss)
    monkeypatch.setattr(lie, "flint", None)  # sympy polynomials and sympy's DomainMatrix throughout
    a = conservation_laws(loss)
    assert a.laws == b.laws and a.count == b.count == 3 and a.complete


def test_degree_one_search_finds_no_quadratic_law_and_says_incomplete():
    m, loss, _ = _model("minimalist2")
    result = conservation_laws(loss, options=LawOptions(degree=1))
    assert result.laws == () and result.count == 1 and not result.complete and result.status == "incomplete"
    assert "not found" in result.message


def test_too_many_unknowns_is_a_status_and_the_count_stands():
    m, loss, _ = _model("dmf", depth=2, dim=2)
    result = conservation_laws(loss, options=LawOptions(max_unknowns=5))
    assert (result.success, result.status, result.count) == (False, "too-large", 3)


def test_lie_rank_levels_grow_until_stable():
    m = build_model("dmf", depth=3, dim=3)
    rank = lie_rank(model_fields(m.model.loss))
    assert rank.levels[-1] == rank.levels[-2] == rank.rank == 15 and rank.ranks == (15, 15)


# -- errors ------------------------------------------------------------------------------------------------

def test_bad_input_is_a_typed_error():
    x, y = sympy.symbols("x y")
    with pytest.raises(ModelError, match="polynomial"):
        conservation_laws(Loss(sympy.exp(x) * y, [x, y]))
    with pytest.raises(ModelError, match="no parameter"):
        conservation_laws(build_model("minimalist").model.loss, fixed={"q": 1})
    with pytest.raises(ParameterError, match="degree"):
        LawOptions(degree=0)
    with pytest.raises(ParameterError, match="backend"):
        LawOptions(backend="magma")
    with pytest.raises(ParameterError, match="n must be"):
        factorization_loss(0, 2, 1)


# -- gradient descent: exact identities and decay beyond the edge of stability -------------------------

def test_minimalist2_gd_identity_derived_exactly():
    """(x^2 - y^2)' = (x^2 - y^2)(1 - lr^2 (1 - x^2 y^2)^2 x^2 y^2) for 1/4 (1 - x^2 y^2)^2."""
    loss = build_model("minimalist2").model.loss
    x, y = loss.state
    lr = sympy.Symbol("lr", real=True)
    step = {x: x - lr * sympy.diff(loss.expr, x), y: y - lr * sympy.diff(loss.expr, y)}
    identity = (x**2 - y**2).xreplace(step) - (x**2 - y**2) * (1 - lr**2 * (1 - x**2 * y**2) ** 2 * x**2 * y**2)
    assert sympy.expand(identity) == 0
    factor = gd_step_factor(loss, x**2 - y**2, lr)
    assert sympy.expand(factor - (1 - lr**2 * (1 - x**2 * y**2) ** 2 * x**2 * y**2)) == 0


def test_minimalist_four_variable_gd_factor():
    """For 1/2 (1 - xyzw)^2 the factor of x^2 - y^2 is 1 - lr^2 (1 - xyzw)^2 z^2 w^2 (not the 2-variable one)."""
    loss = build_model("minimalist").model.loss
    x, y, z, w = loss.state
    lr = sympy.Symbol("lr", real=True)
    factor = gd_step_factor(loss, x**2 - y**2, lr)
    assert sympy.expand(factor - (1 - lr**2 * (1 - x * y * z * w) ** 2 * z**2 * w**2)) == 0
    assert gd_step_factor(loss, x**2 - y**2 + z, lr) is None  # no such identity for a non-law


@FAST
@given(depth=st.integers(2, 5), i=st.integers(0, 3))
@example(depth=3, i=0)
def test_scalar_net_gd_factor(depth, i):
    i = i % (depth - 1)
    loss = build_model("scalar-net", depth=depth).model.loss
    w = loss.state
    sigma = loss.parameters[0]
    lr = sympy.Symbol("lr", real=True)
    product = sympy.Mul(*w)
    others = sympy.Mul(*[w[j] for j in range(depth) if j not in (i, i + 1)])
    expected = 1 - lr**2 * (product - sigma) ** 2 * others**2
    assert sympy.expand(gd_step_factor(loss, w[i + 1] ** 2 - w[i] ** 2, lr) - expected) == 0


@FAST
@given(lr=st.fractions("1/10", "9/10").map(str), x=st.fractions("1/2", "3/2").map(str),
       y=st.fractions("1/2", "3/2").map(str))
@example(lr="11/20", x="6/5", y="9/10")
def test_minimalist2_law_shrinks_by_the_exact_factor_each_step(lr, x, y):
    m = build_model("minimalist2")
    X, Y = m.model.loss.state
    law = X**2 - Y**2
    run = laws_along_gd(m, [law], [x, y], 6, {"lr": lr}, ctx=MP(dps=40))
    factor = gd_step_factor(m.model.loss, law)
    symbols = {s.name: s for s in factor.free_symbols}
    ratios = run.step_factors()
    with mpmath.workdps(40):
        for k in range(6):
            state = run.states[k]
            q = factor.xreplace({symbols["x"]: sympy.Float(state[0], 45), symbols["y"]: sympy.Float(state[1], 45),
                                 symbols["lr"]: sympy.Rational(lr)})
            expected = run.values[k][0] * mpmath.mpf(sympy.Float(q, 45))
            assert abs(run.values[k + 1][0] - expected) <= mpmath.mpf(10) ** -35 * max(1, abs(expected))
            if run.values[k][0] != 0:  # relative accuracy of the ratio: 40 digits less those lost in h
                tolerance = mpmath.mpf(10) ** -35 / abs(run.values[k][0])
                assert abs(ratios[k][0] - mpmath.mpf(sympy.Float(q, 45))) <= tolerance


def test_scalar_net_balancing_gap_decays_beyond_the_edge_of_stability():
    # depth 3, sigma 1: the flattest minimum loses stability at lr = 2/3
    m, loss, textbook = _model("scalar-net", depth=3)
    start = ["1.3", "1", "0.6"]
    below = laws_along_gd(m, textbook, start, 400, {"lr": "0.5"})
    beyond = laws_along_gd(m, textbook, start, 400, {"lr": "0.8"})
    assert below.gap[-1] > 0.9 * below.gap[0]          # converges with the imbalance almost kept
    assert beyond.gap[-1] < 1e-6 * beyond.gap[0]        # oscillates, and the imbalance decays


def test_dmf_balancing_gap_of_the_top_direction_decays_beyond_its_threshold():
    # depth 3, sigmas (2, 1): the top direction's threshold is 2/(3 * 2^(4/3)) = 0.2646
    m, loss, textbook = _model("dmf", depth=3, dim=2)
    start = ["1.5", "0.05", "0.05", "1.2", "1.2", "0.05", "0.05", "1.0", "0.9", "0.05", "0.05", "0.8"]
    top = [0, 3]  # the (1,1) entries of W2^T W2 - W1 W1^T and W3^T W3 - W2 W2^T
    below = laws_along_gd(m, textbook, start, 1500, {"lr": "0.2"})
    beyond = laws_along_gd(m, textbook, start, 1500, {"lr": "0.3"})
    assert max(abs(below.values[-1][k]) for k in top) > 0.5
    assert max(abs(beyond.values[-1][k]) for k in top) < 1e-3


@given(st.lists(st.floats(0.1, 3), min_size=6, max_size=6))
@example([2.0, 1.0, 0.5, 1.5, 1.0, 1.0])  # the layers' singular values cross: sorting would pair them wrongly
@settings(max_examples=40, deadline=None)
def test_singular_direction_gaps_on_the_aligned_set_are_the_scalar_gaps(diagonal):
    import numpy as np

    d = np.array(diagonal).reshape(3, 2)  # layer l, direction i
    state = np.concatenate([np.diag(row).ravel() for row in d])
    expected = np.abs(np.diff(d ** 2, axis=0)).max(axis=0)
    assert np.allclose(singular_direction_gaps([state], depth=3, dim=2)[0], expected, rtol=1e-12, atol=1e-12)


def test_singular_direction_gaps_checks_the_shape():
    with pytest.raises(ParameterError, match="T x 12"):
        singular_direction_gaps([[1.0, 2.0]], depth=3, dim=2)
