"""Ghosh, Kwon, Wang, Ravishankar, Qu: deep matrix factorization beyond the edge of stability.

Run from the repository root:

    PYTHONPATH=. python docs/gallery/ghosh_dmf.py      # about 30 s

Loss 1/2 ||W_L ... W_1 - diag(sigmas)||_F^2 with d x d factors (model ``dmf``).  Claims checked here:

* the flattest minimum (balanced: W_l = diag(sigma_i^(1/L))) has sharpness L sigma_1^(2 - 2/L), so GD's
  threshold is lr_c = 2 / (L sigma_1^(2 - 2/L)), falling with depth;
* beyond it GD oscillates in a subspace of the end-to-end product whose dimension is the number of singular
  values with L sigma_i^(2 - 2/L) > 2/lr;
* the balancing gap ||W_{l+1}^T W_{l+1} - W_l W_l^T|| (conserved by gradient flow) decays at the edge of
  stability.

Writes docs/gallery/figures/ghosh-threshold.png, ghosh-oscillation.png and ghosh-balancing.png.
"""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dynsys_eos.eos import TrajectoryOptions, trajectory
from dynsys_eos.models import build_model
from dynsys_eos.thresholds import critical_learning_rate

FIGURES = Path(__file__).parent / "figures"


def new_figure(size):
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


# -- 1. threshold against depth
print("Paper's claim: the flattest minimum has sharpness L sigma_1^(2-2/L); GD's threshold is 2/(L sigma_1^(2-2/L)).")
print("  dim 2, sigmas (3, 2); thresholds.critical_learning_rate at the model's flattest minimum:")
print(f"  {'L':>2} {'L s1^(2-2/L)':>14} {'Hessian sharpness':>18} {'2/(L s1^(2-2/L))':>18} {'critical lr':>18} "
      f"{'kind':>12} digits")
depths, formula_lr, exact_lr = [2, 3, 4, 5], [], []
for depth in depths:
    result = critical_learning_rate(build_model("dmf", depth=depth, dim=2, sigmas="3,2"))
    predicted = depth * 3.0 ** (2 - 2 / depth)
    formula_lr.append(2 / predicted)
    exact_lr.append(float(result.value))
    print(f"  {depth:2d} {predicted:14.10f} {float(result.sharpness):18.10f} {2 / predicted:18.12f} "
          f"{result.format_value(15):>18} {result.kind:>12} {result.digits}")
figure, axes = new_figure((6, 4))
axes.plot(depths, formula_lr, "-", label="2 / (L sigma_1^(2-2/L))")
axes.plot(depths, exact_lr, "o", label="critical_learning_rate (Hessian)")
axes.set_xlabel("depth L")
axes.set_ylabel("critical learning rate")
axes.set_title("dmf, dim 2, sigmas (3, 2)", fontsize=9)
axes.legend()
figure.savefig(FIGURES / "ghosh-threshold.png", dpi=120)

# -- 2. oscillation subspace dimension against lr
DEPTH, SIGMAS = 3, np.array([1.2, 1.1, 1.0])
TEXT = "6/5,11/10,1"
edges = 2 / (DEPTH * SIGMAS ** (2 - 2 / DEPTH))  # direction i oscillates once lr > edges[i]


def diagonal_start(off_diagonal=0.0, layer_scales=(1.0, 1.0, 1.0), seed=0):
    """W_l = 1.02 s_l diag(sigma_i^(1/L)) plus random off-diagonal entries of the given size."""
    rng = np.random.default_rng(seed)
    d = len(SIGMAS)
    factors = []
    for scale in layer_scales:
        W = np.diag(1.02 * scale * SIGMAS ** (1 / DEPTH)) + off_diagonal * rng.standard_normal((d, d)) * (1 - np.eye(d))
        factors.append(W.ravel())
    return [f"{v:.15g}" for v in np.concatenate(factors)]


def run(lr, start, steps):
    return trajectory(build_model("dmf", depth=DEPTH, dim=len(SIGMAS), sigmas=TEXT, lr=f"{lr:.6g}"), start,
                      TrajectoryOptions(steps=steps, lyapunov=False))


