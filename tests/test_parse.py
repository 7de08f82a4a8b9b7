"""Tests of dynsys_eos.parse: exact values, rejections, and fuzzing.

The fuzz tests check two promises: any string gives a result or a
ParseError (nothing else), and no string is ever executed.  The latter uses
"probe" strings that call a function in a throw-away module if evaluated;
``sympy.sympify`` does fire them, our parser must not.
"""

import operator
import sys
import types
from fractions import Fraction

import pytest
import sympy
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from dynsys_eos.errors import ParseError
from dynsys_eos.parse import (
    ALLOWED_FUNCTIONS,
    CONSTANTS,
    parse_assignments,
    parse_expression,
    parse_map,
    parse_names,
    parse_number,
    parse_vector,
)

X, Y = sympy.symbols("x y")
SYMBOLS = {"x": X, "y": Y}
FUZZ = settings(max_examples=200, deadline=None)

# A module that records calls: evaluating a probe string would call touch().
PROBE_MODULE = types.ModuleType("_dynsys_eos_parse_probe")
PROBE_MODULE.calls = []
PROBE_MODULE.touch = lambda *args: PROBE_MODULE.calls.append(args) or 1
sys.modules[PROBE_MODULE.__name__] = PROBE_MODULE
PROBE = f"__import__({PROBE_MODULE.__name__!r}).touch()"
PROBES = [
    PROBE,
    f"(lambda: {PROBE})()",
    f"[{PROBE} for _ in (1,)]",
    f"exp({PROBE})",
    f"x + ({PROBE} or 1)",
    f"(y := {PROBE})",
    f"f'{{{PROBE}}}'",
    f"exp(x=({PROBE}))",
    f"sqrt(*[{PROBE}])",
    f"{PROBE} if x else 1",
]


def _all_parsers():
    return [
        lambda text: parse_expression(text, SYMBOLS),
        parse_number,
        parse_names,
        parse_assignments,
        lambda text: parse_map(text, SYMBOLS),
        parse_vector,
    ]


# ---------------------------------------------------------------- known values

@pytest.mark.parametrize("text, expected", [
    ("0.1", sympy.Rational(1, 10)),
    ("1e-3", sympy.Rational(1, 1000)),
    ("2/3", sympy.Rational(2, 3)),
    ("0.1 + 0.2", sympy.Rational(3, 10)),
    ("1_000.5", sympy.Rational(2001, 2)),
    ("1.5E+2", sympy.Integer(150)),
    (".5", sympy.Rational(1, 2)),
    ("5.", sympy.Integer(5)),
    ("0x10", sympy.Integer(16)),
    ("-2**2", sympy.Integer(-4)),
    ("2**3**2", sympy.Integer(512)),
    ("x**-1", 1 / X),
    ("x/y/2", X / Y / 2),
    ("x - y - 1", X - Y - 1),
    ("--x", X),
    ("+x", X),
    ("  (x\n + 1)  ", X + 1),
    ("sqrt(4)", sympy.Integer(2)),
    ("abs(x)", sympy.Abs(X)),
    ("pi*E", sympy.pi * sympy.E),
    ("exp(x) + log(y)", sympy.exp(X) + sympy.log(Y)),
    ("x**1000", X**1000),
])
def test_known_values(text, expected):
    result = parse_expression(text, SYMBOLS)
    assert result == expected
    assert not result.has(sympy.Float)


@pytest.mark.parametrize("name", sorted(ALLOWED_FUNCTIONS))
def test_every_function(name):
    assert parse_expression(f"{name}(x)", SYMBOLS) == ALLOWED_FUNCTIONS[name](X)


def test_constants():
    assert parse_expression("pi", {}) is sympy.pi
    assert parse_expression("E", {}) is sympy.E
    assert set(CONSTANTS) == {"pi", "E"}


def test_long_flat_sum_is_not_deep():
    # A chain a+b+c+... is a left-nested tree; it must not count as nesting.
    assert parse_expression("+".join(["x"] * 500), SYMBOLS) == 500 * X
    assert parse_expression("*".join(["x"] * 500), SYMBOLS) == X**500
    with pytest.raises(ParseError, match="too long"):   # Python's parser gives up
        parse_expression("+".join(["x"] * 5000), SYMBOLS)


# ------------------------------------------------------------------ rejections

