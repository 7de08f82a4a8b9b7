"""The ``dynsys-eos`` command.

Subcommands: ``analyze`` (the main job), ``models``, ``orbit``, ``threshold``, ``continue``, ``cascade``.
Every subcommand takes ``--json``; numbers in JSON are decimal strings
carrying exactly the digits achieved.  A user's mistake ends with one line
``dynsys-eos: error: ...`` on stderr and exit status 2; a numerical method
that did not converge ends with exit status 1.
"""

import argparse
import importlib
import json
import sys

import mpmath
import sympy

from . import __version__
from .errors import DynsysError, ParameterError
from .orbits import OrbitOptions, find_orbit
from .values import sympy_number

__all__ = ["main", "build_parser"]

EXIT_USAGE, EXIT_FAILED = 2, 1
# Subcommands that live in their own modules: each module has ``register(sub)``
# adding its parsers (with ``set_defaults(run=...)``) to the subparsers ``sub``.
COMMAND_MODULES = ("cli_eos", "cli_sweep", "cli_certify", "cli_flow")
HUMAN_DIGITS = 24  # significant digits shown to a person (JSON carries all achieved digits)


# -- building the map from the command line -----------------------------------------

def _model_arguments(p, model_required=True):
    p.add_argument("model", nargs="?", help="a built-in model (see 'dynsys-eos models')")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter (repeatable); values are exact: 0.1, 2/3, sqrt(2)")
    p.add_argument("--rule", default="gd", help="update rule for a loss: gd, ngd, sqrt, hb (default gd)")
    p.add_argument("--loss", metavar="EXPR", help="a user-defined loss, e.g. '(x*y-1)**2/2' (with --vars)")
    p.add_argument("--map", dest="map_expr", metavar="EXPR1;EXPR2", help="a user-defined map, components separated by ';'")
    p.add_argument("--vars", metavar="x,y", help="state variables of --loss/--map")
    p.add_argument("--params", default="", metavar="NAME=VALUE,...", help="parameters of --loss/--map with values")
    p.add_argument("--dps", type=int, default=50, help="decimal digits wanted (default 50)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _parse_param_options(items):
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise ParameterError(f"--param expects NAME=VALUE, got {item!r}")
        if not name.isidentifier():
            raise ParameterError(f"--param: {name!r} is not a valid parameter name")
        if name in values:
            raise ParameterError(f"--param {name} given twice")
        values[name] = value.strip()
    return values


def resolve_map(args, require_all=True):
    """The Map named by the command line (a built-in model, --loss or --map).

    With ``require_all`` every parameter must have a value (a threshold does
    not need ``lr``, so ``threshold`` passes False).
    """
    from .loss import Loss, declare_symbols
    from .maps import RULES, make_map, raw_map
    from .models import build_model
    from .values import exact_value
    from .parse import parse_assignments, parse_map

    overrides = _parse_param_options(args.param)
    user = [flag for flag, value in (("--loss", args.loss), ("--map", args.map_expr)) if value]
    if len(user) > 1:
        raise ParameterError("give either --loss or --map, not both")
    if user and args.model:
        raise ParameterError(f"give either a model name or {user[0]}, not both (got model {args.model!r})")
    if not user:
        if not args.model:
            raise ParameterError("name a model (see 'dynsys-eos models') or give --loss/--map with --vars")
        if args.vars or args.params:
            raise ParameterError("--vars and --params go with --loss/--map; use --param NAME=VALUE for a built-in model")
        return build_model(args.model, rule=args.rule, **overrides)
    if not args.vars:
        raise ParameterError(f"{user[0]} needs --vars (the state variables, e.g. --vars x,y)")
    declared = parse_assignments(args.params) if args.params else {}
    if args.loss:
        rule = RULES.get(args.rule)
        rule_names = {name for name, _ in rule.parameters} if rule else set()
        loss_params = {k: v for k, v in declared.items() if k not in rule_names}
        state = declare_symbols(args.vars)
        params = declare_symbols(list(loss_params))
        from .parse import parse_expression

        expr = parse_expression(args.loss, {s.name: s for s in state + params})
        loss = Loss(expr, state, params, loss_params, name="user loss")
        map_ = make_map(loss, args.rule, **{k: v for k, v in declared.items() if k in rule_names})
    else:
        if args.rule != "gd":
            raise ParameterError("--rule applies to --loss, not to a raw --map")
        state = declare_symbols(args.vars)
        params = declare_symbols(list(declared))
        exprs = parse_map(args.map_expr, {s.name: s for s in state + params})
        map_ = raw_map(exprs, state, params, declared, name="user map")
    unknown = sorted(set(overrides) - set(map_.parameter_names))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; valid: {', '.join(map_.parameter_names) or '(none)'}")
    map_.defaults.update({k: exact_value(v, k) for k, v in overrides.items()})
    if require_all:
        map_.parameter_values()  # every parameter has a value
    return map_


def _guess(args, map_, prefer_minimum=False):
    """--guess, else (with ``prefer_minimum``, for GD fixed points) the flattest minimum, else the default state."""
    from .parse import parse_vector

    if args.guess is not None:
        try:
            return list(parse_vector(args.guess))
        except DynsysError as exc:  # name the flag: the parser only knows the entry
            raise type(exc)(f"--guess {args.guess!r}: {exc}") from None
    model = getattr(map_, "model", None)
    if model is None:
        raise ParameterError("give --guess V1,V2,...: a user-defined model has no default state")
    minimum = model.flattest_minimum() if prefer_minimum else None
    if minimum is not None:  # its flip is the critical learning rate
        return minimum + ([0] * len(minimum) if map_.rule == "hb" else [])
    return model.default_state()


# -- number formatting ------------------------------------------------------------

def decimal(value, digits):
    """Decimal string of an mpf with ``digits`` significant digits."""
    digits = max(int(digits), 1)
    with mpmath.workdps(digits + 10):
        return mpmath.nstr(mpmath.mpf(value), digits, strip_zeros=False, min_fixed=-5, max_fixed=digits + 1)


def _short(value, digits):
    text = decimal(value, min(digits, HUMAN_DIGITS))
    return text + ("..." if digits > HUMAN_DIGITS else "")


def _exact_text(value):
    return str(sympy_number(value))


# -- subcommands -------------------------------------------------------------------------

def cmd_models(args):
    from .maps import RULES
    from .models import CATALOGUE

    if args.json:
        return {"models": [
            {"name": s.name, "kind": s.kind, "summary": s.summary, "source": s.source,
             "parameters": [{"name": p.name, "default": p.default, "doc": p.doc, "structural": p.structural}
                            for p in s.parameters],
             "default_state": s.default_state_doc}
            for s in CATALOGUE.values()],
            "rules": [{"name": r.name, "summary": r.summary,
                       "parameters": [{"name": n, "default": None if d is None else str(d)} for n, d in r.parameters]}
                      for r in RULES.values()]}
    lines = ["Built-in models (parameters: name=default):", ""]
    for s in CATALOGUE.values():
        lines.append(f"  {s.name:12s} {s.summary}")
        lines.append(f"  {'':12s} source: {s.source}")
        lines.append(f"  {'':12s} parameters: " + ", ".join(f"{p.name}={p.default}" for p in s.parameters))
        lines.append(f"  {'':12s} default state: {s.default_state_doc}")
        lines.append("")
    lines.append("Update rules for loss models (--rule):")
    for r in RULES.values():
        params = ", ".join(f"{n}" + (f"={d}" if d is not None else "") for n, d in r.parameters)
        lines.append(f"  {r.name:5s} {r.summary}  [{params}]")
    return "\n".join(lines)


def orbit_json(result):
    places = result.multiplier_digits
    from .orbits import _fmt_multiplier

    return {
        "model": result.map.name, "parameters": {k: _exact_text(v) for k, v in result.parameters.items()},
        "period": result.period, "minimal_period": result.minimal_period,
        "points": [[decimal(v, max(result.digits, 1)) for v in p] for p in result.points],
        "multipliers": [_fmt_multiplier(m, places) for m in result.multipliers],
        "multiplier_digits": places, "stable": result.stable, "unstable_count": result.unstable_count,
        "isolated": result.isolated, "manifold_dimension": result.manifold_dimension,
        "digits": result.digits, "status": result.status, "message": result.message,
    }


def _orbit_text(result, title):
    from .orbits import _fmt_multiplier

    lines = [title, f"  status: {result.status}: {result.message}"]
    if result.digits == 0:
        return "\n".join(lines)
    names = result.map.state_names
    for i, p in enumerate(result.points[:8]):
        coords = ", ".join(f"{n}={_short(v, result.digits)}" for n, v in zip(names[:6], p[:6]))
        more = ", ..." if len(p) > 6 else ""
        lines.append(f"  x{i}: {coords}{more}")
    if len(result.points) > 8:
        lines.append(f"  ... ({len(result.points) - 8} more points)")
    lines.append(f"  points correct to {result.digits} significant digits (measured at two precisions)")
    places = min(result.multiplier_digits, HUMAN_DIGITS)
    shown = ", ".join(_fmt_multiplier(m, places) for m in result.multipliers[:6])
    lines.append(f"  multipliers: {shown}{', ...' if len(result.multipliers) > 6 else ''}"
                 f"  (to {result.multiplier_digits} decimal places)")
    verdict = {True: "stable", False: f"unstable ({result.unstable_count} multiplier(s) outside the unit circle)",
               None: "undecided (a multiplier on the unit circle)"}[result.stable]
    if not result.isolated:
        verdict += f"; on a {result.manifold_dimension}-dimensional manifold of orbits (transverse stability)"
    lines.append(f"  stability: {verdict}")
    return "\n".join(lines)


def cmd_orbit(args):
    map_ = resolve_map(args)
    if args.period < 1:
        raise ParameterError(f"--period must be at least 1, got {args.period}")
    guess = _guess(args, map_)
    if args.warmup:
        from .analysis import detect_period
        from .arith import Float64

        _, landing = detect_period(map_.bind(Float64()), Float64().array(guess), args.warmup, 1)
        guess = [repr(float(v)) for v in landing]
    result = find_orbit(map_, args.period, guess, options=OrbitOptions(dps=args.dps))
    if args.json:
        return orbit_json(result), result.success
    title = f"{map_.name}: period-{args.period} orbit at " + _param_text(result.parameters)
    return _orbit_text(result, title), result.success


def _param_text(values):
    return ", ".join(f"{k}={_exact_text(v)}" for k, v in values.items()) or "(no parameters)"


def threshold_json(t):
    return {
        "parameter": t.parameter, "expression": None if t.expression is None else str(t.expression),
        "value": decimal(t.value, t.digits), "digits": t.digits, "kind": t.kind, "rule": t.rule,
        "sharpness": decimal(t.sharpness, t.digits),
        "sharpness_expression": None if t.sharpness_expression is None else str(t.sharpness_expression),
        "minimum": [str(v) if isinstance(v, sympy.Basic) else decimal(v, t.digits) for v in t.minimum],
        "interval": None if t.interval is None else [str(v) for v in t.interval], "message": t.message,
    }


def _threshold_text(t, name):
    lines = [f"{name}: critical learning rate ({t.kind})"]
    if t.expression is not None:
        lines.append(f"  {t.parameter}* = {t.expression}")
    lines.append(f"  {t.parameter}* = {_short(t.value, t.digits)}  ({t.digits} significant digits)")
    sharp = t.sharpness_expression if t.sharpness_expression is not None else _short(t.sharpness, t.digits)
    lines.append(f"  sharpness lambda_max = {sharp} at the minimum "
                 f"({', '.join(str(v) if isinstance(v, sympy.Basic) else _short(v, 12) for v in t.minimum[:6])}"
                 f"{', ...' if len(t.minimum) > 6 else ''})")
    if t.interval is not None:
        lines.append(f"  isolating interval of lambda_max: [{t.interval[0]}, {t.interval[1]}]")
    lines.append(f"  {t.message}")
    return "\n".join(lines)


def cmd_threshold(args):
    from .parse import parse_vector
    from .thresholds import critical_learning_rate

    map_ = resolve_map(args, require_all=False)
    at = list(parse_vector(args.at)) if args.at else None
    t = critical_learning_rate(map_, at=at, dps=args.dps)
    if args.json:
        return threshold_json(t), True
    return _threshold_text(t, map_.name), True


def cmd_analyze(args):
    from .analysis import analyze

    if not (args.model or args.loss or args.map_expr):
        args.model = "uv"
    map_ = resolve_map(args)
    start = list(__import__("dynsys_eos.parse", fromlist=["parse_vector"]).parse_vector(args.guess)) if args.guess else None
    report = analyze(map_, dps=args.dps, warmup=args.warmup, start=start)
    if args.json:
        return {
            "model": map_.name, "parameters": {k: _exact_text(v) for k, v in report.parameters.items()},
            "threshold": None if report.threshold is None else threshold_json(report.threshold),
            "threshold_error": report.threshold_error,
            "minimum": None if report.minimum is None else orbit_json(report.minimum),
            "attractor_period": report.attractor_period,
            "orbit": None if report.orbit is None else orbit_json(report.orbit),
            "sharpness": [decimal(s, report.sharpness_digits) for s in report.sharpness],
            "loss": [decimal(v, report.sharpness_digits) for v in report.loss_values],
            "sharpness_digits": report.sharpness_digits, "message": report.message,
        }, True
    lines = [f"dynsys-eos {__version__}: analysis of {map_.name} at {_param_text(report.parameters)}", ""]
    if report.threshold is not None:
        lines.append(_threshold_text(report.threshold, "1. Threshold"))
        if "lr" in report.parameters:
            lr = report.parameters["lr"]
            side = "above" if sympy_number(lr) > sympy.Rational(str(decimal(report.threshold.value, 30))) else "below"
            lines.append(f"  the chosen lr = {_exact_text(lr)} is {side} it")
        lines.append("")
    elif report.threshold_error:
        lines += [f"1. Threshold: not available ({report.threshold_error})", ""]
    if report.minimum is not None:
        lines.append(_orbit_text(report.minimum, "2. The flattest minimum as a fixed point of the map"))
        lines.append("")
    lines.append(f"3. Where the dynamics go: {report.message}")
    if report.orbit is not None:
        lines.append(_orbit_text(report.orbit, f"  the period-{report.attractor_period} orbit, refined by Newton:"))
        if report.sharpness:
            lr = report.parameters.get("lr")
            edge = f" (2/lr = {_short(2 / mpmath.mpf(sympy.N(lr, 40)._mpf_), 12)})" if lr is not None else ""
            lines.append(f"  sharpness along the orbit{edge}, {report.sharpness_digits} digits:")
            for i, (s, v) in enumerate(zip(report.sharpness, report.loss_values)):
                lines.append(f"    x{i}: lambda_max = {_short(s, min(report.sharpness_digits, 16))}, "
                             f"loss = {_short(v, min(report.sharpness_digits, 16))}")
    return "\n".join(lines), report.orbit is None or report.orbit.success


def point_json(point):
    """A located (or detected) bifurcation point for JSON."""
    digits = max(point.digits, 1)
    located = point.status == "located"
    return {
        "kind": point.kind, "status": point.status, "period": point.period,
        "value": decimal(point.value, digits) if located else None,
        "state": [[decimal(v, digits) for v in x] for x in point.orbit] if located else None,
        "digits": point.digits, "bracket": [repr(point.bracket[0]), repr(point.bracket[1])],
        "coefficient": decimal(point.coefficient, point.coefficient_digits) if point.coefficient_digits else None,
        "coefficient_digits": point.coefficient_digits, "criticality": point.criticality,
        "angle": decimal(point.angle, digits) if point.angle is not None else None, "message": point.message,
    }


def _check_writable(flag, path):
    """Refuse an output path before the computation, not after it."""
    import os

    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK) or os.path.isdir(path):
        raise ParameterError(f"{flag}: cannot write {path!r} (no such folder, not writable, or a folder)")