print("Paper's claim: GD oscillates in the subspace of the singular directions with L sigma_i^(2-2/L) > 2/lr.")
print(f"  depth {DEPTH}, sigmas {SIGMAS.tolist()}: direction thresholds 2/(L sigma_i^(2-2/L)) = "
      f"{np.round(edges, 6).tolist()}")
print("  start: balanced, diagonal, 2 % off the flattest minimum (and, second, with 1e-3 random off-diagonal "
      "entries); 4000 steps; dimension = rank of the late end-to-end product's oscillation (rel. tol. 1e-6)")
grid = np.linspace(0.47, 0.70, 24)
measured = {0.0: [], 1e-3: []}
for off in measured:
    for lr in grid:
        t = run(lr, diagonal_start(off), 4000)
        measured[off].append(t.oscillation.dimension if t.status == "completed" else -1)
predicted = [(edges < lr).sum() for lr in grid]
print(f"  {'lr':>6} {'predicted':>9} {'diagonal':>9} {'off 1e-3':>9}   (-1: diverged)")
for lr, p, a, b in zip(grid, predicted, measured[0.0], measured[1e-3]):
    print(f"  {lr:6.3f} {p:9d} {a:9d} {b:9d}")
agree = {off: int(np.sum(np.array(values) == np.array(predicted))) for off, values in measured.items()}
print(f"  agreement with the prediction: diagonal start {agree[0.0]}/{len(grid)}, with off-diagonal noise "
      f"{agree[1e-3]}/{len(grid)}")
figure, axes = new_figure((7, 4))
axes.step(grid, predicted, where="mid", color="k", lw=1, label="predicted: #{i: L sigma_i^(2-2/L) > 2/lr}")
axes.plot(grid, measured[0.0], "o", label="measured, balanced diagonal start")
axes.plot(grid, measured[1e-3], "x", label="measured, off-diagonal 1e-3 (-1 = diverged)")
for edge in edges:
    axes.axvline(edge, color="0.6", lw=0.6, ls=":")
axes.set_xlabel("lr")
axes.set_ylabel("oscillation subspace dimension")
axes.legend(fontsize=8)
figure.savefig(FIGURES / "ghosh-oscillation.png", dpi=120)


# -- 3. the balancing gap along the trajectory
def balancing_gap(states):
    """sum_l ||W_{l+1}^T W_{l+1} - W_l W_l^T||_F for each state (rows of the T x (L d^2) array)."""
    d = len(SIGMAS)
    Ws = np.asarray(states, dtype=float).reshape(len(states), DEPTH, d, d)
    gap = np.zeros(len(states))
    for layer in range(DEPTH - 1):
        upper, lower = Ws[:, layer + 1], Ws[:, layer]
        difference = np.swapaxes(upper, 1, 2) @ upper - lower @ np.swapaxes(lower, 1, 2)
        gap += np.linalg.norm(difference, axis=(1, 2))
    return gap


print("Paper's claim: at the edge of stability the balancing gap decays (gradient flow would conserve it).")
print("  start: layers scaled (1.15, 1, 1/1.15) around the flattest minimum, 1e-2 off-diagonal noise")
unbalanced = diagonal_start(1e-2, (1.15, 1.0, 1 / 1.15), seed=1)
figure, axes = new_figure((7, 4))
for lr in (0.05, 0.3, 0.555, 0.57):
    t = run(lr, unbalanced, 6000)
    gap = balancing_gap(t.states)
    regime = f"{int((edges < lr).sum())} direction(s) past their edge"
    print(f"  lr = {lr:6.4f} ({regime}): gap {gap[0]:.4e} at step 0 -> {gap[len(gap) // 2]:.4e} at step "
          f"{int(t.steps[len(gap) // 2])} -> {gap[-1]:.4e} at step {int(t.steps[-1])}; status {t.status}; "
          f"final sharpness {float(t.sharpness[-1]):.4f} (2/lr = {2 / lr:.4f})")
    axes.plot(t.steps, gap, label=f"lr = {lr} ({regime})")
axes.set_yscale("log")
axes.set_xlabel("step")
axes.set_ylabel("sum_l ||W_{l+1}^T W_{l+1} - W_l W_l^T||_F")
axes.legend(fontsize=8)
figure.savefig(FIGURES / "ghosh-balancing.png", dpi=120)
