"""Kalra, He, Barkeshli: the UV model's critical learning rate, its function-space portrait and its route to chaos.

Run from the repository root:

    PYTHONPATH=. python docs/gallery/kalra_uv.py      # about 15 s

The UV model f = v^T U x / sqrt(n), loss 1/2 (f - y)^2 (n = 4, x = (1), y = 2).  GD on (U, v) closes on the
function-space pair (Delta f, lambda) (dynsys_eos.uvspace).  The paper's claims checked here:

* the flattest minimum has NTK lambda = 2 |x| |y| / sqrt(n), so GD has a critical learning rate
  lr_c = sqrt(n) / (|x| |y|) (= 1 here) beyond which no minimum is stable;
* the (Delta f, lambda) phase portrait: a line of minima Delta f = 0 (stable below lambda = 2/lr), two
  nullclines and a forbidden region lambda < 2 |x| |Delta f + y| / sqrt(n) that no parameters reach;
* beyond lr_c GD does not converge: it oscillates with period 2, then period-doubles into chaos, then diverges;
* no EoS when the maximal trainable lr is below lr_c: from sharper (scaled-up) starts GD diverges at a smaller
  lr, and once that is below lr_c every trainable lr converges to a minimum.

Writes docs/gallery/figures/kalra-uv-portrait.png, kalra-uv-orbit-diagram.png and kalra-uv-init.png and prints
their numbers.
"""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dynsys_eos import uvspace
from dynsys_eos.eos import TrajectoryOptions, trajectory
from dynsys_eos.models import build_model
from dynsys_eos.plot_eos import phase_portrait
from dynsys_eos.plot_sweep import orbit_diagram_plot
from dynsys_eos.sweep import SweepOptions, orbit_diagram
from dynsys_eos.thresholds import critical_learning_rate

FIGURES = Path(__file__).parent / "figures"
WIDTH, TARGET, NORM2 = 4, 2, 1

# -- 1. the critical learning rate: the paper's formula, uvspace's derivation, the generic Hessian threshold
model = build_model("uv", n=WIDTH, y=TARGET)
formula = np.sqrt(WIDTH) / (np.sqrt(NORM2) * abs(TARGET))
derived = uvspace.critical_learning_rate(n=WIDTH, y=TARGET, s=NORM2)
generic = critical_learning_rate(model)
print("Paper's claim: lr_c = sqrt(n)/(|x| |y|); the flattest minimum has lambda = 2 |x| |y|/sqrt(n).")
print(f"  formula sqrt({WIDTH})/(1*{TARGET}) = {formula:g}")
print(f"  uvspace (derived from the closed map, exact): lr_c = {derived}")
print(f"  thresholds.critical_learning_rate (Hessian at the flattest minimum, {generic.kind}): "
      f"lr_c = {generic.expression} = {generic.format_value(20)} ({generic.digits} digits checked at two "
      f"precisions); sharpness {float(generic.sharpness):g} vs 2|x||y|/sqrt(n) = "
      f"{2 * abs(TARGET) / np.sqrt(WIDTH):g}")

# -- 2. phase portrait in function space, with a GD run in parameter space mapped onto it
lr_portrait = "1.2"
gd = trajectory(build_model("uv", n=WIDTH, y=TARGET, lr=lr_portrait), model.model.default_state(),
                TrajectoryOptions(steps=300, lyapunov=False))
df_gd, lam_gd = uvspace.coordinates(gd.map, gd.states)
closed = uvspace.function_space_map(n=WIDTH, y=TARGET, s=NORM2, lr=lr_portrait)
z = np.array([df_gd[0], lam_gd[0]])
errors = []
fm = uvspace._derived()
for k in range(1, 40):  # the closed 2-D map against the parameter-space run, step by step
    z = np.array(fm.evaluate(z[0], z[1], lr_portrait, TARGET, WIDTH, NORM2), dtype=float)
    errors.append(max(abs(z[0] - df_gd[k]), abs(z[1] - lam_gd[k])))
