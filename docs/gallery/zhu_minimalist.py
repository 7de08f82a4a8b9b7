"""Zhu, Wang, Wang, Zhou, Ge: the minimalist example 1/2 (1 - x y z w)^2 at the edge of stability.

Run from the repository root:

    PYTHONPATH=. python docs/gallery/zhu_minimalist.py      # about 30 s

Claims checked here:

* sharpness concentration: started near a minimum whose sharpness is above 2/lr (5 % above here), GD enters
  the edge of stability, oscillates, lowers the sharpness and converges to a minimum whose sharpness lies in
  (2/lr - 20 lr/3, 2/lr), for small lr;
* near the minimum whose sharpness is exactly 2/lr the two-step dynamics follows a parabola for this degree-4
  model, while for a degree-2 model (1/2 (1 - x y)^2) it follows an ellipse: in the paper's reduced coordinates
  (the gradient-flow invariant and the product, on the invariant set x = y, z = w) we fit conics to the
  two-step iterates and print their discriminants, where the largest oscillation sits, and where GD ends;
* a basin map at lr = 0.2 over (x, y) with z = w = 1: which starts converge, to minima of which sharpness;
* the global picture is fractal: the box-counting dimension of the basin boundary grows as we zoom in.

Writes docs/gallery/figures/zhu-sharpness.png, zhu-two-step.png, zhu-basin.png and zhu-fractal.png.
"""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.optimize import brentq

from dynsys_eos.eos import TrajectoryOptions, sharpness, trajectory
from dynsys_eos.models import build_model
from dynsys_eos.plot_sweep import basin_plot
from dynsys_eos.sweep import SweepOptions, basin_map

FIGURES = Path(__file__).parent / "figures"


def new_figure(cols, size):
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, [figure.add_subplot(1, cols, k + 1) for k in range(cols)]


def balanced_pair_start(lr, factor=1.05, nudge=1e-3):
    """A start next to the minimum x = y = a, z = w = 1/a whose sharpness 2 (a^2 + 1/a^2) is factor * 2/lr."""
    a = brentq(lambda t: 2 * (t**2 + t**-2) - factor * 2 / lr, 1e-4, 1.0)
    return [f"{a * (1 + nudge):.12f}", f"{a:.12f}", f"{1 / a:.12f}", f"{1 / a:.12f}"]


# -- 1. final sharpness against lr
print("Paper's claim: for small lr, GD ends at a minimum with sharpness in (2/lr - 20 lr/3, 2/lr).")
print("  start: x = 1.001 a, y = a, z = w = 1/a, next to a minimum of sharpness 1.05 * 2/lr; 40000 GD steps "
      "(300000 at lr = 0.02)")
print(f"  {'lr':>6} {'start sharp.':>12} {'final sharpness':>16} {'lower bound':>12} {'2/lr':>8} {'inside?':>8} "
      f"{'|grad| at end':>14} phases")
figure, (left, right) = new_figure(2, (11, 4.2))
rows = []
for lr in (0.02, 0.05, 0.1, 0.15, 0.2):
    steps = 300000 if lr < 0.05 else 40000  # the sharpness reduction slows down as lr shrinks
    t = trajectory(build_model("minimalist", lr=str(lr)), balanced_pair_start(lr),
                   TrajectoryOptions(steps=steps, record_every=100, lyapunov=False))
    final = float(t.sharpness[-1])
    low, high = 2 / lr - 20 * lr / 3, 2 / lr
    inside = low < final < high
    state = np.asarray(t.final, dtype=float)
    residual = 1 - np.prod(state)
    gradient = np.abs(residual) * np.linalg.norm(np.prod(state) / state)
    rows.append((lr, final, low, high, inside))
    print(f"  {lr:6.3f} {float(t.sharpness[0]):12.4f} {final:16.10f} {low:12.4f} {high:8.4f} {str(inside):>8} "
          f"{gradient:14.2e} {'-'.join(p.label for p in t.phases)}")
    left.plot(t.steps, t.sharpness * lr / 2, lw=0.8, label=f"lr = {lr}")
print("  (the final sharpness is a float64 Hessian eigenvalue at a state whose gradient is the size shown: "
      "accurate to ~1e-10 relative)")
left.axhline(1, color="k", lw=0.6, ls=":")
left.set_xscale("symlog", linthresh=100)
left.set_xlabel("step")
left.set_ylabel("sharpness * lr / 2 (1 = edge of stability)")
left.legend(fontsize=8)
lrs = np.array([r[0] for r in rows])
right.fill_between(lrs, [r[2] * r[0] / 2 for r in rows], [r[3] * r[0] / 2 for r in rows], color="0.85",
                   label="(2/lr - 20 lr/3, 2/lr), scaled by lr/2")
