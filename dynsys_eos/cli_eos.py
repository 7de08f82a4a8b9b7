"""The ``dynsys-eos trajectory`` subcommand: a trajectory with its edge-of-stability diagnostics.

``dynsys-eos trajectory MODEL --param lr=0.1 --guess 1.2,1,1,0.9 --steps 2000 [--json] [--plot FILE.png]``

Float64 by default (numbers in JSON are then JSON floats, about 15-16
significant digits each step); ``--mp`` (or ``--dps D`` alone) runs at
``--dps`` digits (default 50) and checks them at a second precision (numbers become decimal strings with the digits
measured).  Iterates of a chaotic map lose accuracy: the output reports the
largest Lyapunov exponent with its error and the step after which the
recorded orbit only shadows a true orbit.
"""

import math

from .cli import _check_writable, _guess, _model_arguments, _param_text, decimal, resolve_map
from .errors import ParameterError

__all__ = ["register", "cmd_trajectory"]


def register(sub):
    p = sub.add_parser("trajectory", help="iterate a model: loss, sharpness, 2/lr line, EoS phases, Lyapunov exponent")
    _model_arguments(p)
    p.add_argument("--guess", metavar="V1,V2,...", help="starting state (default: the model's default state)")
    p.add_argument("--steps", type=int, default=1000, help="number of steps (default 1000)")
    p.add_argument("--record-every", type=int, default=1, metavar="K", help="record every K-th step (default 1)")
    p.add_argument("--sharpness", default="auto", choices=("auto", "dense", "lanczos", "none"),
                   help="top Hessian eigenvalue: dense, Lanczos on Hessian-vector products, auto (default), none")
    p.add_argument("--mp", action="store_true",
                   help="iterate in mpmath at --dps digits (default 50; checked at a second precision); giving --dps "
                        "implies --mp")
    p.add_argument("--plot", metavar="FILE.png", help="write loss and sharpness against the step (needs matplotlib)")
    p.set_defaults(run=cmd_trajectory, dps=None)  # None: float64 unless --mp or --dps asks for digits


def cmd_trajectory(args):
    from .eos import TrajectoryOptions, trajectory

    _check_writable("--plot", args.plot)
    if args.steps < 1 or args.steps > 10_000_000:
        raise ParameterError(f"--steps must be between 1 and 10000000, got {args.steps}")
    if args.record_every < 1:
        raise ParameterError(f"--record-every must be at least 1, got {args.record_every}")
    mp = args.mp or args.dps is not None
    if mp and args.steps > 100_000:
        raise ParameterError(f"--mp with --steps {args.steps}: at most 100000 steps in mpmath")
    map_ = resolve_map(args)
    start = _guess(args, map_)
    if len(start) != map_.dimension:
        raise ParameterError(f"--guess has {len(start)} value(s); {map_.name} has {map_.dimension} state variables "
                             f"({', '.join(map_.state_names)})")
    options = TrajectoryOptions(steps=args.steps, record_every=args.record_every, sharpness=args.sharpness,
                                dps=(args.dps or 50) if mp else None)
    traj = trajectory(map_, start, options)
    if args.plot:
        from .plot_eos import trajectory_plot

        trajectory_plot(traj, path=args.plot)
    if args.json:
        return trajectory_json(traj), traj.success
    return trajectory_text(traj, args.plot), traj.success


def _numbers(values, traj, digits=None):
    """JSON numbers: floats for float64 runs, decimal strings with the measured digits for mp runs."""
    if values is None:
        return None
    if traj.digits is None:
        return [float(v) for v in values]
    digits = digits if digits is not None else [int(d) for d in traj.digits]
    if isinstance(digits, int):
        digits = [digits] * len(values)
    return [decimal(v, max(d, 1)) for v, d in zip(values, digits)]


def _accuracy_note(traj):
    if traj.digits is None:
        note = ("float64: each number carries at most 15-16 significant digits and every step rounds; "
                "sharpness errors are estimates (dense: 4 n eps |lambda|; Lanczos: residual bound)")
    else:
        note = f"{traj.precision}: digits measured per recorded state by comparing the two precisions"
    if traj.lyapunov is not None and traj.lyapunov.horizon is not None:
        note += (f"; the largest Lyapunov exponent is positive, so after about step {int(traj.lyapunov.horizon)} the "
                 f"recorded iterates only shadow some true orbit, not the one from the given start")
    return note