@pytest.mark.parametrize("text, culprit", [
    ("__import__('os').system('echo hi')", "__import__"),
    ("().__class__", "__class__"),
    ("x.real", "x.real"),
    ("lambda: 1", "lambda"),
    ("[x]", "list"),
    ("x if y else 1", "conditional expression"),
    ("9**9**9", "exponent 387420489"),
    ("2**100000", "exponent 100000"),
    ("1/0", "not finite"),
    ("0**-1", "not finite"),
    ("log(0)", "not finite"),
    ("exp(x, y)", "exactly one argument"),
    ("exp()", "exactly one argument"),
    ("exp(x=1)", "keyword"),
    ("exp(*x)", "starred"),
    ("'abc'", "string literal"),
    ("b'abc'", "bytes literal"),
    ("1j", "complex literal"),
    ("True", "boolean literal"),
    ("x^2", "'**'"),
    ("x // 2", "'//'"),
    ("not x", "'not'"),
    ("z", "undeclared name 'z' (declared: x, y)"),
    ("foo(x)", "unknown function 'foo'"),
    ("x(1)", "declared name 'x'"),
    ("pi(1)", "constant 'pi'"),
    ("exp", "function 'exp' must be called"),
    ("x < y", "comparison"),
    ("x and y", "boolean operator"),
    ("(x := 1)", "assignment expression"),
    ("f'{x}'", "f-string"),
    ("x[0]", "subscript"),
    ("[x for x in y]", "comprehension"),
    ("x, y", "tuple"),
    ("(" * 500, "nested deeper than 200"),
    ("-" * 300 + "x", "nested deeper than 200"),
    ("-" * 19000 + "x", "nested"),
    ("", "empty"),
    ("   ", "empty"),
    ("x" * 20001, "longer than 20000"),
    ("1" * 1001, "more than 1000 digits"),
    ("1e5000", "1e5000"),
    ("x**(10**10)", "exponent 10000000000"),
    ("(x**100)**1000", "exponent"),
    ("exp(log(2)*10**6)", "exponent 1000000"),
    ("sqrt(10**999 + 7)", "root"),
    ("2**10000*" * 50 + "1", "bits"),
    ("(180688052593/25896517132454080)**(242/493)", "factoring"),
    ("sqrt(" + "9" * 500 + ")*sqrt(" + "7" * 500 + ")", "combines roots"),
    ("exp(exp(exp(100)))", "too large to evaluate"),
    ("exp(10**30)", "too large to evaluate"),
    ("pi**(pi**(pi**100))", "too large to evaluate"),
    ("exp(60000)*exp(60000)", "too large or too small"),
    ("1\0", "null bytes"),
    ("x\n+1", "invalid syntax"),
    ("\ud800", "could not build"),
])
def test_rejections_name_the_culprit(text, culprit):
    with pytest.raises(ParseError) as info:
        parse_expression(text, SYMBOLS)
    message = str(info.value)
    assert culprit in message
    assert "\n" not in message


def test_non_string_is_rejected():
    with pytest.raises(ParseError, match="must be a string"):
        parse_expression(b"x", SYMBOLS)


def test_declared_name_may_not_shadow_a_constant():
    with pytest.raises(ParseError, match="'pi'"):
        parse_expression("pi", {"pi": sympy.Symbol("pi")})


@pytest.mark.parametrize("probe", PROBES)
def test_probes_are_never_executed(probe):
    for parse in _all_parsers():
        with pytest.raises(ParseError):
            parse(probe)
    assert PROBE_MODULE.calls == []


def test_probe_does_fire_under_sympify():
    """The probe is real: sympify executes it (which is why we never use it)."""
    try:
        sympy.sympify(PROBE)
        assert PROBE_MODULE.calls
    finally:
        PROBE_MODULE.calls.clear()


# ------------------------------------------------------- the other entry points

@pytest.mark.parametrize("text, expected", [
    ("1/3", sympy.Rational(1, 3)),
    ("sqrt(2)/2", sympy.sqrt(2) / 2),
    ("0.25", sympy.Rational(1, 4)),
    ("-1.5e2", sympy.Integer(-150)),
    ("pi/4", sympy.pi / 4),
])
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text, culprit", [
    ("x", "'x'"), ("sqrt(-1)", "not a real number"), ("log(-1)", "not a real number"),
    ("1/0", "not finite"), ("", "empty"),
])
def test_parse_number_rejects(text, culprit):
    with pytest.raises(ParseError, match=culprit):
        parse_number(text)


def test_parse_names():
    assert parse_names("x,y, z1") == ("x", "y", "z1")
    assert parse_names("_a") == ("_a",)


@pytest.mark.parametrize("text, culprit", [
    ("x,x", "duplicate name 'x'"), ("", "empty"), ("x,,y", "part 2 is empty"),
    ("1x", "'1x'"), ("if", "'if'"), ("exp", "'exp'"), ("pi", "'pi'"), ("E", "'E'"),
    ("a-b", "'a-b'"), ("\uff58", "normal form"),
])
def test_parse_names_rejects(text, culprit):
    with pytest.raises(ParseError, match=culprit):
        parse_names(text)


def test_parse_assignments():
    values = parse_assignments("a=1, b=2/3, c=sqrt(2), d = 0.1")
    assert values == {"a": 1, "b": sympy.Rational(2, 3), "c": sympy.sqrt(2),
                      "d": sympy.Rational(1, 10)}


@pytest.mark.parametrize("text, culprit", [
    ("a", "missing '='"), ("a=1,a=2", "duplicate name 'a'"), ("a=x", "'x'"),
    ("=1", "not a valid name"), ("a=1,", "part 2 is empty"), ("a=", "value of 'a'"),
    ("exp=1", "'exp'"), ("a=1, b=sqrt(-2)", "value of 'b'"),
])
def test_parse_assignments_rejects(text, culprit):
    with pytest.raises(ParseError, match=culprit):
        parse_assignments(text)


