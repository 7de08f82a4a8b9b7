"""The ``diagram`` and ``basin`` subcommands: float64 sweeps, locally or on a Dask cluster.

``dynsys-eos diagram MODEL --vary NAME --from A --to B --out FILE.png`` draws
the attractor against a parameter; ``dynsys-eos basin MODEL --x NAME=A:B
--y NAME=A:B --out FILE.png`` maps where starts on a grid of two state
coordinates go.  Both run in this process, moving to a local process pool
(``--workers``) when the work left would take more than a couple of seconds,
or on a Dask cluster with ``--scheduler tcp://HOST:PORT``.  A progress bar
goes to stderr when it is a terminal (``--no-progress`` turns it off).
"""


from .cli import _check_writable, _guess, _model_arguments, _parse_param_options, resolve_map
from .errors import ParameterError
from .executors import EXECUTORS, POOL_BREAK_EVEN

__all__ = ["register", "cmd_diagram", "cmd_basin"]


def _sweep_arguments(p, keep):
    p.add_argument("--transient", type=int, default=1000, help="iterates dropped first (default 1000)")
    p.add_argument("--keep", type=int, default=keep, help=f"iterates recorded after the transient (default {keep})")
    p.add_argument("--max-period", type=int, default=32, help="largest period detected (default 32)")
    p.add_argument("--bound", type=float, default=1e8, help="|x| beyond this counts as diverged (default 1e8)")
    p.add_argument("--chunk", type=int, default=8192, help="cells per task (default 8192)")
    p.add_argument("--executor", choices=sorted(EXECUTORS),
                   help=f"where to run (default: auto, i.e. this process, moving the rest to a local process pool "
                        f"when it would take more than {POOL_BREAK_EVEN:g} s here; dask when --scheduler is given)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="S",
                   help="seconds to reach the scheduler (default 10)")
    p.add_argument("--workers", type=int, metavar="W",
                   help="processes of the local pool, or threads (default: the CPU count)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--out", metavar="FILE.png", help="write the figure (needs the plot extra)")


def register(sub):
    p = sub.add_parser("diagram", help="orbit diagram: the attractor against a parameter (float64 sweep)")
    _model_arguments(p)
    p.add_argument("--vary", required=True, metavar="NAME", help="the parameter to vary (lr, r, a, ...)")
    p.add_argument("--from", dest="start", required=True, metavar="A", help="first value")
    p.add_argument("--to", dest="stop", required=True, metavar="B", help="last value")
    p.add_argument("--points", type=int, default=1000, help="parameter values (default 1000)")
    p.add_argument("--guess", metavar="V1,V2,...", help="start state for every value (default: the model's)")
    p.add_argument("--coordinate", default=None, metavar="NAME", help="state coordinate plotted (default: the first)")
    p.add_argument("--mark", action="append", default=[], metavar="LABEL=VALUE",
                   help="draw a vertical line (repeatable), e.g. --mark lr_c=0.5")
    _sweep_arguments(p, keep=200)
    p.set_defaults(run=cmd_diagram)

    p = sub.add_parser("basin", help="basin map: where starts on a grid of two state coordinates go (float64 sweep)")
    _model_arguments(p)
    p.add_argument("--x", dest="x_axis", required=True, metavar="NAME=A:B", help="horizontal coordinate and range")
    p.add_argument("--y", dest="y_axis", required=True, metavar="NAME=A:B", help="vertical coordinate and range")
    p.add_argument("--points", default="200", metavar="N or NX,NY", help="grid points per axis (default 200)")
    p.add_argument("--guess", metavar="V1,V2,...", help="the other coordinates (default: the model's default state)")
    _sweep_arguments(p, keep=64)
    p.set_defaults(run=cmd_basin)


_OPTION_FLAGS = {"transient": "--transient", "keep": "--keep", "max_period": "--max-period", "bound": "--bound",
                 "chunk": "--chunk"}


def _options(args):
    """SweepOptions from the flags; its errors name the flags, not the dataclass fields."""
    from .sweep import SweepOptions

    try:
        return SweepOptions(**{field: getattr(args, field) for field in _OPTION_FLAGS})
    except ParameterError as exc:
        text = str(exc).replace("SweepOptions needs", "the sweep needs").replace("SweepOptions.", "")
        for field, flag in _OPTION_FLAGS.items():
            text = text.replace(f"{field}=", f"{flag} ").replace(f"{field} must", f"{flag} must")
        raise ParameterError(text) from None


def _ordered(start, stop, first, second):
    """A range must go upwards: a reversed one is almost always a typo (and would plot mirrored)."""
    if start >= stop:
        raise ParameterError(f"{first} ({start:g}) must be below {second} ({stop:g})"
                             + ("" if start == stop else ": swap them"))


def _write_figure(draw, path):
    """Draw to ``path``; a write that fails after the sweep (a full disk, a special folder) names --out."""
    try:
        draw(path)
    except OSError as exc:
        raise ParameterError(f"--out: cannot write {path!r}: {exc.strerror or exc}") from None


def _where(args):
    """executor, scheduler and workers from the command line."""
    from .executors import DaskExecutor

    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers must be at least 1, got {args.workers}")
    if args.scheduler is not None and args.executor in (None, "dask"):
        return DaskExecutor(args.scheduler, timeout=args.connect_timeout), None
    if args.executor == "dask":
        raise ParameterError("--executor dask needs --scheduler ADDRESS")
    if args.scheduler is not None:
        raise ParameterError(f"--scheduler runs the sweep on Dask, but --executor {args.executor} asks for a local "
                             f"run: drop one of them")
    return args.executor, None


def _float(text, flag):
    from .sweep import _to_float

    return _to_float(text, flag)


