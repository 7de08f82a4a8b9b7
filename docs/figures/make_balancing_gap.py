"""Figure for docs/conservation-laws.md: the balancing gap under GD, below and beyond the edge of stability.

Run from the repository root:

    PYTHONPATH=. python docs/figures/make_balancing_gap.py

It writes docs/figures/balancing_gap.png next to this script and prints the
numbers quoted on the page.  Left: the depth-3 scalar network (sigma = 1; its
flattest minimum loses stability at lr = 2/3), gap
sqrt(sum_i (w_{i+1}^2 - w_i^2)^2).  Middle and right: deep matrix
factorization, depth 3, 2 x 2 factors, target diag(2, 1), start with
off-diagonal entries 0.05 (right: also 0.01 and 0).  Middle: the singular-value
gap of each direction, max_l |sigma_i(W_{l+1})^2 - sigma_i(W_l)^2| (SVD of each
factor, each singular value put on the axis nearest its right singular vector);
the top direction's threshold is 2 / (3 * 2^(4/3)) = 0.2646 (from
``critical_learning_rate``), the second's, 2/3, is not crossed.  Right: beyond
the threshold, the top direction's singular-value gap against the fixed-basis
quantity the page used to show, the norm of the (1,1) entries of
W_{l+1}^T W_{l+1} - W_l W_l^T (laws of ``known_laws``).  Runs are float64;
values below ~1e-13 are rounding, which a 30- and 40-digit run of one case checks.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mpmath  # noqa: E402
import numpy as np  # noqa: E402

from dynsys_eos.arith import get_context  # noqa: E402
from dynsys_eos.laws import conservation_laws, known_laws, laws_along_gd, singular_direction_gaps  # noqa: E402
from dynsys_eos.models import build_model  # noqa: E402
from dynsys_eos.thresholds import critical_learning_rate  # noqa: E402

OUT = Path(__file__).with_name("balancing_gap.png")
STEPS, DMF_STEPS = 1500, 2500  # the dmf run at lr = 0.35 needs ~2200 steps to reach rounding
ROUNDING = 1e-13  # float64 gaps of O(1) squares below this are rounding
FLOOR = 1e-17  # exact zeros (rounding) are drawn at the bottom of the dmf panels

fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))

# -- scalar network -------------------------------------------------------------------------------
net = build_model("scalar-net", depth=3, sigma=1)
laws = known_laws("scalar-net", net.model.loss.state, net.model.structure)
assert conservation_laws(net.model.loss).count == len(laws) == 2
threshold = float(critical_learning_rate(net).value)
for lr in ("0.5", "0.6", "0.65", "0.7", "0.75", "0.8"):
    run = laws_along_gd(net, laws, ["1.3", "1", "0.6"], STEPS, {"lr": lr})
    beyond = float(lr) > threshold
    axes[0].semilogy(np.maximum(run.gap, 1e-300), ls="-" if beyond else "--",
                     label=f"lr = {lr} ({'beyond' if beyond else 'below'})")
axes[0].set_title(f"scalar-net, depth 3, sigma = 1 (threshold lr = {threshold:.4f})", fontsize=10)
axes[0].set_xlabel("GD step")
axes[0].set_ylabel("balancing gap  ||(w2^2 - w1^2, w3^2 - w2^2)||")
axes[0].set_ylim(1e-16, 10)
axes[0].legend(fontsize=8)

# -- deep matrix factorization ----------------------------------------------------------------------
DEPTH, DIM = 3, 2
dmf = build_model("dmf", depth=DEPTH, dim=DIM)
laws = known_laws("dmf", dmf.model.loss.state, dmf.model.structure)  # per gap: entries (1,1), (1,2), (2,2)
assert conservation_laws(dmf.model.loss).count == len(laws) == 6
threshold = float(critical_learning_rate(dmf).value)


def start(off):
    """Diagonals (1.5, 1.2), (1.0, 0.8), (0.9, 0.8) and every off-diagonal entry ``off``."""
    o = str(off)
    return ["1.5", o, o, "1.2", "1.2", o, o, "1.0", "0.9", o, o, "0.8"]


def singular_value_gaps(states):
    """T x DIM: max_l |sigma_i(W_{l+1})^2 - sigma_i(W_l)^2|, each singular value on its right vector's axis."""
    return singular_direction_gaps(states, DEPTH, DIM)


def fixed_entry_gap(run):
    """Norm over the layer pairs of the (1,1) entries of W_{l+1}^T W_{l+1} - W_l W_l^T."""
    return np.hypot(run.values[:, 0].astype(float), run.values[:, 3].astype(float))


def balancedness_eigen(run):
    """Eigenvalues and eigenvectors of each W_{l+1}^T W_{l+1} - W_l W_l^T at the last step (basis-free)."""
    v = run.values[-1].astype(float)
    return [np.linalg.eigh([[v[3 * l], v[3 * l + 1]], [v[3 * l + 1], v[3 * l + 2]]]) for l in range(DEPTH - 1)]


def first_below(gap):
    below = np.flatnonzero(gap < ROUNDING)
    return str(below[0]) if len(below) else "-"


