"""Figure for docs/conservation-laws.md: the balancing gap under GD, below and beyond the edge of stability.

Run from the repository root:

    PYTHONPATH=. python docs/figures/make_balancing_gap.py

It writes docs/figures/balancing_gap.png next to this script.  Left: the
depth-3 scalar network (sigma = 1; its flattest minimum loses stability at
lr = 2/3), gap sqrt(sum_i (w_{i+1}^2 - w_i^2)^2).  Right: deep matrix
factorization, depth 3, 2 x 2 factors, target diag(2, 1): the gap of the top
direction, the (1,1) entries of W_{l+1}^T W_{l+1} - W_l W_l^T (threshold
2 / (3 * 2^(4/3)) = 0.2646, computed below with ``critical_learning_rate``),
solid, and of the second direction, the (2,2) entries (its own threshold
2/3 is not crossed), dashed.  Only the public API is used
(``conservation_laws`` for the law count, ``known_laws``, ``laws_along_gd``).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dynsys_eos.laws import conservation_laws, known_laws, laws_along_gd  # noqa: E402
from dynsys_eos.models import build_model  # noqa: E402
from dynsys_eos.thresholds import critical_learning_rate  # noqa: E402

OUT = Path(__file__).with_name("balancing_gap.png")
STEPS = 1500

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))

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
axes[0].set_title(f"scalar-net, depth 3, sigma = 1 (threshold lr = {threshold:.4f})")
axes[0].set_xlabel("GD step")
axes[0].set_ylabel("balancing gap  ||(w2^2 - w1^2, w3^2 - w2^2)||")
axes[0].set_ylim(1e-16, 10)
axes[0].legend(fontsize=8)

# -- deep matrix factorization ----------------------------------------------------------------------
dmf = build_model("dmf", depth=3, dim=2)
laws = known_laws("dmf", dmf.model.loss.state, dmf.model.structure)  # per gap: entries (1,1), (1,2), (2,2)
assert conservation_laws(dmf.model.loss).count == len(laws) == 6
threshold = float(critical_learning_rate(dmf).value)
start = ["1.5", "0.05", "0.05", "1.2", "1.2", "0.05", "0.05", "1.0", "0.9", "0.05", "0.05", "0.8"]
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
for color, lr in zip(colors, ("0.2", "0.25", "0.3", "0.35")):
    run = laws_along_gd(dmf, laws, start, STEPS, {"lr": lr})
    top = np.sqrt(run.values[:, 0] ** 2 + run.values[:, 3] ** 2)
    second = np.sqrt(run.values[:, 2] ** 2 + run.values[:, 5] ** 2)
    side = "beyond" if float(lr) > threshold else "below"
    axes[1].semilogy(np.maximum(top, 1e-300), color=color, label=f"lr = {lr} ({side}): top direction")
    axes[1].semilogy(np.maximum(second, 1e-300), color=color, ls="--", lw=0.8)
axes[1].set_title(f"dmf, depth 3, target diag(2, 1) (threshold lr = {threshold:.4f})")
axes[1].set_xlabel("GD step")
axes[1].set_ylabel("gap of the (1,1) entries; dashed: (2,2)")
axes[1].set_ylim(1e-8, 10)
axes[1].legend(fontsize=8)

fig.tight_layout()
fig.savefig(OUT, dpi=110)
print(f"wrote {OUT}")