def cmd_continue(args):
    from .bifurcation import locate_all
    from .continuation import ContinuationOptions, ContinuationProblem, continue_branch
    from .values import exact_value

    for flag, path in (("--plot", args.plot), ("--graph", args.graph)):
        _check_writable(flag, path)
    map_ = resolve_map(args)
    if args.period < 1:
        raise ParameterError(f"--period must be at least 1, got {args.period}")
    start, stop = exact_value(args.start, "--from"), exact_value(args.stop, "--to")
    if start == stop:
        raise ParameterError(f"--from and --to must differ (both {args.start})")
    low, high = sorted([float(start), float(stop)])
    direction = "forward" if stop > start else "backward"
    options = ContinuationOptions(ds=min(args.ds, (high - low) / 4), ds_max=max(args.ds, (high - low) / 20),
                                  ds_min=min(1e-7, args.ds), p_min=low, p_max=high, direction=direction,
                                  max_steps=args.max_steps)
    guess = _guess(args, map_, prefer_minimum=args.period == 1)
    problem = ContinuationProblem.from_guess(map_, args.period, args.vary, guess, {args.vary: start})
    branch = continue_branch(problem, options=options)
    points = locate_all(branch, args.dps)
    if args.plot:
        from .plot import bifurcation_diagram

        bifurcation_diagram([branch], points, path=args.plot)
    if args.graph:
        from .graph import BifurcationGraph

        graph = BifurcationGraph()
        node = graph.add_branch(branch)
        for point in points:
            graph.add_point(node, point)
        with open(args.graph, "w") as handle:
            handle.write(graph.to_json())
    ok = all(p.status == "located" or p.kind == "branch" for p in points)
    if args.json:
        summary = branch.summary()
        summary["parameter_range"] = [repr(v) for v in summary["parameter_range"]]  # float64, exact as strings
        return {"branch": summary, "points": [point_json(p) for p in points]}, ok
    lines = [f"{map_.name}: period-{args.period} branch in {args.vary} from {_exact_text(start)} to {_exact_text(stop)}",
             f"  {len(branch.points)} points, {args.vary} in [{branch.parameter_values.min():.6g}, "
             f"{branch.parameter_values.max():.6g}], stopped: {branch.status[direction]}"]
    if branch.manifold_dimension:
        lines.append(f"  the orbits lie on {branch.manifold_dimension}-dimensional manifolds (continued across them)")
    if not points:
        lines.append("  no bifurcation detected")
    for p in points:
        if p.status != "located":
            lines.append(f"  {p.kind:6s} detected in [{p.bracket[0]:.8g}, {p.bracket[1]:.8g}]: {p.message}")
            continue
        extra = ""
        if p.coefficient_digits:
            name = "c" if p.kind == "flip" else "a"
            extra = f", normal form {name} = {_short(p.coefficient, min(p.coefficient_digits, 12))}"
            extra += f" ({p.criticality})" if p.criticality else ""
        if p.angle is not None:
            extra = f", angle theta = {_short(p.angle, min(p.digits, 12))}"
        lines.append(f"  {p.kind:6s} at {args.vary} = {_short(p.value, p.digits)}  ({p.digits} digits){extra}")
    if args.plot:
        lines.append(f"  figure written to {args.plot}")
    if args.graph:
        lines.append(f"  bifurcation graph (JSON) written to {args.graph}")
    return "\n".join(lines), ok


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors, like every other error of the command."""

    def error(self, message):
        print(f"dynsys-eos: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def estimate_json(estimate):
    if estimate is None:
        return None
    digits = max(estimate.digits + 2, 3)
    return {"value": decimal(estimate.value, digits), "error": decimal(estimate.error, 3), "digits": estimate.digits}


def cmd_cascade(args):
    from .cascade import CascadeOptions, follow_period_doubling
    from .continuation import ContinuationProblem
    from .values import exact_value

    _check_writable("--plot", args.plot)
    map_ = resolve_map(args)
    if args.vary not in map_.parameter_names:
        raise ParameterError(f"cannot vary {args.vary!r}: valid parameters are {', '.join(map_.parameter_names)}")
    start = exact_value(args.start, "--start") if args.start is not None else map_.parameter_values()[args.vary]
    stop = exact_value(args.stop, "--to") if args.stop is not None else None
    direction = "backward" if stop is not None and stop < start else "forward"
    low, high = (None, None) if stop is None else sorted([float(start), float(stop)])
    options = CascadeOptions(flips=args.flips, dps=args.dps, max_seconds=args.max_seconds, p_min=low, p_max=high,
                             direction=direction)
    guess = _guess(args, map_, prefer_minimum=args.period == 1)
    problem = ContinuationProblem.from_guess(map_, args.period, args.vary, guess, {args.vary: start})

    def progress(flip):
        if not args.json:
            print(f"  flip {len(seen) + 1}: period {flip.period:>6d} at {args.vary} = {_short(flip.value, flip.digits)}"
                  f"  ({flip.digits} digits, {flip.seconds:.2f} s, {flip.how})", file=sys.stderr, flush=True)
        seen.append(flip)

    seen = []
    cascade = follow_period_doubling(problem, options, progress)
    if args.plot:
        from .plot import cascade_diagram

        cascade_diagram(cascade, path=args.plot)
    if args.json:
        return {
            "model": map_.name, "parameter": args.vary, "status": cascade.status, "message": cascade.message,
            "flips": [{"period": f.period, "value": decimal(f.value, f.digits), "digits": f.digits} for f in cascade.flips],
            "ratios": [decimal(r.value, max(r.digits, 1)) for r in cascade.ratios],
            "ratio_digits": [r.digits for r in cascade.ratios],
            "delta": estimate_json(cascade.delta), "accumulation": estimate_json(cascade.accumulation),
            "alpha": estimate_json(cascade.alpha), "seconds": round(cascade.seconds, 3),
        }, cascade.success
    lines = [f"{map_.name}: period-doubling cascade in {args.vary} from {_exact_text(start)}: {cascade.status}, "
             f"{len(cascade.flips)} flips in {cascade.seconds:.1f} s" + ("" if cascade.success else f" ({cascade.message})")]
    lines.append(f"  {'k':>3s} {'period':>7s}  {args.vary + ' (flip)':30s} {'digits':>6s}   delta_k")
    for i, f in enumerate(cascade.flips):
        ratio = cascade.ratios[i - 1] if 1 <= i <= len(cascade.ratios) else None
        ratio_text = f"{_short(ratio.value, min(max(ratio.digits, 1), 16))} ({ratio.digits} digits)" if ratio else ""
        lines.append(f"  {i + 1:>3d} {f.period:>7d}  {_short(f.value, min(f.digits, 26)):30s} {f.digits:>6d}   {ratio_text}")
    for name, estimate in (("delta", cascade.delta), ("accumulation", cascade.accumulation), ("alpha", cascade.alpha)):
        if estimate is not None:
            lines.append(f"  {name:12s} = {estimate.format()}  ({estimate.digits} digits by the estimate)")
    if args.plot:
        lines.append(f"  figure written to {args.plot}")
    return "\n".join(lines), cascade.success


def build_parser():
    parser = _Parser(
        prog="dynsys-eos",
        description="Exact maps of gradient descent beyond the edge of stability: orbits, multipliers and "
                    "thresholds at arbitrary precision.")
    parser.add_argument("--version", action="version", version=f"dynsys-eos {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("analyze", help="threshold, minimum and attractor of a model (default: uv)")
    _model_arguments(p)
    p.add_argument("--guess", metavar="V1,V2,...", help="starting state (default: the model's default state)")
    p.add_argument("--warmup", type=int, default=2000, help="GD steps before detecting the period (default 2000)")
    p.set_defaults(run=cmd_analyze)

    p = sub.add_parser("models", help="the catalogue of built-in models and update rules")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_models)

    p = sub.add_parser("orbit", help="a fixed point or period-k orbit, its multipliers and stability")
    _model_arguments(p)
    p.add_argument("--period", type=int, default=1, help="the period k (default 1)")
    p.add_argument("--guess", metavar="V1,V2,...", help="one state; the map supplies the other k-1 points")
    p.add_argument("--warmup", type=int, default=0, help="iterate the map N times from the guess first (default 0)")
    p.set_defaults(run=cmd_orbit)

    p = sub.add_parser("continue", help="continue an orbit in a parameter; locate its bifurcations at --dps digits")
    _model_arguments(p)
    p.add_argument("--period", type=int, default=1, help="the period k (default 1)")
    p.add_argument("--vary", required=True, metavar="NAME", help="the parameter to vary (lr, r, sigma, ...)")
    p.add_argument("--from", dest="start", required=True, metavar="A", help="start value (exact: 2.5, 1/3, ...)")
    p.add_argument("--to", dest="stop", required=True, metavar="B", help="end value")
    p.add_argument("--guess", metavar="V1,V2,...", help="a state near the orbit at A (default: for period 1 of a "
                   "loss model its flattest minimum, else the model's default state)")
    p.add_argument("--ds", type=float, default=0.01, help="initial arclength step (default 0.01)")
    p.add_argument("--max-steps", type=int, default=2000, help="steps allowed (default 2000)")
    p.add_argument("--plot", metavar="FILE.png", help="write a bifurcation diagram (needs the plot extra)")
    p.add_argument("--graph", metavar="FILE.json", help="write the branch and its points as a BifurcationGraph (JSON)")
    p.set_defaults(run=cmd_continue)

    p = sub.add_parser("cascade", help="follow a period-doubling cascade: flips, Feigenbaum ratios, accumulation point")
    _model_arguments(p)
    p.add_argument("--period", type=int, default=1, help="period of the starting orbit (default 1)")
    p.add_argument("--vary", required=True, metavar="NAME", help="the parameter to vary (lr, r, a, ...)")
    p.add_argument("--start", metavar="VALUE", help="parameter value to start at (default: the model's value)")
    p.add_argument("--to", dest="stop", metavar="VALUE", help="bound on the parameter (its side sets the direction)")
    p.add_argument("--guess", metavar="V1,V2,...", help="a state near the starting orbit")
    p.add_argument("--flips", type=int, default=12, help="how many flips to locate (default 12)")
    p.add_argument("--max-seconds", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--plot", metavar="FILE.png", help="write the orbit diagram with the flips marked")
    p.set_defaults(run=cmd_cascade)

    p = sub.add_parser("threshold", help="the critical learning rate 2/lambda_max at a minimum")
    _model_arguments(p)
    p.add_argument("--at", metavar="V1,V2,...", help="the minimum (default: the model's flattest minimum)")
    p.set_defaults(run=cmd_threshold)
    for name in COMMAND_MODULES:
        importlib.import_module(f".{name}", __package__).register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already reported in one line
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        dps = getattr(args, "dps", None)  # None: the subcommand has no --dps, or it was not given (trajectory)
        if dps is not None and not 1 <= dps <= 100000:
            raise ParameterError(f"--dps must be between 1 and 100000, got {args.dps}")
        if getattr(args, "warmup", 0) < 0:
            raise ParameterError(f"--warmup must be non-negative, got {args.warmup}")
        output = args.run(args)
    except OSError as exc:  # writing an output file failed after all
        print(f"dynsys-eos: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DynsysError as exc:
        print(f"dynsys-eos: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, (ParameterError,)) or _is_user_error(exc) else EXIT_FAILED
    except MemoryError:
        print("dynsys-eos: error: out of memory (ask for a smaller problem: fewer points, steps or digits)",
              file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("dynsys-eos: interrupted", file=sys.stderr)
        return 130
    text, ok = output if isinstance(output, tuple) else (output, True)
    if isinstance(text, dict):
        text = json.dumps(text, indent=2)
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (head, say) stopped early: not an error of ours
        sys.stdout = None
        return 0
    if not ok:
        print("dynsys-eos: the computation did not succeed (see status above)", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _is_user_error(exc):
    from .errors import ModelError, ParseError, ThresholdError

    return isinstance(exc, (ModelError, ParseError, ThresholdError))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
