"""The ``laws`` and ``flow`` subcommands of ``dynsys-eos``.

``dynsys-eos laws MODEL [--param NAME=VALUE]... [--degree K] [--json]``
    Conservation laws of the gradient flow for all values of the parameters
    not fixed by ``--param``: the count (``D - dim Lie(W)``, exact rank at
    random integer points), a basis of the polynomial laws of degree <= K,
    and whether they reach the count.

``dynsys-eos flow MODEL --param ... --guess ... --time T [--dps D] [--json]``
    Integrate the gradient flow; report the end state with its measured
    error and the drift of each conservation law along the way.

Besides the catalogue, both accept ``uvt``: the two-layer factorization
``1/2 ||U V^T - Y||^2`` with structural parameters n, m, r and targets
``Yi_j`` (default the identity).
"""

import sympy

from .cli import _model_arguments, _parse_param_options, decimal, resolve_map
from .errors import ModelError, ParameterError

__all__ = ["register", "cmd_laws", "cmd_flow"]

_UVT_STRUCTURE = {"n": 4, "m": 4, "r": 2}


def _resolve_loss(args):
    """(loss, parameter values, names fixed by --param, model name, structure, default state or None)."""
    from .laws import factorization_loss
    from .values import exact_value

    overrides = _parse_param_options(args.param)
    if args.model == "uvt":
        if args.loss or args.map_expr:
            raise ParameterError("give either a model name or --loss/--map, not both (got model 'uvt')")
        structure = dict(_UVT_STRUCTURE)
        for key in list(structure):
            if key in overrides:
                value = exact_value(overrides.pop(key), key)
                if not value.is_Integer:
                    raise ParameterError(f"{key} must be an integer, got {value}")
                structure[key] = int(value)
        loss = factorization_loss(structure["n"], structure["m"], structure["r"])
        unknown = sorted(set(overrides) - set(loss.parameter_names) - {"lr"})
        if unknown:
            raise ParameterError(f"model 'uvt' has no parameter(s) {', '.join(unknown)}; valid: n, m, r, "
                                 f"{loss.parameter_names[0]} .. {loss.parameter_names[-1]}")
        values = loss.parameter_values({k: exact_value(v, k) for k, v in overrides.items() if k != "lr"})
        n, m, r = structure["n"], structure["m"], structure["r"]
        default = ([sympy.Rational(i + j + 2, 10) for i in range(n) for j in range(r)]
                   + [sympy.Rational(2 * (i + 1) - j, 10) for i in range(m) for j in range(r)])
        fixed = sorted(k for k in overrides if k in loss.parameter_names)
        return loss, values, fixed, "uvt", structure, default
    map_ = resolve_map(args, require_all=False)
    loss = map_.loss
    if loss is None:
        raise ModelError(f"{map_.name} is a map, not a loss: gradient flow and its conservation laws need a loss")
    values = map_.parameter_values() if all(p in map_.defaults for p in map_.parameter_names) else dict(map_.defaults)
    values = {k: v for k, v in values.items() if k in loss.parameter_names}
    given = set(overrides)
    if "sigmas" in given:
        given |= {p for p in loss.parameter_names if p.startswith("sigma")}
    fixed = sorted(given & set(loss.parameter_names))
    model = getattr(map_, "model", None)
    name = model.spec.name if model is not None else None
    structure = model.structure if model is not None else {}
    default = model.default_state()[: loss.dimension] if model is not None else None
    return loss, values, fixed, name, structure, default


def _law_options(args):
    from .laws import LawOptions

    return LawOptions(degree=args.degree, seed=args.seed)


def laws_json(result, loss):
    return {
        "model": loss.name, "count": result.count, "laws": [str(law) for law in result.laws],
        "complete": result.complete, "independent": result.independent, "dimension": result.dimension,
        "lie_rank": result.lie.rank, "rank_method": result.lie.method, "rank_levels": list(result.lie.levels),
        "degree": result.degree, "held_symbolic": list(result.held),
        "fixed": {k: str(v) for k, v in result.fixed.items()},
        "status": result.status, "message": result.message, "seconds": round(result.seconds, 3),
    }


def cmd_laws(args):
    from .laws import conservation_laws

    loss, values, fixed, name, structure, _ = _resolve_loss(args)
    result = conservation_laws(loss, fixed={k: values[k] for k in fixed}, options=_law_options(args))
    if args.json:
        return laws_json(result, loss), result.success
    held = ", ".join(result.held) or ("(none: the loss has no parameters)" if not loss.parameter_names
                                      else "(none: every parameter fixed)")
    lines = [f"{loss.name}: conservation laws of the gradient flow, {result.dimension} variables",
             f"  held symbolic (laws hold for all their values): {held}"]
    if result.fixed:
        lines.append("  fixed: " + ", ".join(f"{k}={v}" for k, v in result.fixed.items()))
    lines.append(f"  count: {result.count} independent law(s) = {result.dimension} - Lie-algebra rank {result.lie.rank}")
    lines.append(f"    ({result.lie.method})")
    if not result.held and not result.constants:
        lines.append("    with no parameter held symbolic the flow has one direction: D - 1 local laws always exist")
    lines.append(f"  polynomial laws of degree <= {result.degree}: {len(result.laws)} in a reduced basis, "
                 f"{result.independent} functionally independent (exact: verified symbolically)")
    for law in result.laws[:40]:
        lines.append(f"    {law}")
    if len(result.laws) > 40:
        lines.append(f"    ... ({len(result.laws) - 40} more; --json lists all)")
    lines.append(f"  complete: {'yes' if result.complete else 'no'} ({result.message})")
    return "\n".join(lines), result.success