def trajectory_json(traj):
    lyap = traj.lyapunov
    osc = traj.oscillation
    final_digits = int(traj.digits[-1]) if traj.digits is not None else None
    sharp_digits = None
    if traj.digits is not None and traj.sharpness is not None:
        sharp_digits = [_digits_of(s, e, traj.options.dps) for s, e in zip(traj.sharpness, traj.sharpness_error)]
    return {
        "model": traj.map.name, "parameters": {k: str(v) for k, v in traj.parameters.items()},
        "precision": traj.precision, "accuracy": _accuracy_note(traj),
        "status": traj.status, "message": traj.message,
        "steps": [int(s) for s in traj.steps],
        "loss": _numbers(traj.loss, traj),
        "sharpness": _numbers(traj.sharpness, traj, sharp_digits),
        "sharpness_error": None if traj.sharpness_error is None else [float(e) for e in traj.sharpness_error],
        "threshold": None if traj.threshold is None else [float(t) for t in traj.threshold],
        "final": dict(zip(traj.map.state_names, _numbers(traj.final, traj, final_digits))),
        "final_digits": final_digits,
        "phases": [{"label": p.label, "start": p.start, "stop": p.stop} for p in traj.phases],
        "oscillation": None if osc is None else {
            "dimension": osc.dimension, "observable": osc.observable, "amplitude": osc.amplitude,
            "singular_values": [float(v) for v in osc.singular_values[:8]]},
        "lyapunov": None if lyap is None else {
            "value": lyap.value if math.isfinite(lyap.value) else str(lyap.value), "error": lyap.error,
            "horizon": lyap.horizon},
        "sharpness_spectrum_peak": None if traj.spectrum is None else traj.spectrum.peak_frequency,
    }


def _digits_of(value, error, cap):
    import mpmath

    value, error = mpmath.mpf(value), mpmath.mpf(error)
    if error == 0:
        return cap
    return int(max(1, min(cap, -mpmath.log10(error / max(abs(value), mpmath.mpf(10) ** -cap)))))


def trajectory_text(traj, plot=None):
    lines = [f"{traj.map.name} at {_param_text(traj.parameters)}: {traj.message} ({traj.status})"]
    names = traj.map.state_names
    if traj.digits is None:
        final = ", ".join(f"{k}={float(v):.15g}" for k, v in zip(names[:6], traj.final[:6]))
    else:
        d = max(int(traj.digits[-1]), 1)
        final = ", ".join(f"{k}={decimal(v, min(d, 24))}" for k, v in zip(names[:6], traj.final[:6]))
        final += f"  ({int(traj.digits[-1])} digits, measured)"
    lines.append(f"  final state (step {int(traj.steps[-1])}): {final}{', ...' if len(names) > 6 else ''}")
    if traj.loss is not None:
        lines.append(f"  final loss: {float(traj.loss[-1]):.6e}")
    if traj.sharpness is not None:
        s, t, e = float(traj.sharpness[-1]), float(traj.threshold[-1]), float(traj.sharpness_error[-1])
        ratio = f"ratio {s / t:.6f}" if t > 0 else "ratio infinite (threshold 0: the rule's effective step is unbounded here)"
        lines.append(f"  final sharpness: {s:.12g} (error <= {e:.1e}); threshold ({_edge_name(traj)}) {t:.12g}; {ratio}")
        lines.append("  phases (eos: sharpness at the line with non-monotone loss; sharpening / reduction: "
                     "sharpness trending up / down; stable: flat):")
        for p in traj.phases[:12]:
            lines.append(f"    {p.label:11s} steps {p.start}-{p.stop}")
        if len(traj.phases) > 12:
            lines.append(f"    ... ({len(traj.phases) - 12} more)")
    if traj.oscillation is not None:
        o = traj.oscillation
        lines.append(f"  late-time oscillation ({o.observable}, last {traj.options.tail:.0%} of records): dimension "
                     f"{o.dimension}, amplitude {o.amplitude:.3g}")
    if traj.spectrum is not None:
        lines.append(f"  sharpness spectrum peak: {traj.spectrum.peak_frequency:.4g} cycles/step")
    if traj.lyapunov is not None:
        lyap = traj.lyapunov
        lines.append(f"  largest Lyapunov exponent: {lyap.value:.4g} +- {lyap.error:.2g} per step "
                     f"(halves: {lyap.halves[0]:.4g}, {lyap.halves[1]:.4g})")
    lines.append(f"  accuracy: {_accuracy_note(traj)}")
    if plot:
        lines.append(f"  figure written to {plot}")
    return "\n".join(lines)


def _edge_name(traj):
    return {"gd": "2/lr", "hb": "2(1+beta)/lr", "ngd": "2|grad L|/lr", "sqrt": "4 sqrt(L - L*)/lr"}.get(traj.map.rule,
                                                                                                       "threshold")