right.plot(lrs, [r[1] * r[0] / 2 for r in rows], "o-", label="final sharpness * lr/2")
right.set_xlabel("lr")
right.legend(fontsize=8)
figure.savefig(FIGURES / "zhu-sharpness.png", dpi=120)
other = trajectory(build_model("minimalist", lr="0.1"), [f"{np.sqrt(0.1 / 2.1) * 1.001:.12f}",
                                                        f"{1 / np.sqrt(0.1 / 2.1):.12f}", "1", "1"],
                   TrajectoryOptions(steps=40000, record_every=10, lyapunov=False))
print(f"  not every start: from x = 1.001 a, y = 1/a, z = w = 1 (one unbalanced pair, sharpness "
      f"{float(other.sharpness[0]):.3f}) at lr = 0.1 GD ends at sharpness {float(other.sharpness[-1]):.4f}, "
      f"outside (19.3333, 20): the window holds for the balanced-pair starts above")


# -- 2. two-step dynamics: parabola (degree 4) vs ellipse (degree 2)
# The paper's reduced coordinates: on the invariant set x = y, z = w the gradient-flow invariant x^2 - z^2 and the
# product fix the state; c = sqrt(|xy - zw|), d = sqrt(xyzw) (= xz).  The minimum whose sharpness is exactly 2/lr
# (the lr-EoS minimum) is (c, d) = ((lr^-2 - 4)^(1/4), 1); a = c - (lr^-2 - 4)^(1/4), b = d - 1 are the offsets.
# For the degree-2 model 1/2 (1 - xy)^2 the same construction gives c = sqrt(|x^2 - y^2|), d = xy, and the
# lr-EoS minimum (x^2 + y^2 = 2/lr) at c = (4/lr^2 - 4)^(1/4).
def fit_conic(u, v):
    """Least-squares conic A u^2 + B uv + C v^2 + D u + E v + F = 0 on standardized data.

    Returns the normalized discriminant (B^2 - 4AC)/(A^2 + B^2 + C^2) (0 parabola, < 0 ellipse) and the rms
    algebraic residual (unit coefficient vector)."""
    U, V = (u - u.mean()) / np.std(u), (v - v.mean()) / np.std(v)
    design = np.stack([U**2, U * V, V**2, U, V, np.ones_like(U)], axis=1)
    _, singular, vt = np.linalg.svd(design, full_matrices=False)
    A, B, C = vt[-1][:3]
    return (B**2 - 4 * A * C) / (A**2 + B**2 + C**2), singular[-1] / np.sqrt(len(U))


def reduced_run(degree, lr, steps=20000):
    """GD from next to the minimum of sharpness 1.05 * 2/lr on the invariant set; returns (a, b, asymmetry)."""
    if degree == 4:
        s = brentq(lambda t: 2 * (t**2 + t**-2) - 1.05 * 2 / lr, 1e-4, 1.0)
        model, start = build_model("minimalist", lr=str(lr)), [s * 1.001, s * 1.001, 1 / s, 1 / s]
    else:
        s = brentq(lambda t: t**2 + t**-2 - 1.05 * 2 / lr, 1e-4, 1.0)
        model, start = build_model("scalar-net", depth=2, sigma=1, lr=str(lr)), [s * 1.001, 1 / s]
    t = trajectory(model, [f"{v:.15g}" for v in start],
                   TrajectoryOptions(steps=steps, sharpness="none", lyapunov=False))
    X = np.asarray(t.states, dtype=float)
    if degree == 4:
        asymmetry = max(np.abs(X[:, 0] - X[:, 1]).max(), np.abs(X[:, 2] - X[:, 3]).max())
        c, d, c_star = np.sqrt(np.abs(X[:, 0] * X[:, 1] - X[:, 2] * X[:, 3])), np.sqrt(np.prod(X, axis=1)), \
            (lr**-2 - 4) ** 0.25
    else:
        asymmetry = 0.0
        c, d, c_star = np.sqrt(np.abs(X[:, 1] ** 2 - X[:, 0] ** 2)), X[:, 0] * X[:, 1], (4 / lr**2 - 4) ** 0.25
    return c - c_star, d - 1, asymmetry


def return_stretch(a, b, share=0.8):
    """Two-step iterates (even steps) after the largest |b|, where |b| <= share * max |b| and b is not yet ~0."""
    a2, b2 = a[::2], b[::2]
    peak = int(np.argmax(np.abs(b2)))
    top = abs(b2[peak])
    keep = (np.arange(len(b2)) >= peak) & (np.abs(b2) <= share * top) & (np.abs(b2) > 1e-3 * top)
    return a2[keep], b2[keep]


print("Paper's claim: near the lr-EoS minimum the two-step dynamics of the degree-4 model follows a parabola; a "
      "degree-2 model's follows an ellipse.")
