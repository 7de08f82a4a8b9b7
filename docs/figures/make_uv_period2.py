"""Figure for docs/design.md: GD on the uv model (n = 4) at lr = 1.1 settling on its period-2 orbit.

Run from the repository root:

    PYTHONPATH=. python docs/figures/make_uv_period2.py

It writes docs/figures/uv-period2.png next to this script.  Only the public
API is used: ``analyze`` for the refined orbit and the sharpness along it,
``Map.bind`` for the float64 GD trajectory, and the loss gradient's Jacobian
(the Hessian) for the sharpness of each iterate.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dynsys_eos.analysis import analyze  # noqa: E402
from dynsys_eos.arith import Float64  # noqa: E402
from dynsys_eos.models import build_model  # noqa: E402

STEPS = 60
OUT = Path(__file__).with_name("uv-period2.png")

m = build_model("uv", n=4, lr="1.1")
report = analyze(m, dps=30)
orbit = report.orbit
assert report.attractor_period == 2 and orbit.success, report.message
orbit_sharpness = [float(s) for s in report.sharpness]
flattest_sharpness = float(report.threshold.sharpness)  # 2/lr* at the flattest minimum

# the slowest transverse multiplier of the period-2 orbit (drop the 1's along the manifold of orbits)
multipliers = sorted((complex(z) for z in orbit.multipliers), key=lambda z: abs(z - 1))
transverse = multipliers[orbit.manifold_dimension:]
slowest = max(abs(z) for z in transverse)

# the GD trajectory in float64, with the sharpness of every iterate
ctx = Float64()
values = m.parameter_values()
lr = float(values["lr"])
step = m.bind(ctx)
hessian = m.loss.gradient_function().compile(ctx).bind(values)
theta = ctx.array(m.model.default_state())
trajectory = [theta]
for _ in range(STEPS + 2):
    trajectory.append(step.value(trajectory[-1]))
sharpness = np.array([np.linalg.eigvalsh(hessian.jacobian(t))[-1] for t in trajectory[: STEPS + 1]])
gap = np.array([np.max(np.abs(trajectory[k + 2] - trajectory[k])) for k in range(STEPS + 1)])
k = np.arange(STEPS + 1)

fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7.2), sharex=True, gridspec_kw={"height_ratios": [3, 2]})

top.plot(k, sharpness, color="0.85", lw=0.8, zorder=1)
top.plot(k[::2], sharpness[::2], "o", ms=4.5, color="tab:blue", label="GD iterates, even steps", zorder=3)
top.plot(k[1::2], sharpness[1::2], "s", ms=4.5, color="tab:orange", label="GD iterates, odd steps", zorder=3)
top.axhline(2 / lr, color="black", ls="--", lw=1.2, label=f"2/lr = {2 / lr:.4f}  (edge of stability at this lr)")
top.axhline(flattest_sharpness, color="tab:green", ls=":", lw=1.2,
            label=f"sharpness of the flattest minimum = {flattest_sharpness:g} (= 2/lr*)")
for i, (s, color) in enumerate(zip(orbit_sharpness, ("tab:blue", "tab:orange"))):
    top.axhline(s, color=color, lw=0.9, alpha=0.7)
    top.annotate(f"refined period-2 orbit, point x{i}: $\\lambda_{{max}}$ = {s:.6f}", xy=(STEPS, s), xytext=(0, 4),
                 textcoords="offset points", ha="right", va="bottom", fontsize=8.5, color=color)
top.set_ylabel(r"sharpness $\lambda_{max}(\nabla^2 L(\theta_k))$")
top.set_title("uv model (n = 4, d = 1, y = 2), GD at lr = 1.1 > lr* = 1, from the default state")
top.legend(loc="center right", fontsize=8.5, framealpha=1.0)
top.set_ylim(0.6, 3.05)

bottom.semilogy(k, gap, ".", ms=4, color="tab:purple", label=r"$|\theta_{k+2}-\theta_k|_\infty$  (how far $\theta_k$ is from being 2-periodic)")
anchor = STEPS - 10
reference = gap[anchor] * slowest ** ((k - anchor) / 2)
bottom.semilogy(k, reference, "-", lw=1, color="0.3",
                label=f"$\\propto {slowest:.1f}^{{k/2}}$: {slowest:.1f} is the slowest transverse multiplier of the refined orbit")
bottom.set_xlabel("GD step k")
bottom.set_ylabel(r"$|\theta_{k+2}-\theta_k|_\infty$")
bottom.legend(loc="upper right", fontsize=8.5)
bottom.grid(True, which="major", alpha=0.3)

fig.tight_layout()
fig.savefig(OUT, dpi=130)
print(f"wrote {OUT}")
print(f"orbit sharpness: {orbit_sharpness}; 2/lr = {2 / lr}; slowest transverse multiplier {slowest}")
