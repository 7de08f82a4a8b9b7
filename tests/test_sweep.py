"""Sweeps: orbit diagrams and basin maps against known answers, direct iteration, and across executors."""

import math
import time

import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dynsys_eos.errors import ParameterError
from dynsys_eos.executors import AutoExecutor, DaskExecutor, Progress, make_executor, pool_pays_off
from dynsys_eos.loss import Loss
from dynsys_eos.maps import make_map
from dynsys_eos.models import build_model
from dynsys_eos.sweep import (DIVERGED, OTHER, UNDETERMINED, Axis, SweepOptions, basin_map, check_memory,
                              detect_periods, orbit_diagram)

LOGISTIC = build_model("logistic")
R_FLIP_2 = 1 + math.sqrt(6)            # period 2 -> 4
R_FLIP_3 = 3.5440903595519228536       # period 4 -> 8 (published digits)


def _xy_loss_map(lr="0.2"):
    x, y = sympy.symbols("x y", real=True)
    return make_map(Loss((x * y - 1) ** 2 / 2, [x, y], name="xy"), "gd", lr=lr)


# -- orbit diagrams --------------------------------------------------------------------------------------

def test_logistic_periods_match_the_known_cascade():
    below_3 = np.linspace(2.6, 2.95, 8)
    period_2 = np.linspace(3.05, R_FLIP_2 - 0.02, 8)
    period_4 = np.linspace(R_FLIP_2 + 0.02, R_FLIP_3 - 0.01, 6)
    chaos = np.array([3.7, 3.9, 3.99])
    values = np.concatenate([below_3, period_2, period_4, chaos])
    d = orbit_diagram(LOGISTIC, "r", values, options=SweepOptions(transient=3000), executor="serial")
    assert d.success and d.status == "completed"
    expected = [1] * 8 + [2] * 8 + [4] * 6 + [0] * 3
    assert d.period.tolist() == expected
    assert not d.diverged.any()
    # the chaotic values really spread over an interval (no hidden period)
    for row in d.iterates[-3:]:
        assert np.ptp(row[:, 0]) > 0.3


def test_logistic_period_two_points_match_the_closed_form():
    r = np.array([3.1, 3.2, 3.3, 3.4])
    d = orbit_diagram(LOGISTIC, "r", r, options=SweepOptions(transient=4000), executor="serial")
    closed = np.sort(np.stack([((r + 1) - s * np.sqrt((r - 3) * (r + 1))) / (2 * r) for s in (1, -1)], axis=1), axis=1)
    seen = np.sort(d.iterates[:, -2:, 0], axis=1)
    assert np.max(np.abs(seen - closed)) < 1e-9
    below = orbit_diagram(LOGISTIC, "r", [2.5, 2.8], executor="serial")  # fixed point 1 - 1/r
    assert np.max(np.abs(below.iterates[:, -1, 0] - (1 - 1 / np.array([2.5, 2.8])))) < 1e-12


def test_orbit_diagram_agrees_with_a_plain_loop_and_marks_divergence():
    values = [3.2, 4.5]  # r = 4.5 sends x = 0.5 out of [0, 1] and off to -infinity
    d = orbit_diagram(LOGISTIC, "r", values, options=SweepOptions(transient=200, keep=64), executor="serial")
    x = 0.5
    trace = []
    for step in range(264):
        x = 3.2 * x * (1 - x)
        trace.append(x)
    assert np.array_equal(d.iterates[0, :, 0], trace[200:])
    assert d.escape_step.tolist()[0] == -1 and d.escape_step[1] > 0 and d.period[1] == 0
    assert np.all(np.isnan(d.iterates[1]))
    x, step = 0.5, 0
    while abs(x) <= 1e8:
        x, step = 4.5 * x * (1 - x), step + 1
    assert step <= d.escape_step[1] < step + 4  # seen at the first check (every 4 steps)
    assert d.summary()["periods"] == {"2": 1, "none": 0, "diverged": 1}