print(f"Function-space map vs GD on (U, v) at lr = {lr_portrait} over 39 steps: max |difference| = "
      f"{max(errors):.2e} (float64 round-off; the identity is exact, uvspace.check_against_model)")
points = uvspace.fixed_points(lr_portrait, TARGET, WIDTH, NORM2)
print(f"Fixed points at lr = {lr_portrait} (exact):")
for p in points:
    lam_text = "any" if p.kind == "minima line" else f"{float(p.lam):.6f}"
    print(f"  {p.kind:12s} Delta f = {float(p.df) if p.df.is_number else p.df}, lambda = {lam_text}, "
          f"multipliers {[str(mu) if not mu.is_number else f'{complex(mu):.6g}' for mu in p.multipliers]}, "
          f"reachable: {p.feasible}")
tail_df, tail_lam = df_gd[-4:], lam_gd[-4:]
print(f"GD at lr = {lr_portrait} (> lr_c): last iterates Delta f = {np.round(tail_df, 6).tolist()}, "
      f"lambda = {np.round(tail_lam, 6).tolist()} (2/lr = {2 / float(lr_portrait):.6f})")
figure = phase_portrait(n=WIDTH, y=TARGET, s=NORM2, lr=lr_portrait, orbits=[(df_gd[0], lam_gd[0])], steps=300,
                        lam_range=(0, 6))
figure.axes[0].plot(df_gd[-2:], lam_gd[-2:], "k*", markersize=10, label="GD on (U, v): period-2 orbit")
figure.axes[0].legend(loc="upper right", fontsize=7)
figure.savefig(FIGURES / "kalra-uv-portrait.png", dpi=120)

# -- 3. orbit diagram against lr, lr_c marked
lrs = np.linspace(0.5, 2.1, 1601)
diagram = orbit_diagram(model, "lr", lrs, options=SweepOptions(transient=3000, keep=128), executor="serial")
period = diagram.period
spacing = lrs[1] - lrs[0]


def first_index(mask):
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


flip = first_index(period == 2)
four = first_index(period == 4)
chaos = first_index((period == 0) & ~diagram.diverged & (lrs > lrs[four] if four is not None else True))
escape = first_index(diagram.diverged)
print("Paper's claim: beyond lr_c GD oscillates (period 2), period-doubles and becomes chaotic, then diverges.")
print(f"  orbit diagram: {len(lrs)} values of lr in [0.5, 2.1] (grid spacing {spacing:.4f}), 3000 steps transient, "
      f"from the model's default state; periods: {diagram.summary()['periods']}")
print(f"  first period 2 at lr = {lrs[flip]:.4f} (grid); lr_c = {float(derived):g}")
# near the flip convergence is algebraic: recheck with a 100x longer transient on a fine grid
near = np.linspace(0.99, 1.01, 201)
fine = orbit_diagram(model, "lr", near, options=SweepOptions(transient=300000, keep=128), executor="serial")
fine_flip = first_index(fine.period == 2)
last_fixed = np.flatnonzero(fine.period == 1)
print(f"  recheck on [0.99, 1.01] (spacing 1e-4, 300000 steps): last period 1 at lr = "
      f"{near[last_fixed[-1]] if last_fixed.size else float('nan'):.4f}, first period 2 at lr = "
      f"{near[fine_flip]:.4f}; lr_c = 1: "
      + ("the flip is at lr_c to the grid's resolution" if fine_flip is not None and abs(near[fine_flip] - 1) <= 2e-4
         else "the first period 2 is NOT at lr_c at this resolution (a period-2 orbit off the line of minima "
              "attracts this start before the flattest minimum loses stability)"))
print(f"  first period 4 at lr = {lrs[four]:.4f}; first bounded non-periodic (chaos or period > 32) at lr = "
      f"{lrs[chaos]:.4f}; first divergence at lr = {lrs[escape]:.4f}")
figure = Figure(figsize=(9, 5.5), layout="constrained")
FigureCanvasAgg(figure)
axes = figure.add_subplot(1, 1, 1)


def ntk(states):
    shape = states.shape
    _, lam_values = uvspace.coordinates(model, states.reshape(-1, shape[-1]))
    return lam_values.reshape(shape[:-1])


