"""Where a sweep's chunks run: in this process, on a local process pool, or on a Dask cluster.

An executor is a small strategy registered by name in :data:`EXECUTORS`
(``auto``, ``serial``, ``threads``, ``process``, ``dask``); :func:`make_executor` turns what a
user gives (a name, an instance, a Dask scheduler address or client) into one.
The default, ``auto``, runs chunks in this process and moves the rest to a
local process pool only when they would take longer here than
:data:`POOL_BREAK_EVEN` seconds: starting a pool costs about a second, so
small sweeps would be slower on it.
Every executor runs the same picklable tasks through the same module-level
function and returns the results in task order, so the arrays a sweep
produces do not depend on where it ran.

A :class:`Progress` bar goes to stderr, one update per finished chunk, and
only when stderr is a terminal (or when asked).

Examples
--------
>>> sorted(EXECUTORS)
['auto', 'dask', 'process', 'serial', 'threads']
>>> make_executor("serial").run(abs, [-1, 2, -3])
[1, 2, 3]
>>> auto = make_executor()          # the default: these tasks take microseconds, so no pool is started
>>> auto.run(abs, [-1, 2, -3]), auto.describe()
([1, 2, 3], 'serial (auto: the work was below the 2 s at which a process pool pays off)')
>>> make_executor("gpu")
Traceback (most recent call last):
...
dynsys_eos.errors.ParameterError: unknown executor 'gpu'; valid: auto, serial, threads, process, dask
"""

import os
import sys
import time

from .errors import ParameterError

__all__ = ["Executor", "AutoExecutor", "SerialExecutor", "ThreadExecutor", "ProcessExecutor", "DaskExecutor",
           "EXECUTORS", "make_executor", "Progress", "DASK_CONNECT_TIMEOUT", "POOL_BREAK_EVEN", "pool_pays_off",
           "unguarded_script_call", "probe_dask_handshake"]

#: Seconds allowed to reach a Dask scheduler before giving up with a clear error.
DASK_CONNECT_TIMEOUT = 10.0

#: The default executor moves the remaining chunks to a process pool only when they are expected to take longer
#: than this many seconds in this process.  Measured on the 2-CPU development machine: starting a spawn pool of
#: 2 workers and running trivial tasks takes 0.27 s when the main script imports only numpy, 0.9-1.1 s when it
#: imports dynsys_eos.models (each worker imports the main script again, sympy included); so with w workers the
#: pool can win only past about that start-up times w/(w - 1): up to 2.2 s of work for 2 workers.  A sweep of
#: 1 s in one process (a 300 x 300 minimalist basin map, 1000 iterates) took 2.1-2.2 s on the pool.
POOL_BREAK_EVEN = 2.0


class Progress:
    """A one-line progress bar on stderr: ``label [#####.....] 12/40 chunks, 3.1 s, about 7 s left``.

    Parameters
    ----------
    total : int
        Number of steps (chunks).
    label : str
    enabled : bool or None
        None: on when stderr is a terminal.
    stream : file or None
        Where to write (default ``sys.stderr``).
    """

    def __init__(self, total, label="sweep", enabled=None, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.total, self.label, self.done = max(int(total), 0), label, 0
        self.start = time.perf_counter()
        self._last = 0.0

    def advance(self, steps=1):
        self.done += steps
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.done < self.total and now - self._last < 0.2:  # at most five redraws a second
            return
        self._last = now
        elapsed = now - self.start
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        left = elapsed * (self.total - self.done) / self.done if self.done else 0.0
        tail = f", about {left:.0f} s left" if self.done < self.total else ""
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} chunks, "
                          f"{elapsed:.1f} s{tail}")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


class Executor:
    """Interface: ``run(function, tasks, progress)`` returns ``[function(t) for t in tasks]`` in order."""

    name = "abstract"

    def run(self, function, tasks, progress=None):
        raise NotImplementedError

    def describe(self):
        return self.name


class SerialExecutor(Executor):
    """Every task in this process, one after the other."""

    name = "serial"

    def run(self, function, tasks, progress=None):
        results = []
        for task in tasks:
            results.append(function(task))
            if progress is not None:
                progress.advance()
        return results


