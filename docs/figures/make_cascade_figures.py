"""Figures for docs/cascade.md: the logistic period-doubling cascade and the convergence of the Feigenbaum ratios.

Run from the repository root:

    PYTHONPATH=. python docs/figures/make_cascade_figures.py      # about 15-45 s

It writes, next to this script:

* ``cascade-logistic.png``: the orbit diagram of the logistic map with the
  12 flips located by ``follow_period_doubling`` (periods 1 .. 2048, 60
  digits) marked: the full cascade (left, drawn by
  :func:`dynsys_eos.plot.cascade_diagram`) and, on the right, the same
  diagram redrawn for the cascade's last flips (a second call of
  ``cascade_diagram`` on the cascade restricted to flips 5 .. 12, so that
  its grid covers only that window);
* ``cascade-delta-convergence.png``: log10 |delta_k - delta| against k for
  the ratios delta_k = (r_k - r_{k-1}) / (r_{k+1} - r_k) of a 17-flip cascade
  (period 65536), next to the error of the extrapolated estimate
  ``Cascade.delta`` computed from the first k + 1 flips and the error that
  estimate claims for itself; delta is the literature value.

Only the public API is used: ``follow_period_doubling``, ``analyze_flips``,
``cascade_diagram``.  matplotlib is needed (the ``plot`` extra); pyplot is
not used.
"""

import dataclasses
import math
import time
from pathlib import Path

import mpmath
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dynsys_eos.cascade import CascadeOptions, analyze_flips, follow_period_doubling
from dynsys_eos.continuation import ContinuationProblem
from dynsys_eos.models import build_model
from dynsys_eos.plot import cascade_diagram

HERE = Path(__file__).parent
DELTA = "4.669201609102990671853203820466"  # Feigenbaum's delta (literature)

problem = ContinuationProblem.from_guess(build_model("logistic"), 1, "r", ["0.6"], {"r": "2.8"})

# ---------------------------------------------------------------- the orbit diagram with the flips marked

t0 = time.perf_counter()
cascade = follow_period_doubling(problem, CascadeOptions(flips=12, dps=60))
print(f"12 flips in {time.perf_counter() - t0:.1f} s: {cascade.status}; delta = {cascade.delta.format()}, "
      f"accumulation = {cascade.accumulation.format()}")

figure = Figure(figsize=(14, 5.5), layout="constrained")
FigureCanvasAgg(figure)
left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
cascade_diagram(cascade, ax=left, samples=1400, transient=3000, shown=250)
left.set_title(f"Logistic map: 12 flips (periods 1 .. 2048) located at 60 digits; delta = {cascade.delta.format(10)}",
               fontsize=10)
# the last flips crowd against the accumulation point: redraw them on their own grid
tail = dataclasses.replace(cascade, flips=cascade.flips[4:])
cascade_diagram(tail, ax=right, samples=1400, transient=6000, shown=400)
right.set_title("the same, flips 5 .. 12 (periods 16 .. 2048) on their own grid", fontsize=10)
left.legend(loc="lower left", fontsize=8)
right.legend(loc="center left", fontsize=8)  # in the gap between the lower and upper bands
figure.savefig(HERE / "cascade-logistic.png", dpi=110)
print("wrote", HERE / "cascade-logistic.png")

# ---------------------------------------------------------------- geometric convergence of the ratios

t0 = time.perf_counter()
long = follow_period_doubling(problem, CascadeOptions(flips=17, dps=60))
print(f"17 flips in {time.perf_counter() - t0:.1f} s: {long.status}; delta = {long.delta.format()}")
with mpmath.workdps(100):
    delta = mpmath.mpf(DELTA)
    values = [f.value for f in long.flips]
    errors = [mpmath.mpf(10) ** (-f.digits) * max(1, abs(f.value)) for f in long.flips]
    ks, ratio_errors = [], []
    for k, ratio in enumerate(long.ratios, start=2):  # delta_k uses flips k-1, k, k+1
        ks.append(k)
        ratio_errors.append(float(mpmath.log10(abs(ratio.value - delta))))
    est_k, est_errors, est_claimed = [], [], []
    for n in range(5, len(values) + 1):  # the estimate from the first n flips: its last ratio is delta_{n-1}
        _, estimate, _ = analyze_flips(values[:n], errors[:n])
        est_k.append(n - 1)
        est_errors.append(float(mpmath.log10(abs(estimate.value - delta))))
        est_claimed.append(float(mpmath.log10(estimate.error)))
    for k, e in zip(ks, ratio_errors):
        print(f"  k = {k:2d}: log10|delta_k - delta| = {e:7.2f}")

figure = Figure(figsize=(8, 5.2), layout="constrained")
FigureCanvasAgg(figure)
axis = figure.add_subplot()
axis.plot(ks, ratio_errors, "o-", color="tab:blue", label=r"ratio $\delta_k = (r_k - r_{k-1})/(r_{k+1} - r_k)$")
axis.plot(est_k, est_errors, "s-", color="tab:red", label=r"extrapolated estimate (Cascade.delta from flips $1..k{+}1$)")
axis.plot(est_k, est_claimed, "s--", color="tab:red", alpha=0.45, markerfacecolor="none",
          label="its own error estimate (Estimate.error)")
slope = -math.log10(float(DELTA))
anchor_k, anchor = ks[-1], ratio_errors[-1]
axis.plot([ks[0], ks[-1]], [anchor + slope * (ks[0] - anchor_k), anchor], ":", color="0.4",
          label=r"slope $-\log_{10}\delta$ ($\times 1/\delta$ per level)")
axis.set_xlabel("k (flip index; period of the k-th flip = 2^(k-1))")
axis.set_ylabel(r"$\log_{10}$ |error| against the literature $\delta$")
axis.set_title("Logistic map, 17 flips: geometric convergence of the Feigenbaum ratios", fontsize=10)
axis.set_xticks(range(2, ks[-1] + 1))
axis.grid(alpha=0.3)
axis.legend(fontsize=8, loc="upper right")
figure.savefig(HERE / "cascade-delta-convergence.png", dpi=110)
print("wrote", HERE / "cascade-delta-convergence.png")