def test_parse_map_and_vector():
    assert parse_map("y; -x + y/2", SYMBOLS) == (Y, -X + Y / 2)
    assert parse_vector("0.5, 1/3, -2") == (sympy.Rational(1, 2), sympy.Rational(1, 3), -2)


@pytest.mark.parametrize("parse, text, culprit", [
    (lambda t: parse_map(t, SYMBOLS), "x;", "part 2 is empty"),
    (lambda t: parse_map(t, SYMBOLS), "x; z", "component 2: undeclared name 'z'"),
    (parse_vector, "1,,2", "part 2 is empty"),
    (parse_vector, "1, x", "entry 2"),
])
def test_parse_map_and_vector_reject(parse, text, culprit):
    with pytest.raises(ParseError, match=culprit):
        parse(text)


# --------------------------------------------------------------------- fuzzing

EXPRESSION_PIECES = list("xy0123456789.+-*/()_ ^eE") + [
    "exp", "pi", "E", "sqrt", "log", "abs", "**", "__import__", "lambda", "'os'",
    ".", ",", ";", "=", "[", "]", ":", ":=", "j", " if ", " else ", "9**9",
    "__class__", PROBE,
]
expression_like_text = st.lists(st.sampled_from(EXPRESSION_PIECES), max_size=25).map("".join)


@FUZZ
@given(st.one_of(st.text(max_size=60), expression_like_text))
@example(PROBE)
@example("9**9**9**9")
@example("x**x**x**" * 100 + "x")
@example("E**(log(2)*10**9)")
@example("atan(tan(10**999))")
@example("abs(exp(2*exp(exp(exp(100))))-1)")
@example("(exp(14423))**(exp(16184**1761))")
def test_any_text_gives_a_result_or_parse_error(text):
    for parse in _all_parsers():
        try:
            parse(text)
        except ParseError as exc:
            assert "\n" not in str(exc)
    assert PROBE_MODULE.calls == []


LEAF_PAIRS = st.one_of(
    st.sampled_from([("x", X), ("y", Y)]),
    st.integers(0, 20).map(lambda n: (str(n), sympy.Integer(n))),
    st.tuples(st.integers(-9, 9), st.integers(1, 9)).map(
        lambda pq: (f"({pq[0]}/{pq[1]})", sympy.Rational(*pq))),
)
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _combine_pairs(children):
    binary = st.tuples(children, st.sampled_from(sorted(OPERATORS)), children).map(
        lambda t: (f"({t[0][0]}) {t[1]} ({t[2][0]})", OPERATORS[t[1]](t[0][1], t[2][1])))
    negated = children.map(lambda c: (f"-({c[0]})", -c[1]))
    return st.one_of(binary, negated)


# Powers only of leaves, so degrees (and expand) stay small.
POWERED_LEAVES = st.tuples(LEAF_PAIRS, st.integers(0, 3)).map(
    lambda t: (f"{t[0][0]}**{t[1]}", t[0][1] ** t[1]))


@FUZZ
@given(st.recursive(st.one_of(LEAF_PAIRS, POWERED_LEAVES), _combine_pairs, max_leaves=12))
@example(("-(2)**2", -sympy.Integer(2) ** 2))
@example(("(x) - (y) - (1)", X - Y - 1))
def test_generated_expressions_match_sympy(pair):
    text, expected = pair
    assert sympy.expand(parse_expression(text, SYMBOLS) - expected) == 0


def _combine_text(children):
    """Combine (text, oracle_text) pairs without adding parentheses."""
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
            lambda t: (f"{t[0][0]} {t[1]} {t[2][0]}", f"{t[0][1]} {t[1]} {t[2][1]}")),
        children.map(lambda c: (f"({c[0]})", f"({c[1]})")),
        children.map(lambda c: (f"-{c[0]}", f"-{c[1]}")),
    )


# Each leaf with the text Python should evaluate for it (Fractions, not floats).
FLAT_LEAVES = st.tuples(
    st.sampled_from([("x", "x"), ("y", "y"), ("0", "F(0)"), ("2", "F(2)"), ("7", "F(7)"),
                     ("0.5", "F(1, 2)"), ("1e-2", "F(1, 100)")]),
    st.sampled_from(["", "**0", "**1", "**2", "**3"]),
).map(lambda t: (t[0][0] + t[1], t[0][1] + t[1]))


@FUZZ
@given(st.recursive(FLAT_LEAVES, _combine_text, max_leaves=12))
@example(("-2**2", "-F(2)**2"))
@example(("x / y / 2 * 3", "x / y / F(2) * F(3)"))
@example(("1 - -x**2", "F(1) - -x**2"))
def test_precedence_matches_python(pair):
    """Unparenthesized text agrees with Python's own arithmetic on Fractions."""
    text, oracle_text = pair
    point = {"x": Fraction(2, 3), "y": Fraction(-5, 7)}
    try:
        expected = eval(oracle_text, {"F": Fraction}, dict(point))  # the test's oracle only
    except ZeroDivisionError:
        assume(False)
    result = parse_expression(text, SYMBOLS).subs({X: point["x"], Y: point["y"]})
    assert result == sympy.Rational(expected.numerator, expected.denominator)