class ProcessExecutor(Executor):
    """A local :class:`concurrent.futures.ProcessPoolExecutor` with ``workers`` processes.

    ``start_method`` is ``"spawn"`` by default: fresh interpreters are safe
    whatever threads the caller runs (a Dask client, a GUI), at the price of
    a fraction of a second of start-up; ``"fork"`` starts faster on Linux.
    Used as a context manager it keeps one pool for every sweep run inside
    the ``with`` block (the start-up is paid once)::

        with ProcessExecutor(workers=2) as pool:
            for lr in rates:
                basin_map(m, x, y, parameters={"lr": lr}, executor=pool)
    """

    name = "process"

    def __init__(self, workers=None, start_method="spawn"):
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ParameterError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers or os.cpu_count() or 1
        self.start_method = start_method
        self._pool = None

    def _new_pool(self, workers):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(self.start_method))

    def __enter__(self):
        if self._pool is None:
            where = unguarded_script_call() if self.start_method != "fork" else None
            if where:
                raise ParameterError(f"the pool is started at module level of the script ({where}): {_GUARD_HINT}")
            self._pool = self._new_pool(self.workers)
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        return False

    def run(self, function, tasks, progress=None):
        from concurrent.futures import as_completed

        tasks = list(tasks)
        if not tasks:
            return []
        if self._pool is None and self.start_method != "fork":
            where = unguarded_script_call()
            if where:
                raise ParameterError(f"the sweep is called at module level of the script ({where}): {_GUARD_HINT}")
        pool = self._pool or self._new_pool(min(self.workers, len(tasks)))
        results = [None] * len(tasks)
        try:
            futures = {pool.submit(function, task): i for i, task in enumerate(tasks)}
            try:
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    if progress is not None:
                        progress.advance()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        finally:
            if pool is not self._pool:
                pool.shutdown(wait=True, cancel_futures=True)
        return results

    def describe(self):
        return f"process pool ({self.workers} workers, {self.start_method})"


class ThreadExecutor(Executor):
    """A local thread pool: no start-up cost; numpy releases the GIL inside its loops, so threads share the work
    on large chunks (less well than processes when chunks are small)."""

    name = "threads"

    def __init__(self, workers=None):
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ParameterError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers or os.cpu_count() or 1

    def run(self, function, tasks, progress=None):
        from concurrent.futures import ThreadPoolExecutor

        results = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for result in pool.map(function, tasks):
                results.append(result)
                if progress is not None:
                    progress.advance()
        return results

    def describe(self):
        return f"thread pool ({self.workers} threads)"


def probe_dask_handshake(address, timeout):
    """Check that a ``tcp://HOST:PORT`` address answers like a Dask scheduler before a Client is made.

    A scheduler sends its handshake first, as soon as a connection opens: an
    8-byte frame length, then the frames.  Something else at the address (a
    dashboard, a web server, a proxy that accepts anything) sends nothing or
    a nonsense length, and ``distributed.Client`` then fails deep inside
    (a MemoryError reading a frame of exabytes, then a 20 s hang at exit).
    Other schemes (tls://, inproc://) are left to ``distributed``.
    """
    import socket
    import struct

    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme != "tcp":
        return
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    try:
        port = int(port.split("/")[0])
    except ValueError:
        raise ParameterError(f"scheduler address {address!r} has no port number (tcp://HOST:PORT)") from None
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(max(0.1, timeout - (time.perf_counter() - start)))
            head = b""
            while len(head) < 8:
                chunk = connection.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
    except socket.timeout:
        raise ParameterError(f"no Dask scheduler answered at {address!r} within {timeout:g} s (something accepts "
                             f"connections there but sends no Dask handshake: `dask scheduler` prints its address, "
                             f"port 8786 by default; 8787 is the dashboard)") from None
    except OSError as exc:
        raise ParameterError(f"cannot reach the Dask scheduler at {address!r} ({exc.strerror or exc})") from None
    length = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
    if not 0 < length < 2 ** 26:
        raise ParameterError(f"what answers at {address!r} is not a Dask scheduler (its first bytes are not a Dask "
                             f"handshake: {head!r})")


