"""Figures of docs/sweeps.md: the UV model's orbit diagram against lr with lr_c marked, and a basin map of the
minimalist model at lr = 0.2.

Run from the repository root (about 10-30 s on two cores)::

    PYTHONPATH=. python docs/figures/make_sweep_figures.py            # a local process pool
    PYTHONPATH=. python docs/figures/make_sweep_figures.py tcp://HOST:8786   # the same on a Dask cluster

It prints the numbers the figures show.
"""

import math
import os
import sys

import numpy as np

from dynsys_eos.models import build_model
from dynsys_eos.plot_sweep import basin_plot, orbit_diagram_plot
from dynsys_eos.sweep import SweepOptions, basin_map, orbit_diagram
from dynsys_eos.thresholds import critical_learning_rate

HERE = os.path.dirname(os.path.abspath(__file__))


def uv_orbit_diagram(scheduler):
    n, y, x_norm = 4, 2, 1
    m = build_model("uv", n=n, y=y)
    lr_c = math.sqrt(n) / (x_norm * abs(y))  # Kalra, He, Barkeshli
    threshold = critical_learning_rate(m, dps=20)  # 2 / sharpness of the flattest minimum, derived exactly
    print(f"UV model (n = {n}, |x| = {x_norm}, y = {y}): lr_c = sqrt(n)/(|x| |y|) = {lr_c}; "
          f"2/lambda_max at the flattest minimum = {threshold.expression} (exact, {threshold.digits} digits)")
    d = orbit_diagram(m, "lr", np.linspace(0.5, 2.1, 1601), options=SweepOptions(transient=3000, keep=200),
                      scheduler=scheduler)
    def output(states):  # the network's output f = v^T U x / sqrt(n), x = e_1
        return (states[..., :n] * states[..., n:]).sum(axis=-1) / math.sqrt(n)
    f = output(d.iterates)
    below = d.values < lr_c
    print(f"  {d.message}")
    clear = d.values <= 0.95 * lr_c
    print(f"  lr <= 0.95 lr_c: GD converges to f = y, max |f - y| over the kept iterates = "
          f"{np.nanmax(np.abs(f[clear] - y)):.1e} ({int(clear.sum())} values); within 5% below lr_c it still "
          f"oscillates after 3000 steps (multiplier near -1): max |f - y| = {np.nanmax(np.abs(f[below & ~clear] - y)):.1e}")
    first_two = d.values[(d.period == 2)].min()
    first_chaos = d.values[(d.period == 0) & ~d.diverged & (d.values > 1.1)].min()
    first_divergence = d.values[d.diverged].min()
    print(f"  first lr with period 2 detected: {first_two:.4f} (grid step {d.values[1] - d.values[0]:.4f}; below "
          f"lr_c it is that slow transient); first lr past 1.1 without a period <= 32: {first_chaos:.4f}; "
          f"first divergence at lr = {first_divergence:.4f}")
    print(f"  {d.provenance.evaluations:,} map evaluations in {d.provenance.seconds:.2f} s on {d.provenance.executor}")
    path = os.path.join(HERE, "sweep-uv-orbit-diagram.png")
    orbit_diagram_plot(d, marks={"lr_c = sqrt(n)/(|x||y|)": lr_c}, quantity=output,
                       quantity_label="network output f = v^T U x / sqrt(n)", path=path)
    print(f"  wrote {path}")


def minimalist_basin(scheduler):
    lr = 0.2
    m = build_model("minimalist", lr="0.2")
    b = basin_map(m, ("x", -3, 3, 500), ("y", -3, 3, 500), base=[1, 1, 1, 1], scheduler=scheduler)
    print(f"minimalist model 1/2 (1 - xyzw)^2, GD at lr = {lr}, starts (x, y, 1, 1):")
    print(f"  {b.message}")
    final = b.final[b.converged & ~b.diverged]
    x, y, z, w = final.T
    product = x * y * z * w
    minima = np.abs(product - 1) < 1e-6
    sharpness = (y * z * w) ** 2 + (x * z * w) ** 2 + (x * y * w) ** 2 + (x * y * z) ** 2
    print(f"  diverged: {b.diverged.mean():.1%} of the starts; converged to a minimum: {minima.sum()} "
          f"({minima.mean():.1%} of the converged); to the saddles xyzw = 0: {(np.abs(product) < 1e-6).sum()}")
    print(f"  sharpness at the minima reached: {sharpness[minima].min():.4f} .. {sharpness[minima].max():.4f} "
          f"(2/lr = {2 / lr}: every minimum reached is stable)")
    print(f"  {b.provenance.evaluations:,} map evaluations in {b.provenance.seconds:.2f} s on {b.provenance.executor}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 5.6), layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    basin_plot(b, ax=left)
    with np.errstate(all="ignore"):
        fx, fy, fz, fw = np.moveaxis(b.final, -1, 0)
        at_minimum = b.converged & (np.abs(fx * fy * fz * fw - 1) < 1e-6)
        grid_sharpness = np.where(at_minimum, (fy * fz * fw) ** 2 + (fx * fz * fw) ** 2 + (fx * fy * fw) ** 2
                                  + (fx * fy * fz) ** 2, np.nan)
    image = right.imshow(grid_sharpness, origin="lower", extent=(-3, 3, -3, 3), aspect="auto", cmap="viridis",
                         vmin=4, vmax=2 / lr, interpolation="nearest")
    figure.colorbar(image, ax=right, label=f"sharpness of the minimum reached (2/lr = {2 / lr:g})")
    right.set_xlabel("x")
    right.set_ylabel("y")
    right.set_title("Sharpness of the minimum reached (white: diverged, a saddle or no period)")
    path = os.path.join(HERE, "sweep-minimalist-basin.png")
    figure.savefig(path, dpi=110)
    print(f"  wrote {path}")


if __name__ == "__main__":  # the guard matters: pool workers re-import this file
    address = sys.argv[1] if len(sys.argv) > 1 else None
    uv_orbit_diagram(address)
    minimalist_basin(address)