print("  coordinates (a, b): offsets of c = sqrt(|xy - zw|) and d = sqrt(xyzw) from the lr-EoS minimum ((xy - 1)^2 "
      "model: c = sqrt(|x^2 - y^2|), d = xy); start x = y = 1.001 s, z = w = 1/s next to the minimum of sharpness "
      "1.05 * 2/lr; 20000 GD steps (40000 at lr = 0.02)")
print("  conic fitted to the two-step iterates (even steps) on the way back: after the largest |b|, where |b| <= "
      "cut * max |b|; normalized discriminant (B^2 - 4AC)/(A^2 + B^2 + C^2): 0 parabola, < 0 ellipse (a curve is "
      "parabola-like near its vertex, so it is shown for three cuts)")
print("  peak at: (a at the largest |b| - a_end)/(a_0 - a_end), 1/2 for an ellipse through (a_0, 0) and (a_end, 0), "
      "near 1 for a climb at fixed a followed by a parabola; a_end/a_0 = -1 when an ellipse closes")
CUTS = (0.5, 0.8, 0.95)
print(f"  {'model':8} {'lr':>5} {'points':>6} " + " ".join(f"{'disc. @' + str(c):>10}" for c in CUTS)
      + f" {'rms @0.8':>9} {'peak at':>7} {'a_0':>8} {'a_end':>9} {'a_end/a_0':>9} {'max|x-y|':>8} shape")
figure, axes = new_figure(2, (11, 4.4))


def conic_shape(discriminant, peak_at, ratio):
    """parabola: climb at fixed a (peak near a_0), return with a near-zero discriminant to a vertex near the lr-EoS
    point; ellipse: clearly negative discriminant, peak midway, closing at the mirror point a_end ~ -a_0."""
    if abs(discriminant) < 0.15 and peak_at > 0.75 and abs(ratio) < 0.3:
        return "parabola"
    if discriminant < -0.3 and abs(peak_at - 0.5) < 0.15 and abs(ratio + 1) < 0.25:
        return "ellipse"
    return "neither"


shapes = {4: [], 2: []}
for ax, degree, label in zip(axes, (4, 2), ("degree 4: 1/2 (1 - xyzw)^2", "degree 2: 1/2 (1 - xy)^2")):
    for lr in (0.02, 0.05, 0.1, 0.2):
        a, b, asymmetry = reduced_run(degree, lr, 40000 if lr < 0.05 else 20000)
        fits = [fit_conic(*return_stretch(a, b, cut)) for cut in CUTS]
        peak_at = (a[int(np.argmax(np.abs(b)))] - a[-1]) / (a[0] - a[-1])
        shapes[degree].append(conic_shape(fits[1][0], peak_at, a[-1] / a[0]))
        print(f"  degree {degree} {lr:5.2f} {len(return_stretch(a, b)[0]):6d} "
              + " ".join(f"{f[0]:+10.3f}" for f in fits)
              + f" {fits[1][1]:9.1e} {peak_at:7.2f} {a[0]:+8.4f} {a[-1]:+9.5f} {a[-1] / a[0]:+9.3f} {asymmetry:8.1e} "
              f"{shapes[degree][-1]}")
        ax.plot(a, b, ".", ms=1.5, label=f"lr = {lr}: discriminant {fits[1][0]:+.3f} (cut 0.8)")
    ax.axhline(0, color="0.7", lw=0.5)
    ax.axvline(0, color="0.7", lw=0.5)
    ax.set_xlabel("a = c - (lr-EoS value)   (a > 0: sharper than 2/lr)")
    ax.set_ylabel("b = d - 1")
    ax.set_title(label, fontsize=9)
    ax.legend(fontsize=7, markerscale=6)
figure.savefig(FIGURES / "zhu-two-step.png", dpi=120)
print("  shape criteria: parabola |disc. @0.8| < 0.15, peak at > 0.75, |a_end/a_0| < 0.3; ellipse disc. @0.8 < -0.3, "
      "peak at 0.5 +- 0.15, a_end/a_0 = -1 +- 0.25")
print(f"  verdict: degree 4 {shapes[4]}, degree 2 {shapes[2]} (lr = 0.02, 0.05, 0.1, 0.2).  The degree-2 runs end "
      "as far below 2/lr as they started above: no sharpness concentration without the parabola.")

# -- 3. basin map at lr = 0.2
model = build_model("minimalist", lr="0.2")
basin = basin_map(model, ("x", -3, 3, 300), ("y", -3, 3, 300), base=[1, 1, 1, 1],
                  options=SweepOptions(transient=2000, keep=64), executor="serial")