def test_henon_two_dimensional_orbit_diagram():
    henon = build_model("henon")
    d = orbit_diagram(henon, "a", [0.2, 0.9, 1.4], executor="serial")
    assert d.period.tolist() == [1, 2, 0]  # fixed point, period 2 after a = 0.3675, the chaotic attractor
    a, b = 0.2, 0.3
    fixed_x = (-(1 - b) + math.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a)
    assert abs(d.iterates[0, -1, 0] - fixed_x) < 1e-12 and abs(d.iterates[0, -1, 1] - b * fixed_x) < 1e-12


@given(chunk=st.integers(1, 12))
@example(chunk=1)
@example(chunk=5)
@settings(max_examples=8, deadline=None)
def test_results_do_not_depend_on_the_chunking(chunk):
    values = np.linspace(2.9, 4.0, 11)
    options = SweepOptions(transient=100, keep=32, max_period=8)
    whole = orbit_diagram(LOGISTIC, "r", values, options=options, executor="serial")
    parts = orbit_diagram(LOGISTIC, "r", values, options=SweepOptions(transient=100, keep=32, max_period=8,
                                                                      chunk=chunk), executor="serial")
    assert np.array_equal(whole.iterates, parts.iterates, equal_nan=True)
    assert np.array_equal(whole.period, parts.period)