def _marks(items):
    marks = {}
    for item in items:
        label, sep, value = item.partition("=")
        if not sep or not label.strip():
            raise ParameterError(f"--mark expects LABEL=VALUE, got {item!r}")
        marks[label.strip()] = _float(value.strip(), f"--mark {label.strip()}")
    return marks


def cmd_diagram(args):
    import numpy as np

    from .sweep import _diagram_floats, check_memory, orbit_diagram

    _check_writable("--out", args.out)
    map_ = resolve_map(args)
    if args.vary not in map_.parameter_names:
        raise ParameterError(f"cannot vary {args.vary!r}: valid parameters are {', '.join(map_.parameter_names)}")
    if args.vary in _parse_param_options(args.param):
        raise ParameterError(f"--param {args.vary}=... fixes the parameter that --vary {args.vary} varies: drop one")
    start, stop = _float(args.start, "--from"), _float(args.stop, "--to")
    _ordered(start, stop, "--from", "--to")
    if args.points < 2:
        raise ParameterError(f"--points must be at least 2, got {args.points}")
    if args.coordinate is not None and args.coordinate not in map_.state_names:
        raise ParameterError(f"--coordinate {args.coordinate!r} is not a state variable of {map_.name!r} "
                             f"(state: {', '.join(map_.state_names)})")
    marks = _marks(args.mark)
    options = _options(args)
    check_memory(args.points, _diagram_floats(options, map_.dimension), f"--points {args.points}: an orbit diagram")
    executor, scheduler = _where(args)
    guess = [str(v) for v in _guess(args, map_)]
    diagram = orbit_diagram(map_, args.vary, np.linspace(start, stop, args.points), initial=guess,
                            options=options, executor=executor, scheduler=scheduler, workers=args.workers,
                            progress=False if args.no_progress else None)
    if args.out:
        from .plot_sweep import orbit_diagram_plot

        _write_figure(lambda path: orbit_diagram_plot(diagram, coordinate=args.coordinate or 0, marks=marks,
                                                      path=path), args.out)
    if args.json:
        summary = diagram.summary()
        summary["figure"] = args.out
        return summary, True
    counts = diagram.summary()["periods"]
    lines = [f"{map_.name}: orbit diagram in {args.vary} from {args.start} to {args.stop}, {args.points} values "
             f"(float64; {args.transient} iterates dropped, {args.keep} kept)",
             "  " + ", ".join(f"period {k}: {v}" for k, v in counts.items() if k not in ("none", "diverged")),
             f"  no period <= {diagram.provenance.options.max_period} (chaos or slow transient): {counts['none']}; "
             f"diverged: {counts['diverged']}",
             f"  {diagram.provenance.evaluations:,} map evaluations in {diagram.provenance.seconds:.2f} s on "
             f"{diagram.provenance.executor}, {diagram.provenance.chunks} chunk(s)"]
    if args.out:
        lines.append(f"  figure written to {args.out}")
    return "\n".join(lines), True


def _axis(text, flag, points):
    from .sweep import Axis

    name, sep, bounds = (text or "").partition("=")
    low, colon, high = bounds.partition(":")
    if not sep or not colon or not name.strip():
        raise ParameterError(f"{flag} expects NAME=A:B (e.g. x=-2:2), got {text!r}")
    low, high = _float(low.strip(), f"{flag} start"), _float(high.strip(), f"{flag} end")
    _ordered(low, high, f"{flag} start A", "its end B")
    return Axis(name.strip(), low, high, points)


def cmd_basin(args):
    from .sweep import basin_map

    _check_writable("--out", args.out)
    map_ = resolve_map(args)
    try:
        counts = [int(v) for v in str(args.points).split(",")]
    except ValueError:
        raise ParameterError(f"--points expects N or NX,NY, got {args.points!r}") from None
    if len(counts) not in (1, 2) or min(counts) < 2:
        raise ParameterError(f"--points expects N or NX,NY with each at least 2, got {args.points!r}")
    nx, ny = counts if len(counts) == 2 else counts * 2
    x, y = _axis(args.x_axis, "--x", nx), _axis(args.y_axis, "--y", ny)
    options = _options(args)
    executor, scheduler = _where(args)
    base = [str(v) for v in _guess(args, map_)]
    basin = basin_map(map_, x, y, base=base, options=options, executor=executor, scheduler=scheduler,
                      workers=args.workers, progress=False if args.no_progress else None)
    if args.out:
        from .plot_sweep import basin_plot

        _write_figure(lambda path: basin_plot(basin, path=path), args.out)
    if args.json:
        summary = basin.summary()
        summary["figure"] = args.out
        return summary, True
    lines = [f"{map_.name}: basin map over {x.name} in [{x.start:g}, {x.stop:g}] x {y.name} in [{y.start:g}, "
             f"{y.stop:g}], {nx} x {ny} starts (float64; {args.transient} iterates, then {args.keep} to detect periods)",
             f"  {basin.message}"]
    continuum = basin.distinct_end_states > basin.provenance.options.max_attractors
    shown = 3 if continuum else 8
    for a in basin.attractors[:shown]:
        point = ", ".join(f"{v:.10g}" for v in a.points[0][:6])
        lines.append(f"  {'end state' if continuum else 'attractor'} {a.label}: period {a.period}, {a.cells} starts, "
                     f"through ({point}{', ...' if len(a.points[0]) > 6 else ''})")
    if len(basin.attractors) > shown:
        lines.append(f"  ... {len(basin.attractors) - shown} more listed (--json for all)")
    lines.append(f"  {basin.provenance.evaluations:,} map evaluations in {basin.provenance.seconds:.2f} s on "
                 f"{basin.provenance.executor}, {basin.provenance.chunks} chunk(s)")
    if args.out:
        lines.append(f"  figure written to {args.out}")
    return "\n".join(lines), True