orbit_diagram_plot(diagram, quantity=ntk, quantity_label="lambda (NTK) on the attractor",
                   marks={"lr_c": float(derived), "first period 2": lrs[flip]}, ax=axes)
axes.plot(lrs, 2 / lrs, color="0.5", lw=0.8, ls=":", label="2/lr")
axes.set_ylim(0, 8)
axes.legend(fontsize=8)
figure.savefig(FIGURES / "kalra-uv-orbit-diagram.png", dpi=120)

# -- 4. initialization: no EoS when the maximal trainable lr is below lr_c
print("Paper's claim: EoS needs lr > lr_c (below it a minimum is stable and GD converges to it), so there is no "
      "EoS when the maximal trainable lr (beyond which GD diverges from the given start) is below lr_c.")
print("  starts: the default state scaled by s (a larger s: a sharper start); 441 values of lr in [0.3, 2.5], 3000 "
      "steps transient; EoS = a bounded late orbit that is not a fixed point (period >= 2 or none found)")
print(f"  {'s':>5} {'lambda_0':>9} {'lr_max':>7} {'lr_max > lr_c':>13} {'EoS at lr in':>18} {'EoS cells':>9} "
      f"{'bounded above lr_max':>20}")
base = np.asarray(model.model.default_state(), dtype=float)
scan = np.linspace(0.3, 2.5, 441)
rows = []
for scale in (0.5, 1.0, 1.5, 2.0, 2.5, 2.75, 3.0):
    start = base * scale
    _, lam0 = uvspace.coordinates(model, start[None, :])
    sweep = orbit_diagram(model, "lr", scan, initial=[f"{v:.15g}" for v in start],
                          options=SweepOptions(transient=3000, keep=128), executor="serial")
    first_divergence = first_index(sweep.diverged)
    lr_max = scan[first_divergence - 1] if first_divergence else np.inf
    eos = ~sweep.diverged & (sweep.period != 1)
    after = int(np.sum(~sweep.diverged[first_divergence:])) if first_divergence else 0
    span = f"[{scan[eos].min():.3f}, {scan[eos].max():.3f}]" if eos.any() else "none"
    rows.append((scale, float(lam0[0]), lr_max, scan[eos].min() if eos.any() else None))
    print(f"  {scale:5.2f} {lam0[0]:9.3f} {lr_max:7.3f} {str(lr_max > float(derived)):>13} {span:>18} "
          f"{int(eos.sum()):9d} {after:20d}")
consistent = all((r[3] is not None) == (r[2] > float(derived)) for r in rows)
onset = [r[3] for r in rows if r[3] is not None]
print(f"  EoS exactly when lr_max > lr_c: {consistent}; EoS never starts below lr_c: "
      f"{all(v >= float(derived) - 1e-12 for v in onset)} (first EoS cell at lr = "
      f"{min(onset):.3f}; grid spacing {scan[1] - scan[0]:.3f}); lr_max is a grid value (+- one spacing)")
figure = Figure(figsize=(7, 4.2), layout="constrained")
FigureCanvasAgg(figure)
axes = figure.add_subplot(1, 1, 1)
lam_axis = [r[1] for r in rows]
axes.plot(lam_axis, [r[2] for r in rows], "o-", label="lr_max (first divergence, from the scaled start)")
axes.axhline(float(derived), color="k", lw=0.8, ls="--", label="lr_c = sqrt(n)/(|x| |y|)")
axes.fill_between(lam_axis, float(derived), [max(r[2], float(derived)) for r in rows], color="C1", alpha=0.3,
                  label="EoS window (lr_c, lr_max]")
axes.set_xlabel("NTK lambda at the start (start scale s = 0.5 ... 3)")
axes.set_ylabel("learning rate")
axes.legend(fontsize=8)
axes.set_title("UV model, n = 4, x = (1), y = 2: EoS needs lr_max > lr_c", fontsize=9)
figure.savefig(FIGURES / "kalra-uv-init.png", dpi=120)