@given(period=st.integers(1, 9), seed=st.integers(0, 2**16))
@example(period=1, seed=0)
@example(period=7, seed=3)
@settings(max_examples=30, deadline=None)
def test_detect_periods_finds_the_minimal_period(period, seed):
    rng = np.random.default_rng(seed)
    block = rng.permutation(period) + rng.uniform(0, 0.5, period)  # distinct values: minimal period = period
    sequence = np.tile(block, 64 // period + 2)[:64]
    window = np.stack([sequence, sequence + 1e-12 * rng.standard_normal(64)], axis=1)[:, None, :]
    assert detect_periods(window, 16, 1e-9).tolist() == [period, period]


# -- basin maps ------------------------------------------------------------------------------------------

def _gd_xy(x, y, lr, steps):
    for _ in range(steps):
        residual = x * y - 1
        x, y = x - lr * residual * y, y - lr * residual * x
        if not (abs(x) <= 1e8 and abs(y) <= 1e8):
            return None
    return x, y


def test_basin_map_of_a_two_variable_loss_at_lr_0_2():
    lr = 0.2
    b = basin_map(_xy_loss_map("0.2"), ("x", -4, 4, 41), ("y", -4, 4, 41), base=[0, 0], executor="serial")
    assert b.diverged.any() and b.converged.any()  # both regions are there
    final = b.final[b.converged & ~b.diverged]
    # the end states: the line x = -y is invariant (it holds the saddle at the origin and a period-2 orbit),
    # every other converged start ends on the manifold of minima xy = 1 at sharpness x^2 + y^2 below 2/lr
    on_line = np.abs(final[:, 0] + final[:, 1]) < 1e-9
    minima = final[~on_line]
    assert on_line.any() and len(minima) > 100
    assert np.max(np.abs(minima[:, 0] * minima[:, 1] - 1)) < 1e-6
    assert np.max(minima[:, 0] ** 2 + minima[:, 1] ** 2) <= 2 / lr + 1e-9
    # a few cells against direct iteration (independent code)
    for i, j in [(20, 20), (22, 24), (30, 30), (0, 0), (40, 5), (25, 18), (10, 35), (35, 35)]:
        end = _gd_xy(float(b.x.values()[j]), float(b.y.values()[i]), lr, 1000 + 128)
        if end is None:
            assert b.label[i, j] == DIVERGED and b.escape_step[i, j] > 0
        else:
            assert b.label[i, j] >= 0 or b.label[i, j] == OTHER
            assert np.allclose(b.final[i, j], end, atol=1e-9)
    # the origin is a saddle: starts on the line x = -y fall into it or escape; near (1, 1) they converge
    assert b.label[25, 25] != DIVERGED


def test_basin_map_of_the_minimalist_model_at_lr_0_2():
    m = build_model("minimalist", lr="0.2")
    b = basin_map(m, ("x", -3, 3, 25), ("y", -3, 3, 25), base=[1, 1, 1, 1], executor="serial")
    assert 0.1 < b.diverged.mean() < 0.5 and b.converged.any()  # the corners (large |xy|) diverge
    assert b.diverged[[0, 0, -1, -1], [0, -1, 0, -1]].all() and not b.diverged[12].any()  # corners vs y = 0
    assert b.converged[16, 16] and np.allclose(b.final[16, 16], 1)  # the start (1, 1, 1, 1) is a minimum
    minima = 0
    for final in b.final[b.converged & ~b.diverged]:
        x, y, z, w = final
        if abs(x * y * z * w) < 1e-6:  # towards a saddle: the gradient vanishes where two coordinates do
            assert np.sort(np.abs(final))[1] < 1e-3
            continue
        minima += 1
        assert abs(x * y * z * w - 1) < 1e-6
        sharpness = (y * z * w) ** 2 + (x * z * w) ** 2 + (x * y * w) ** 2 + (x * y * z) ** 2
        assert sharpness <= 2 / 0.2 + 1e-9  # the minimum GD reaches is stable at this lr
    assert minima > 200


def test_basin_labels_by_given_attractors():
    logistic_like = build_model("henon", a="0.2")
    fixed_x = (-0.7 + math.sqrt(0.49 + 0.8)) / 0.4
    b = basin_map(logistic_like, ("x", -1, 1, 9), ("y", -0.5, 0.5, 9), attractors=[[fixed_x, 0.3 * fixed_x]],
                  executor="serial")
    assert (b.label[~b.diverged] == 0).all() and b.attractors[0].cells == int((~b.diverged).sum()) > 0
    found = basin_map(logistic_like, ("x", -1, 1, 9), ("y", -0.5, 0.5, 9), executor="serial")
    assert len(found.attractors) == 1 and found.attractors[0].period == 1
    assert np.allclose(found.attractors[0].points[0], [fixed_x, 0.3 * fixed_x], atol=1e-9)
    # the result keeps its map: the attractor refines to high precision, and its digits match the closed form
    from dynsys_eos.orbits import OrbitOptions, find_orbit

    orbit = find_orbit(found.provenance.map, 1, [float(v) for v in found.attractors[0].points[0]],
                       found.provenance.parameters, OrbitOptions(dps=30))
    assert orbit.digits >= 30 and abs(float(orbit.points[0][0]) - fixed_x) < 1e-15
    assert np.array_equal(found.label, b.label)


def test_basin_clusters_a_period_two_orbit():
    henon = build_model("henon", a="0.9")
    b = basin_map(henon, ("x", -0.5, 0.5, 11), ("y", -0.2, 0.2, 11), executor="serial")
    periodic = b.label >= 0
    assert periodic.any() and len(b.attractors) == 1 and b.attractors[0].period == 2
    p, q = b.attractors[0].points
    assert abs(1 - 0.9 * p[0] ** 2 + p[1] - q[0]) < 1e-9 and abs(0.3 * p[0] - q[1]) < 1e-9
    assert UNDETERMINED not in set(b.label[~b.diverged].tolist())


# -- executors ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close(timeout=10)
        cluster.close(timeout=10)


def test_dask_and_local_sweeps_give_identical_arrays(dask_client):
    options = SweepOptions(transient=300, keep=64, chunk=700)
    values = np.linspace(2.5, 4.0, 3000)
    local = orbit_diagram(LOGISTIC, "r", values, options=options, executor="serial")
    dask = orbit_diagram(LOGISTIC, "r", values, options=options, executor=DaskExecutor(dask_client, task_timeout=60))
    assert dask.provenance.executor.startswith("dask") and dask.provenance.chunks == 5
    assert np.array_equal(local.iterates, dask.iterates, equal_nan=True)
    assert np.array_equal(local.period, dask.period) and np.array_equal(local.escape_step, dask.escape_step)
    m = _xy_loss_map("0.2")
    grid = (("x", -3, 3, 30), ("y", -3, 3, 30))
    options = SweepOptions(transient=300, keep=64, chunk=250)
    local = basin_map(m, *grid, base=[0, 0], options=options, executor="serial")
    dask = basin_map(m, *grid, base=[0, 0], options=options, scheduler=dask_client)
    for name in ("label", "period", "escape_step", "final"):
        assert np.array_equal(getattr(local, name), getattr(dask, name), equal_nan=True), name


def test_process_pool_gives_identical_arrays():
    options = SweepOptions(transient=200, keep=64, chunk=400)
    values = np.linspace(2.5, 4.0, 1200)
    local = orbit_diagram(LOGISTIC, "r", values, options=options, executor="serial")
    # the default executor, told that any work pays for a pool: one chunk here, the other two on the pool
    pooled = orbit_diagram(LOGISTIC, "r", values, options=options, executor=AutoExecutor(workers=2, break_even=0))
    assert pooled.provenance.executor == ("process pool (2 workers, spawn); auto: 1 of 3 chunk(s) ran in this "
                                          "process first")
    assert np.array_equal(local.iterates, pooled.iterates, equal_nan=True)
    assert np.array_equal(local.period, pooled.period) and np.array_equal(local.escape_step, pooled.escape_step)
    from dynsys_eos.executors import ProcessExecutor

    with ProcessExecutor(workers=2) as pool:  # one pool for several sweeps
        again = [orbit_diagram(LOGISTIC, "r", values, options=options, executor=pool) for _ in range(2)]
    assert all(np.array_equal(local.iterates, a.iterates, equal_nan=True) for a in again)
    threaded = orbit_diagram(LOGISTIC, "r", values, options=options, executor="threads", workers=2)
    assert threaded.provenance.executor == "thread pool (2 threads)"
    assert np.array_equal(local.iterates, threaded.iterates, equal_nan=True)


def test_bad_scheduler_addresses_give_clear_errors_quickly():
    with pytest.raises(ParameterError, match="not of the form"):
        orbit_diagram(LOGISTIC, "r", [3.2], scheduler="no address")
    pytest.importorskip("distributed")
    start = time.perf_counter()
    with pytest.raises(ParameterError, match="cannot reach the Dask scheduler"):
        orbit_diagram(LOGISTIC, "r", [3.2], executor=DaskExecutor("tcp://127.0.0.1:9", timeout=1))
    assert time.perf_counter() - start < 20
    with pytest.raises(ParameterError, match="must be an address"):
        make_executor(scheduler=42)


def test_a_scheduler_address_over_tcp_is_probed_and_used():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        values = np.linspace(2.8, 3.9, 50)
        options = SweepOptions(transient=100, keep=64, chunk=20)
        by_address = orbit_diagram(LOGISTIC, "r", values, options=options, scheduler=address)  # the handshake passes
        local = orbit_diagram(LOGISTIC, "r", values, options=options, executor="serial")
    assert by_address.provenance.executor == f"dask ({address})" and by_address.provenance.chunks == 3
    assert np.array_equal(by_address.iterates, local.iterates, equal_nan=True)


@pytest.mark.parametrize("greeting, match", [(None, "no Dask scheduler answered .* within 0.5 s"),
                                             (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not a Dask scheduler")])
def test_something_else_at_the_scheduler_address_is_a_clear_error(greeting, match):
    import socket
    import threading

    from dynsys_eos.executors import probe_dask_handshake

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    done = threading.Event()

    def answer():
        connection, _ = server.accept()
        if greeting:
            connection.sendall(greeting)
        done.wait(5)  # hold the connection open until the probe has decided
        connection.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        with pytest.raises(ParameterError, match=match):
            probe_dask_handshake(f"tcp://127.0.0.1:{port}", 0.5)
    finally:
        done.set()
        thread.join(5)
        server.close()


def test_executor_choice():
    assert make_executor().name == "auto" and make_executor(scheduler="tcp://h:1").name == "dask"
    assert make_executor("process", workers=3).workers == 3 and make_executor(workers=3).workers == 3
    with pytest.raises(ParameterError, match="valid: auto, serial, threads, process, dask"):
        make_executor("gpu")
    with pytest.raises(ParameterError, match="needs a scheduler"):
        make_executor("dask")
    with pytest.raises(ParameterError, match="executor is 'serial'"):
        make_executor("serial", scheduler="tcp://h:1")
    with pytest.raises(ParameterError, match="break_even must be"):
        AutoExecutor(break_even=-1)


def test_the_default_runs_short_sweeps_without_a_pool():
    # 12 chunks of a few milliseconds each: far below the break-even, so no pool is started
    options = SweepOptions(transient=200, keep=64, chunk=100)
    d = orbit_diagram(LOGISTIC, "r", np.linspace(2.5, 4.0, 1200), options=options, workers=2)
    assert d.provenance.chunks == 12
    assert d.provenance.executor == "serial (auto: the work was below the 2 s at which a process pool pays off)"
    b = basin_map(_xy_loss_map(), ("x", -3, 3, 20), ("y", -3, 3, 20), base=[0, 0], options=options, workers=2)
    assert b.provenance.executor.startswith("serial (auto")


@given(elapsed=st.floats(0, 100), done=st.integers(0, 50), remaining=st.integers(0, 50), workers=st.integers(1, 16),
       break_even=st.floats(0, 10))
@example(elapsed=0.5, done=1, remaining=10, workers=2, break_even=2.0)   # 5 s left: the pool
@example(elapsed=0.1, done=1, remaining=10, workers=2, break_even=2.0)   # 1 s left: stay
@example(elapsed=9.0, done=1, remaining=1, workers=8, break_even=2.0)    # one chunk left: nothing to share
@example(elapsed=9.0, done=1, remaining=9, workers=1, break_even=2.0)    # one worker: no faster than here
def test_pool_pays_off_only_for_enough_work_to_share(elapsed, done, remaining, workers, break_even):
    decision = pool_pays_off(elapsed, done, remaining, workers, break_even)
    if workers < 2 or remaining < 2 or done == 0:
        assert not decision
    else:
        assert decision == (elapsed / done * remaining > break_even)
        # more time per chunk never turns a pool down
        assert pool_pays_off(2 * elapsed + 1, done, remaining, workers, break_even) or not decision


@given(st.lists(st.integers(-1000, 1000), max_size=30))
@example([])
@example([-5])
def test_the_default_executor_returns_every_result_in_order(tasks):
    import io

    stream = io.StringIO()
    auto = AutoExecutor(workers=2)  # these tasks take microseconds: all in this process
    assert auto.run(abs, tasks, Progress(len(tasks), enabled=True, stream=stream)) == [abs(t) for t in tasks]
    assert auto.describe().startswith("serial (auto")
    assert (f"{len(tasks)}/{len(tasks)} chunks" in stream.getvalue()) == bool(tasks)


def test_a_script_that_calls_a_sweep_unguarded_gets_no_pool(tmp_path):
    import os
    import subprocess
    import sys

    script = tmp_path / "sweep_script.py"
    script.write_text(
        "from dynsys_eos.errors import ParameterError\n"
        "from dynsys_eos.executors import AutoExecutor, ProcessExecutor, unguarded_script_call\n"
        "print('top', unguarded_script_call())\n"
        "auto = AutoExecutor(workers=2, break_even=0)\n"
        "print('auto', auto.run(abs, [-1, -2, -3]), auto.describe())\n"
        "try:\n"
        "    ProcessExecutor(workers=2).run(abs, [-1])\n"
        "except ParameterError as exc:\n"
        "    print('process', exc)\n"
        "def main():\n"
        "    print('guarded', unguarded_script_call())\n"
        "if __name__ == '__main__':\n"
        "    main()\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=root))
    assert run.returncode == 0, run.stderr
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert lines["top"] == f"{script}:3" and lines["guarded"] == "None"
    assert lines["auto"].startswith("[1, 2, 3] serial (auto: the sweep is called at module level of the script, "
                                    f"{script}:5; a process pool would run it again in every worker")
    assert lines["process"].startswith(f"the sweep is called at module level of the script ({script}:7)")


def test_check_memory_refuses_sweeps_that_cannot_fit():
    check_memory(10**6, 100, "a sweep", memory=2**34)  # 0.8 GB of 17 GB: fine
    with pytest.raises(ParameterError, match="a sweep of 100,000,000 cells needs about 80 GB .* 17.2 GB"):
        check_memory(10**8, 100, "a sweep", memory=2**34)
    with pytest.raises(ParameterError, match="needs about .* GB of memory"):  # checked before any allocation
        basin_map(_xy_loss_map(), ("x", -3, 3, 10**6), ("y", -3, 3, 10**6), base=[0, 0])


def test_progress_bar_writes_only_when_enabled():
    import io

    stream = io.StringIO()
    bar = Progress(3, "demo", enabled=True, stream=stream)
    for _ in range(3):
        bar.advance()
    assert "3/3 chunks" in stream.getvalue() and stream.getvalue().endswith("\n")
    quiet = io.StringIO()
    Progress(3, enabled=None, stream=quiet).advance()  # not a terminal: off
    assert quiet.getvalue() == ""


# -- bad input -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: orbit_diagram(LOGISTIC, "lr", [3.0]), "cannot vary 'lr'.*parameters r"),
    (lambda: orbit_diagram(LOGISTIC, "r", []), "non-empty"),
    (lambda: orbit_diagram(LOGISTIC, "r", [3.0, float("nan")]), "not finite"),
    (lambda: orbit_diagram(LOGISTIC, "r", "3.2"), "string"),
    (lambda: orbit_diagram(LOGISTIC, "r", [3.0], initial=[0.1, 0.2]), "2 value.*1 state"),
    (lambda: orbit_diagram(LOGISTIC, "r", [3.0], parameters={"r": 2}), "do not also fix it"),
    (lambda: orbit_diagram(build_model("henon"), "a", [1.0], parameters={"c": 1}), "no parameter.*c"),
    (lambda: SweepOptions(keep=10, max_period=8), "keep >= 2 \\* max_period"),
    (lambda: SweepOptions(transient=-1), "transient must be an integer >= 0"),
    (lambda: SweepOptions(bound=float("inf")), "bound must be a positive finite"),
    (lambda: Axis("x", 1, 1, 5), "empty range"),
    (lambda: Axis("x", 0, 1, 0), "points must be a positive integer"),
    (lambda: basin_map(LOGISTIC, ("x", 0, 1, 3), ("y", 0, 1, 3)), "'y' is not a state variable"),
    (lambda: basin_map(build_model("henon"), ("x", 0, 1, 3), ("x", 0, 1, 3)), "two different"),
    (lambda: basin_map(build_model("henon"), ("x", 0, 1, 3), ("y", 0, 1, 3), attractors=[[1, 2, 3]]),
     "expected points of 2"),
])
def test_bad_input_is_a_clear_error(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


# -- command line ------------------------------------------------------------------------------------------

def _cli(capsys, *argv):
    from dynsys_eos.cli import main

    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_diagram_json_and_figure(capsys, tmp_path):
    import json

    pytest.importorskip("matplotlib")
    out_file = tmp_path / "diagram.png"
    status, out, err = _cli(capsys, "diagram", "logistic", "--vary", "r", "--from", "2.8", "--to", "3.2", "--points",
                            "5", "--transient", "3000", "--keep", "64", "--executor", "serial", "--mark", "r1=3",
                            "--out", str(out_file), "--json")
    assert status == 0, err
    summary = json.loads(out)
    assert summary["parameter"] == "r" and summary["points"] == 5 and summary["figure"] == str(out_file)
    assert summary["periods"] == {"1": 2, "2": 2, "none": 1, "diverged": 0}  # r = 3 itself converges too slowly
    assert out_file.stat().st_size > 1000


def test_cli_basin_text(capsys):
    status, out, err = _cli(capsys, "basin", "henon", "--param", "a=0.9", "--x", "x=-0.5:0.5", "--y", "y=-0.2:0.2",
                            "--points", "11,9", "--executor", "serial")
    assert status == 0, err
    assert "11 x 9 starts" in out and "attractor 0: period 2" in out


@pytest.mark.parametrize("argv, culprit", [
    (["diagram", "logistic", "--vary", "lr", "--from", "1", "--to", "2"], "cannot vary 'lr'"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "3"], "--from (3) must be below --to (3)"),
    (["diagram", "logistic", "--vary", "r", "--from", "4", "--to", "2.5"], "must be below --to (2.5): swap them"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--param", "r=3"], "--param r=... fixes"),
    (["diagram", "nosuch", "--vary", "r", "--from", "3", "--to", "4"], "unknown model 'nosuch'"),
    (["diagram", "logistic", "--vary", "r", "--from", "x", "--to", "4"], "--from"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--coordinate", "q"], "--coordinate 'q'"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--keep", "10"],
     "keep >= 2 * max_period to detect periods up to max_period (--keep 10, --max-period 32)"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--keep", "0"], "--keep must be an integer"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--chunk", "-1"], "--chunk must be"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--points", "0"], "--points must be at least"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--workers", "0"], "--workers must be"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--points", str(10**11)], "GB of memory"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--out", "/no/such/folder/d.png"], "--out"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--executor", "process", "--scheduler",
      "tcp://h:1"], "--executor process asks for a local run"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--connect-timeout", "0", "--scheduler",
      "tcp://127.0.0.1:9"], "timeout must be a positive number"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--executor", "dask"], "needs --scheduler"),
    (["diagram", "logistic", "--vary", "r", "--from", "3", "--to", "4", "--scheduler", "nowhere"], "not of the form"),
    (["basin", "henon", "--x", "x=0:1", "--y", "q=0:1", "--points", "3"], "'q' is not a state variable"),
    (["basin", "henon", "--x", "x=0..1", "--y", "y=0:1"], "NAME=A:B"),
    (["basin", "henon", "--x", "x=0:1", "--y", "y=0:1", "--points", "1"], "--points"),
    (["basin", "henon", "--x", "x=1:0", "--y", "y=0:1"], "--x start A (1) must be below its end B (0)"),
    (["basin", "henon", "--x", "x=0:1", "--y", "y=0:1", "--points", "100000"], "GB of memory"),
    (["basin", "henon", "--x", "x=0:1", "--y", "y=0:1", "--guess", "1"], "1 value(s) but 'henon' has 2"),
])
def test_cli_sweep_errors_are_one_line(capsys, argv, culprit):
    status, out, err = _cli(capsys, *argv)
    assert status == 2 and culprit in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_a_figure_that_cannot_be_written_names_out(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / ("d" * 300 + ".png")  # the folder is writable, the name is too long for the file system
    status, out, err = _cli(capsys, "diagram", "logistic", "--vary", "r", "--from", "2.8", "--to", "3.2", "--points",
                            "5", "--out", str(path))
    assert status == 2 and err.startswith("dynsys-eos: error: --out: cannot write") and len(err.splitlines()) == 1


def test_the_workers_namespace_is_the_float64_context_s():
    from dynsys_eos.arith import Float64
    from dynsys_eos.sweep import float64_namespace

    ours, theirs = float64_namespace(), Float64().namespace()
    assert set(ours) == set(theirs)
    for name in ours:
        if name.startswith("_"):
            args = (1, 3) if name == "_q" else ()
            assert ours[name](*args) == theirs[name](*args)
        else:
            assert ours[name] is theirs[name], name


@pytest.mark.parametrize("name, rule", [("scalar-net", "gd"), ("minimalist", "gd"), ("minimalist2", "ngd"),
                                        ("uv", "gd"), ("uv", "hb"), ("dmf", "gd"), ("dmf", "sqrt"),
                                        ("logistic", None), ("henon", None)])
def test_every_model_sweeps_with_the_map_s_own_float64_values(name, rule):
    from dynsys_eos.arith import Float64
    from dynsys_eos.sweep import ChunkTask, Kernel, run_chunk

    m = build_model(name, rule=rule) if rule else build_model(name)
    vary = {"logistic": "r", "henon": "a"}.get(name, "lr")
    value = float(m.parameter_values()[vary])
    d = orbit_diagram(m, vary, [0.9 * value, value], options=SweepOptions(transient=0, keep=2, max_period=1),
                      executor="serial")
    assert d.iterates.shape == (2, 2, m.dimension)
    start = np.array([float(v) for v in m.model.default_state()])
    expected = m.bind(Float64()).value(start)  # the map's own float64 evaluation, one step
    assert np.array_equal(d.iterates[1, 0], expected)
    # a chunk task by hand gives the same step
    kernel = Kernel.from_map(m)
    params = tuple(float(m.parameter_values()[p]) for p in kernel.parameters)
    task = ChunkTask(kernel, start[:, None], params, SweepOptions(transient=0, keep=2, max_period=1), True)
    assert np.array_equal(run_chunk(task)["window"][0, :, 0], expected)
