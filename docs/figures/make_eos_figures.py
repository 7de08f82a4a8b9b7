"""Figures for docs/eos.md: an EoS trajectory of the minimalist model and the UV function-space phase portrait.

Run from the repository root:

    PYTHONPATH=. python docs/figures/make_eos_figures.py      # a few seconds

It writes, next to this script:

* ``eos-minimalist.png``: GD on 1/2 (1 - xyzw)^2 at lr = 0.1 from x = y, z = w
  with imbalance 1.2 times that of the EoS minimum (Zhu et al.): loss and
  sharpness against the step, the 2/lr line and the phases found by
  ``trajectory``;
* ``eos-uv-phase-portrait.png``: the UV model's closed map in (Delta f, lambda)
  at n = 4, |x| = 1, y = 2, lr = 1.1 > lr_c = 1, with an orbit of GD on (U, v)
  from the model's default state mapped to function space.

It prints the numbers the figures show.
"""

import math
from pathlib import Path

from dynsys_eos import uvspace
from dynsys_eos.eos import TrajectoryOptions, trajectory
from dynsys_eos.models import build_model
from dynsys_eos.plot_eos import phase_portrait, trajectory_plot

HERE = Path(__file__).parent

lr = 0.1
c = 1.2 * math.sqrt(lr ** -2 - 4)
x2 = (c + math.sqrt(c * c + 4 * 1.05**2)) / 2
start = [math.sqrt(x2)] * 2 + [1.05 / math.sqrt(x2)] * 2
t = trajectory(build_model("minimalist", lr="0.1"), start, TrajectoryOptions(steps=2500))
trajectory_plot(t, path=HERE / "eos-minimalist.png")
print(f"minimalist, lr = {lr}: phases {[(p.label, p.start, p.stop) for p in t.phases]}")
print(f"  final sharpness {float(t.sharpness[-1]):.10f} (error {float(t.sharpness_error[-1]):.1e}); "
      f"2/lr = {2 / lr}; Zhu et al.'s interval ({2 / lr - 20 * lr / 3:.4f}, {2 / lr})")

m = build_model("uv", lr="1.1")
traj = trajectory(m, m.model.default_state(), TrajectoryOptions(steps=60, sharpness="none"))
d, ntk = uvspace.coordinates(m, traj.states)
phase_portrait(4, 2, 1, "1.1", orbits=[(float(d[0]), float(ntk[0]))], path=HERE / "eos-uv-phase-portrait.png",
               steps=60)
print(f"uv, lr = 1.1: lr_c = {uvspace.critical_learning_rate(4, 2, 1)}; start (Delta f, lambda) = "
      f"({d[0]:.6f}, {ntk[0]:.6f}); after 60 steps ({d[-1]:.6f}, {ntk[-1]:.6f}), ({d[-2]:.6f}, {ntk[-2]:.6f})")
for p in uvspace.fixed_points("1.1", 2, 4, 1):
    print(f"  fixed point {p.kind}: Delta f = {p.df}, lambda = {p.lam}, multipliers {p.multipliers}")