def cmd_flow(args):
    from .flow import FlowOptions, integrate_flow, law_drift
    from .laws import conservation_laws
    from .values import exact_value

    loss, values, fixed, name, structure, default = _resolve_loss(args)
    if getattr(args, "guess", None) is not None:
        from .parse import parse_vector

        start = list(parse_vector(args.guess))
    elif default is not None:
        start = default
    else:
        raise ParameterError("give --guess V1,V2,...: a user-defined loss has no default state")
    missing = [p for p in loss.parameter_names if p not in values]
    if missing:
        raise ParameterError(f"no value for parameter(s) {', '.join(missing)} (give --param NAME=VALUE)")
    t_end = exact_value(args.time, "--time")
    method = "taylor" if args.method == "taylor" else args.method
    options = FlowOptions(method=method, dps=args.dps, rtol=args.rtol, atol=args.rtol * 1e-2,
                          max_seconds=args.max_seconds)
    result = integrate_flow(loss, start, t_end, values, options)
    try:
        found, why_not = conservation_laws(loss, options=_law_options(args)), None
    except ModelError as exc:  # a non-polynomial loss: the flow stands, its laws are not searched
        found, why_not = None, str(exc)
    laws = found.laws if found is not None else ()
    drifts = law_drift(result, laws) if laws and result.success else ()
    digits = max(result.digits, 1)
    if args.json:
        return {
            "model": loss.name, "time": str(t_end), "method": result.method, "status": result.status,
            "message": result.message, "state": [decimal(v, digits) for v in result.state],
            "state_names": list(result.state_names), "error": decimal(result.error, 3), "digits": result.digits,
            "steps": result.steps, "parameters": {k: str(v) for k, v in values.items()},
            "laws": [{"law": str(d.law), "initial": decimal(d.initial, min(digits, 20)),
                      "drift": decimal(d.drift, 3), "expected": decimal(d.tolerance, 3)} for d in drifts],
            "laws_count": None if found is None else found.count,
            "laws_complete": None if found is None else found.complete, "laws_message": why_not,
        }, result.success
    lines = [f"{loss.name}: gradient flow theta' = -grad L to t = {t_end}: {result.status}",
             f"  {result.message}"]
    if result.success:
        lines.append(f"  end state, {result.digits} significant digits by the error estimate "
                     f"(max-norm error {decimal(result.error, 3)}):")
        for n, v in list(zip(result.state_names, result.state))[:12]:
            lines.append(f"    {n} = {decimal(v, min(digits, 24))}{'...' if digits > 24 else ''}")
        if len(result.state) > 12:
            lines.append(f"    ... ({len(result.state) - 12} more; --json lists all)")
        if found is None:
            lines.append(f"  conservation laws: not searched ({why_not})")
            return "\n".join(lines), result.success
        lines.append(f"  conservation laws (degree <= {found.degree}, {found.count} independent exist): drift "
                     "max |h(x(t)) - h(x(0))| and its expected size (error estimate x |grad h|):")
        for d in drifts[:20]:
            lines.append(f"    {str(d.law)[:60]:60s} drift {decimal(d.drift, 2)}  (expected size {decimal(d.tolerance, 2)})")
        if not drifts:
            lines.append("    (no polynomial law of this degree)")
    return "\n".join(lines), result.success


def register(sub):
    p = sub.add_parser("laws", help="conservation laws of the gradient flow: count (Lie-algebra rank) and polynomial laws")
    _model_arguments(p)
    p.add_argument("--degree", type=int, default=2, help="largest degree of the polynomial laws (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random integer points (default 0)")
    p.set_defaults(run=cmd_laws)

    p = sub.add_parser("flow", help="integrate the gradient flow; end state with its error, drift of each law")
    _model_arguments(p)
    p.add_argument("--guess", metavar="V1,V2,...", help="initial state (default: the model's default state)")
    p.add_argument("--time", required=True, metavar="T", help="end time T > 0")
    p.add_argument("--method", default="taylor", help="taylor (mp, --dps digits; default) or a float64 method: "
                   "LSODA, Radau, BDF, RK45, DOP853")
    p.add_argument("--rtol", type=float, default=1e-10, help="relative tolerance of the float64 methods (default 1e-10)")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-clock limit per run")
    p.add_argument("--degree", type=int, default=2, help="degree of the laws whose drift is reported (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the law search's random points (default 0)")
    p.set_defaults(run=cmd_flow, dps=30)