print(f"dmf, depth 3, 2 x 2, target diag(2, 1), off-diagonal start 0.05; {DMF_STEPS} GD steps, float64 "
      f"(gaps below {ROUNDING:g} are rounding); top threshold lr = {threshold:.4f}")
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
for color, lr in zip(colors, ("0.2", "0.25", "0.3", "0.35")):
    run = laws_along_gd(dmf, laws, start(0.05), DMF_STEPS, {"lr": lr})
    gap, entry = singular_value_gaps(run.states), fixed_entry_gap(run)
    side = "beyond" if float(lr) > threshold else "below"
    print(f"  lr = {lr} ({side}): singular-value gap, top {gap[0, 0]:.3f} -> {gap[300, 0]:.2e} (step 300) -> "
          f"{gap[STEPS, 0]:.2e} (step {STEPS}) -> {gap[-1, 0]:.1e} (step {DMF_STEPS}), below {ROUNDING:g} from "
          f"step {first_below(gap[:, 0])}; second {gap[0, 1]:.4f} -> {gap[-1, 1]:.4f}; fixed-basis (1,1) "
          f"entries {entry[0]:.3f} -> {entry[300]:.2e} -> {entry[-1]:.2e}")
    print(f"    range over all steps: top {np.nanmin(gap[:, 0]):.3g} .. {np.nanmax(gap[:, 0]):.3g}, second "
          f"{np.nanmin(gap[:, 1]):.4f} .. {np.nanmax(gap[:, 1]):.4f}; top at step 100: {gap[100, 0]:.3f}")
    if float(lr) > threshold:
        end = int(first_below(gap[:, 0]))
        rises = int(np.sum(gap[2:end, 0] - gap[:end - 2, 0] > ROUNDING))
        print(f"    top gap rises (over two steps, by more than {ROUNDING:g}) at {rises} of {end} steps before rounding; "
              "eigenvalues of W_(l+1)^T W_(l+1) - W_l W_l^T at the end: "
              + ", ".join(f"({e[0][0]:.4f}, {e[0][1]:.0e})" for e in balancedness_eigen(run)))
    axes[1].semilogy(np.maximum(gap[:, 0], FLOOR), color=color, label=f"lr = {lr} ({side}): top direction")
    axes[1].semilogy(np.maximum(gap[:, 1], FLOOR), color=color, ls="--", lw=0.8)
axes[1].plot([], [], color="k", ls="--", lw=0.8, label="dashed: second direction (edge 2/3)")
axes[1].set_title(f"dmf, depth 3, diag(2, 1), off-diagonal 0.05 (top threshold lr = {threshold:.4f})", fontsize=10)
axes[1].set_ylabel("singular-value gap  max_l |s_i(W_l+1)^2 - s_i(W_l)^2|")

LR = "0.3"
print(f"  lr = {LR}, top direction, by off-diagonal start: singular-value gap against the fixed-basis (1,1) entries")
for color, off in zip(colors[4:], (0.05, 0.01, 0)):
    run = laws_along_gd(dmf, laws, start(off), DMF_STEPS, {"lr": LR})
    gap, entry = singular_value_gaps(run.states)[:, 0], fixed_entry_gap(run)
    print(f"    off-diagonal {off:g}: singular-value gap {gap[-1]:.1e} (below {ROUNDING:g} from step "
          f"{first_below(gap)}); fixed-basis (1,1) entries {entry[-1]:.2e}")
    for pair, (values, vectors) in enumerate(balancedness_eigen(run)):
        big = np.argmax(np.abs(values))  # the other eigenvalue is rounding: the matrix is rank one
        tilt = np.arcsin(min(1.0, abs(vectors[0, big])))  # of its eigenvector from the second axis
        print(f"      pair {pair + 1}: (1,1) entry {float(run.values[-1][3 * pair]):.3e} = eigenvalue "
              f"{values[big]:.4f} x sin^2(tilt {tilt:.4f} rad) = {values[big] * np.sin(tilt) ** 2:.3e}")
    if off:
        axes[2].semilogy(np.maximum(entry, FLOOR), color=color, ls="--",
                         label=f"off-diagonal {off:g}: fixed-basis (1,1) entries")
        axes[2].semilogy(np.maximum(gap, FLOOR), color=color, label=f"off-diagonal {off:g}: singular-value gap")
    else:
        axes[2].semilogy(np.maximum(gap, FLOOR), color=color, lw=0.8, label="diagonal start: both (equal)")
axes[2].set_title(f"dmf, lr = {LR} (beyond): top direction, two measures", fontsize=10)
axes[2].set_ylabel("gap of the top direction")
for ax in axes[1:]:
    ax.axhspan(1e-17, ROUNDING, color="0.9", zorder=0)
    ax.text(DMF_STEPS * 0.98, 3e-16, "float64 rounding", ha="right", fontsize=8, color="0.4")
    ax.set_xlabel("GD step")
    ax.set_ylim(1e-17, 10)
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1, 0.85 if ax is axes[1] else 1))

# The float64 floor is rounding: the same run at 30 and 40 digits.
with mpmath.workdps(45):
    for dps in (30, 40):
        run = laws_along_gd(dmf, laws, start(0.05), STEPS, {"lr": LR}, get_context("mp", dps=dps))
        W = [mpmath.matrix(2, 2) for _ in range(DEPTH)]
        for k, value in enumerate(run.states[-1]):
            W[k // 4][(k % 4) // 2, k % 2] = value
        top = []
        for lower, upper in zip(W, W[1:]):
            pair = []
            for gram in (upper.T * upper, lower * lower.T):  # eigenvalues: the squared singular values
                values, vectors = mpmath.eigsy(gram)
                pair.append(values[0] if abs(vectors[0, 0]) > abs(vectors[1, 0]) else values[1])
            top.append(abs(pair[0] - pair[1]))
        print(f"  lr = {LR}, off-diagonal 0.05, step {STEPS}, {dps} digits: top singular-value gap "
              f"{mpmath.nstr(max(top), 3)}; fixed-basis (1,1) entries "
              f"{mpmath.nstr(mpmath.sqrt(run.values[-1][0] ** 2 + run.values[-1][3] ** 2), 12)}")

fig.tight_layout()
fig.savefig(OUT, dpi=110)
print(f"wrote {OUT}")