converged = basin.converged & ~basin.diverged
finals = basin.final[converged]
sharp = sharpness(model, finals)[0] if len(finals) else np.array([])
print("Basin map at lr = 0.2 (2/lr = 10) over x, y in [-3, 3]^2 (300 x 300), z = w = 1, 2000 steps:")
print(f"  diverged {basin.diverged.mean():.3f}, periodic {converged.mean():.3f} (period 1: "
      f"{(basin.period == 1).mean():.3f}, period 2: {(basin.period == 2).mean():.3f}), no period <= 32: "
      f"{(basin.label == -2).mean():.3f}; distinct end states {basin.distinct_end_states} (a continuum of minima)")
period_one = basin.period[converged] == 1
at_minimum = period_one & (np.abs(1 - np.prod(finals, axis=1)) < 1e-6)
at_zero = period_one & (np.abs(np.prod(finals, axis=1)) < 1e-6)
print(f"  period-1 cells ending at a minimum (|1 - xyzw| < 1e-6): {at_minimum.sum()} of {period_one.sum()}; "
      f"at a critical point with xyzw = 0 (loss 1/2, not a minimum): {at_zero.sum()}")
minima = sharp[at_minimum]
print(f"  sharpness of the minima reached: min {minima.min():.4f}, median {np.median(minima):.4f}, max "
      f"{minima.max():.4f}; all below 2/lr = 10: {bool(np.all(minima < 10))}; fraction in (2/lr - 20 lr/3, 2/lr) = "
      f"(8.6667, 10): {np.mean((minima > 10 - 4 / 3) & (minima < 10)):.3f} (this window is claimed for starts at "
      f"the edge of stability, not for every start on the grid)")
basin_plot(basin, path=FIGURES / "zhu-basin.png")


# -- 4. the global picture is fractal: zooming into the basin boundary
def boundary_dimension(diverged):
    """Box-counting dimension of the converge/diverge boundary: slope of log N(boxes) against log(1/box), boxes
    of 1..16 cells; also the counts.  1 for a smooth curve, up to 2 for a boundary that fills the plane."""
    edge = np.zeros_like(diverged, dtype=bool)
    edge[:-1, :] |= diverged[:-1, :] != diverged[1:, :]
    edge[:, :-1] |= diverged[:, :-1] != diverged[:, 1:]
    sizes = np.array([1, 2, 4, 8, 16])
    counts = []
    for size in sizes:
        m = edge.shape[0] // size * size
        counts.append(int(edge[:m, :m].reshape(m // size, size, m // size, size).any(axis=(1, 3)).sum()))
    return float(np.polyfit(np.log(1 / sizes), np.log(np.maximum(counts, 1)), 1)[0]), counts


CENTER = (2.2575, 2.2776)  # a boundary cell of the 300 x 300 map above
print("Paper's claim: globally the dynamics is fractal (bifurcating); here: zooming into the basin boundary at "
      f"lr = 0.2 around (x, y) = {CENTER}, z = w = 1, 2000 steps")
print(f"  {'window':>8} {'cells':>9} {'diverged':>8} {'boundary dimension':>18} {'at twice the resolution':>24}")
figure, axes = new_figure(3, (13, 4.4))
dimensions = []
for ax, width in zip(axes, (0.6, 0.06, 0.006)):
    window = [(name, c - width / 2, c + width / 2, cells) for name, c, cells in (("x", CENTER[0], 256),
                                                                               ("y", CENTER[1], 256))]
    runs = []
    for factor in (1, 2):
        b = basin_map(model, *[(n, lo, hi, cells * factor) for n, lo, hi, cells in window], base=[1, 1, 1, 1],
                      options=SweepOptions(transient=2000, keep=64), executor="serial")
        runs.append((np.asarray(b.diverged), boundary_dimension(np.asarray(b.diverged))[0]))
    dimensions.append((width, runs[0][1], runs[1][1]))
    print(f"  {width:8.3f} {'256^2':>9} {runs[0][0].mean():8.3f} {runs[0][1]:18.3f} {runs[1][1]:24.3f}")
    ax.imshow(runs[1][0], origin="lower", extent=(window[0][1], window[0][2], window[1][1], window[1][2]),
              cmap="Greys", interpolation="nearest")
    ax.set_title(f"window {width} (dark: diverges); boundary dim. {runs[1][1]:.2f}", fontsize=9)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
figure.savefig(FIGURES / "zhu-fractal.png", dpi=120)
growing = all(b[1] > a[1] + 0.05 for a, b in zip(dimensions, dimensions[1:]))
print(f"  verdict: the boundary dimension grows as we zoom in ({', '.join(f'{d[2]:.2f}' for d in dimensions)} at "
      f"512^2): {growing}; a smooth boundary would give 1 at every zoom.  Resolution changes it by <= "
      f"{max(abs(d[1] - d[2]) for d in dimensions):.2f} (box counts over 1-16 cells are a rough estimate: read "
      "them to about +-0.05)")