class DaskExecutor(Executor):
    """Tasks submitted to a Dask distributed scheduler.

    Parameters
    ----------
    scheduler : str or distributed.Client or cluster
        A scheduler address (``"tcp://10.0.0.5:8786"``), a connected
        ``distributed.Client`` (used as it is, not closed), or a cluster
        object with a ``scheduler_address`` (a ``LocalCluster``, say).
    timeout : float
        Seconds allowed to reach the scheduler.
    task_timeout : float or None
        Seconds allowed for all tasks to finish (None: no limit); past it
        the tasks are cancelled and TimeoutError is raised.

    The workers need dynsys_eos importable (the same version); nothing else
    is shipped to them but the generated float64 program of the map.
    """

    name = "dask"

    def __init__(self, scheduler, timeout=DASK_CONNECT_TIMEOUT, task_timeout=None):
        if isinstance(scheduler, str):
            address = scheduler.strip()
            if not address or any(c.isspace() for c in address) or (
                    "://" not in address and ":" not in address):
                raise ParameterError(f"scheduler address {scheduler!r} is not of the form tcp://HOST:PORT")
            scheduler = address
        elif not (hasattr(scheduler, "submit") or hasattr(scheduler, "scheduler_address")):
            raise ParameterError(f"scheduler must be an address 'tcp://HOST:PORT', a distributed.Client or a cluster, "
                                 f"got {type(scheduler).__name__}")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ParameterError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if task_timeout is not None and not (isinstance(task_timeout, (int, float)) and task_timeout > 0):
            raise ParameterError(f"task_timeout must be a positive number of seconds or None, got {task_timeout!r}")
        self.scheduler = scheduler
        self.timeout = float(timeout)
        self.task_timeout = task_timeout

    def _client(self):
        try:
            from distributed import Client
        except ImportError:
            raise ParameterError("Dask sweeps need dask.distributed: pip install 'dynsys_eos[dask]'") from None
        if hasattr(self.scheduler, "submit"):
            return self.scheduler, False
        target = self.scheduler if isinstance(self.scheduler, str) else self.scheduler.scheduler_address
        probe_dask_handshake(target, self.timeout)
        try:
            return Client(target, timeout=self.timeout, set_as_default=False), True
        except Exception as exc:  # noqa: BLE001 - whatever distributed raises, the user gets one line
            raise ParameterError(f"cannot reach the Dask scheduler at {target!r} within {self.timeout:g} s "
                                 f"({type(exc).__name__}: {exc})") from None

    def run(self, function, tasks, progress=None):
        tasks = list(tasks)
        if not tasks:
            return []
        from distributed import as_completed

        client, owned = self._client()
        try:
            futures = [client.submit(function, task, pure=False) for task in tasks]
            position = {future.key: i for i, future in enumerate(futures)}
            results = [None] * len(tasks)
            try:
                for future in as_completed(futures, loop=client.loop, timeout=self.task_timeout):
                    results[position[future.key]] = future.result()
                    if progress is not None:
                        progress.advance()
            except BaseException:
                client.cancel(futures)
                raise
            return results
        finally:
            if owned:
                client.close()

    def describe(self):
        where = self.scheduler if isinstance(self.scheduler, str) else getattr(
            self.scheduler, "scheduler_address", None) or getattr(getattr(self.scheduler, "scheduler", None),
                                                                  "address", "a client")
        return f"dask ({where})"


def unguarded_script_call():
    """The ``file:line`` of a script's module-level call that a spawned worker would run again, or None.

    A ``spawn`` pool starts each worker by importing the main script as
    ``__mp_main__``: a sweep called at the top of the script, not under
    ``if __name__ == "__main__":``, would run again in every worker (and
    fail there).  This finds the line of the script that led here and tells
    whether it is guarded; None when it is, or when there is no script
    (an interactive session, a notebook, ``python -c``) or it cannot tell.
    """
    import ast
    import inspect

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not path.endswith(".py"):
        return None
    frame, line = inspect.currentframe(), None
    while frame is not None:  # the outermost frame of the script's own module code
        if frame.f_globals is vars(main) and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            test = node.test if isinstance(node, ast.If) else None
            guarded = (isinstance(test, ast.Compare) and len(test.comparators) == 1
                       and {ast.unparse(test.left), ast.unparse(test.comparators[0])} in (
                           {"__name__", "'__main__'"}, {"__name__", '"__main__"'}))
            return None if guarded else f"{path}:{line}"
    return None


_GUARD_HINT = ('a process pool would run it again in every worker: put the sweep under `if __name__ == "__main__":` '
               '(or pass executor="serial")')


