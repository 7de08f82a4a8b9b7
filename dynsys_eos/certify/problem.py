"""The problem a certificate is about, stated exactly, and the map rebuilt from that statement alone.

A statement is a JSON-ready dict of strings and integers:

* a built-in model: ``{"model": "logistic", "rule": null, "structure": {}, "parameters": {"r": "16/5"}}``;
* a user loss: ``{"loss": "(x*y - 1)**2/2", "variables": ["x", "y"], "rule": "gd",
  "loss_parameters": [], "parameters": {"lr": "1/2"}}``;
* a user map: ``{"map": ["a*x*(1 - x)"], "variables": ["x"], "parameters": {"a": "3"}}``.

Every value is an exact expression (``"16/5"``, ``"sqrt(2)"``), read back by
the safe parser (:mod:`dynsys_eos.parse`), never by ``sympify``.  A parameter
left out of ``parameters`` is an unknown of the claim (the varied parameter of
a flip); it is set to ``1`` only to rebuild the map.
"""

import mpmath
import sympy

from ..errors import CertificationError, DynsysError

__all__ = ["problem_from_map", "map_from_problem", "exact_text", "parse_exact", "symbolic_map"]


def exact_text(value):
    """Exact text of a number (sympy number, int, or a binary mpf as a fraction)."""
    if isinstance(value, mpmath.mpf):
        man, exp = value.man_exp() if value else (0, 0)
        value = sympy.Integer(man) * sympy.Integer(2) ** exp
    value = sympy.sympify(value, strict=True)
    if not value.is_real or value.free_symbols:
        raise CertificationError(f"not an exact real number: {value}")
    return sympy.sstr(value)


def parse_exact(text, what):
    """The exact number of ``text`` (safe parser); errors name ``what``."""
    from ..parse import parse_number

    if not isinstance(text, str):
        raise CertificationError(f"{what}: expected an exact number as a string, got {text!r}")
    try:
        return parse_number(text)
    except DynsysError as exc:
        raise CertificationError(f"{what}: {exc}") from None


def problem_from_map(map_, unknown=()):
    """The exact statement of ``map_`` (parameters in ``unknown`` left out)."""
    values = map_.parameter_values()
    parameters = {name: exact_text(values[name]) for name in map_.parameter_names if name not in unknown}
    model = getattr(map_, "model", None)
    if model is not None:
        return {"model": model.spec.name, "rule": model.rule, "structure": dict(model.structure),
                "parameters": parameters}
    if map_.loss is not None:
        loss = map_.loss
        problem = {"loss": sympy.sstr(loss.expr), "variables": [s.name for s in loss.state], "rule": map_.rule,
                   "loss_parameters": [p.name for p in loss.parameters], "parameters": parameters}
    else:
        problem = {"map": [sympy.sstr(e) for e in map_.sympy()], "variables": list(map_.state_names),
                   "parameters": parameters}
    rebuilt = symbolic_map(map_from_problem(problem, unknown))
    if [sympy.expand(a - b) for a, b in zip(rebuilt[0], symbolic_map(map_)[0])] != [0] * map_.dimension:
        raise CertificationError(f"{map_.name}: its expressions do not survive the round trip through text")
    return problem


def map_from_problem(problem, unknown=()):
    """Rebuild the Map of a statement (see the module docstring)."""
    from ..loss import Loss, declare_symbols
    from ..maps import make_map, raw_map
    from ..models import build_model
    from ..parse import parse_expression, parse_map

    if not isinstance(problem, dict):
        raise CertificationError("the problem must be a JSON object")
    given = problem.get("parameters", {})
    if not isinstance(given, dict):
        raise CertificationError("problem.parameters must be an object of exact strings")
    values = {name: parse_exact(text, f"parameter {name}") for name, text in given.items()}
    values.update({name: sympy.Integer(1) for name in unknown if name not in values})
    try:
        if "model" in problem:
            structure = problem.get("structure", {})
            if not all(isinstance(v, int) for v in structure.values()):
                raise CertificationError("problem.structure must map names to integers")
            return build_model(problem["model"], problem.get("rule") or "gd", **structure, **values)
        variables = problem.get("variables")
        if not isinstance(variables, list) or not variables:
            raise CertificationError("problem.variables must list the state variables")
        state = declare_symbols(variables)
        if "loss" in problem:
            loss_names = problem.get("loss_parameters", [])
            params = declare_symbols(loss_names)
            expr = parse_expression(problem["loss"], {s.name: s for s in state + params})
            loss = Loss(expr, state, params, {k: values[k] for k in loss_names if k in values}, name="user loss")
            return make_map(loss, problem.get("rule") or "gd", **{k: v for k, v in values.items() if k not in loss_names})
        if "map" in problem:
            params = declare_symbols(list(values))
            exprs = parse_map("; ".join(problem["map"]), {s.name: s for s in state + params})
            return raw_map(exprs, state, params, values)
    except CertificationError:
        raise
    except DynsysError as exc:
        raise CertificationError(f"the stated problem does not build: {exc}") from None
    raise CertificationError("the problem names no model, loss or map")


def symbolic_map(map_):
    """(F as sympy expressions, state symbols, parameter symbols) of a map, for the ball evaluator."""
    state = [sympy.Symbol(name) for name in map_.state_names]
    params = [sympy.Symbol(name) for name in map_.parameter_names]
    exprs = [e.xreplace({s: sympy.Symbol(s.name) for s in e.free_symbols}) for e in map_.sympy()]
    return exprs, state, params