def pool_pays_off(elapsed, done, remaining, workers, break_even=POOL_BREAK_EVEN):
    """Whether ``remaining`` tasks should go to a process pool, after ``done`` took ``elapsed`` seconds here.

    The remaining work is estimated from the tasks done (chunks are of equal
    size); a pool is worth its start-up only with at least two workers, two
    tasks left and more than ``break_even`` seconds of work left.

    Examples
    --------
    >>> pool_pays_off(elapsed=0.5, done=1, remaining=10, workers=2)   # about 5 s left
    True
    >>> pool_pays_off(elapsed=0.05, done=1, remaining=10, workers=2)  # about 0.5 s left: stay here
    False
    >>> pool_pays_off(elapsed=5.0, done=1, remaining=10, workers=1)   # one worker is no faster than this process
    False
    """
    if workers < 2 or remaining < 2 or done < 1:
        return False
    return elapsed / done * remaining > break_even


class AutoExecutor(Executor):
    """The default: chunks run in this process until the rest is expected to take more than ``break_even``
    seconds here; then the rest goes to a local :class:`ProcessExecutor` (see :data:`POOL_BREAK_EVEN`).

    The decision is taken again after every chunk, from the time the chunks
    done so far took, so it follows the real cost of the map (a 1-D map is a
    hundred times cheaper per cell than a deep matrix factorization).  The
    results do not depend on it: every chunk runs the same function.

    Parameters
    ----------
    workers : int or None
        Processes of the pool if one is started (default: the CPU count).
        With one worker (or one CPU) everything runs in this process.
    break_even : float
        Seconds of remaining work above which the pool is started.
    """

    name = "auto"

    def __init__(self, workers=None, break_even=POOL_BREAK_EVEN):
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ParameterError(f"workers must be a positive integer, got {workers!r}")
        if not (isinstance(break_even, (int, float)) and break_even >= 0):
            raise ParameterError(f"break_even must be a non-negative number of seconds, got {break_even!r}")
        self.workers = workers or os.cpu_count() or 1
        self.break_even = float(break_even)
        self._what = None  # what the last run did, for describe()

    def run(self, function, tasks, progress=None):
        tasks = list(tasks)
        results = []
        start = time.perf_counter()
        unguarded = None  # where a script calls the sweep unguarded ("" once checked and safe)
        while len(results) < len(tasks):
            remaining = len(tasks) - len(results)
            wanted = pool_pays_off(time.perf_counter() - start, len(results), remaining, self.workers,
                                   self.break_even)
            if wanted and unguarded is None:
                unguarded = unguarded_script_call() or ""
            if wanted and unguarded == "":
                pool = ProcessExecutor(min(self.workers, remaining))
                results += pool.run(function, tasks[len(results):], progress)
                self._what = (f"{pool.describe()}; auto: {len(tasks) - remaining} of {len(tasks)} chunk(s) ran "
                              f"in this process first")
                return results
            results.append(function(tasks[len(results)]))
            if progress is not None:
                progress.advance()
        if unguarded:
            self._what = f"serial (auto: the sweep is called at module level of the script, {unguarded}; {_GUARD_HINT})"
        else:
            self._what = (f"serial (auto: the work was below the {self.break_even:g} s at which a process pool "
                          f"pays off)")
        return results

    def describe(self):
        return self._what or f"auto (this process, or a pool of {self.workers} past {self.break_even:g} s of work)"


EXECUTORS = {cls.name: cls for cls in (AutoExecutor, SerialExecutor, ThreadExecutor, ProcessExecutor, DaskExecutor)}


def make_executor(executor=None, scheduler=None, workers=None):
    """The executor a user asked for.

    Parameters
    ----------
    executor : str, Executor or None
        A name of :data:`EXECUTORS` or an instance; None means ``"auto"``
        (or ``"dask"`` when ``scheduler`` is given).
    scheduler : str, distributed.Client, cluster or None
        Given alone, it selects Dask: a user who outgrows one machine
        changes this one argument.
    workers : int or None
        Processes of the local pool, or threads (default: the CPU count).
    """
    if isinstance(executor, Executor):
        if scheduler is not None:
            raise ParameterError("give either an executor instance or a scheduler, not both")
        return executor
    if executor is None:
        executor = "dask" if scheduler is not None else "auto"
    if executor not in EXECUTORS:
        raise ParameterError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    if executor == "dask":
        if scheduler is None:
            raise ParameterError("the dask executor needs a scheduler (an address tcp://HOST:PORT or a Client)")
        return DaskExecutor(scheduler)
    if scheduler is not None:
        raise ParameterError(f"a scheduler was given but the executor is {executor!r}; use executor='dask' or omit it")
    if executor == "serial":
        return SerialExecutor()
    return EXECUTORS[executor](workers)
