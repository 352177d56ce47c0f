"""Exploration on a Dask distributed cluster: ``simwire explore --cluster ADDRESS|local``.

Why Dask distributed and not Ray (measured on this project's 2-core machine, Python 3.11,
figures in docs/exploration.md): it installs in 44 MB against Ray's 259 MB, a local cluster
of two worker processes is up in 1.6 s against 6.6 s, it is pure Python (no platform wheel
to wait for on a new CPython), and a team that already runs Dask for data work points
``--cluster`` at the scheduler it has.

The engine schedules the seeds; each worker runs the same :func:`sim.harness.explore.run_one` as a
local worker, so outcomes, failures and repro lines are identical.  A worker that dies
mid-run has its runs rescheduled on the others by the Dask scheduler (up to
``distributed.scheduler.allowed-failures`` times, 3 by default): a lost worker costs its seeds
a retry, not the exploration.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sim.harness.explore import POLL_SECONDS, Job, Runner, SeedOutcome, ignore_sigint, run_one

log = logging.getLogger(__name__)

LOCAL = "local"
INSTALL_HINT = "pip install 'simwire[cluster]'"
MAX_CHUNK = 4
CHUNKS_PER_THREAD = 4


WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.worker.daemon": False,  # a worker starts its simulation process (see run_in_simulator)
}
"""Dask settings for the workers of ``--cluster local``; on a cluster of your own, set them in
its configuration (they cost a run 10-30 % of its speed otherwise, docs/exploration.md)."""


class ClusterError(Exception):
    """The cluster cannot be used (engine not installed, scheduler unreachable)."""


def available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def cluster_runner(address: str, *, workers: int) -> Runner:
    """A runner on the Dask scheduler at ``address``, or on a fresh local cluster of
    ``workers`` worker processes when ``address`` is ``local``."""
    if not available():
        raise ClusterError(f"--cluster needs Dask distributed, which is not installed: {INSTALL_HINT}")

    def run(todo: list[Job], stopping: Callable[[], bool]) -> Iterator[SeedOutcome]:
        with _client(address, workers) as client:
            try:
                yield from _outcomes(client, todo, stopping)
            finally:
                _release_simulators(client)

    return run


@contextlib.contextmanager
def _client(address: str, workers: int) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    if address == LOCAL:
        import dask.config

        # one thread per worker process: a run holds the GIL for its whole length; and no
        # statistical profiler sampling the run's stack every 10 ms (docs/exploration.md)
        # held for the cluster's life: a worker the nanny restarts later gets the same settings
        with dask.config.set(WORKER_CONFIG):
            with _children_ignore_sigint():
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
            try:
                with Client(cluster) as client:
                    client.wait_for_workers(workers)
                    _announce(f"Dask local cluster: {workers} worker process(es) up in "
                              f"{time.perf_counter() - started:.1f} s")
                    yield client
            finally:
                cluster.close()
        return
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"--cluster {address}: cannot reach a Dask scheduler there ({error})") from None
    with client:
        count = len(client.scheduler_info().get("workers", {}))
        _announce(f"Dask scheduler {address}: {count} worker(s), connected in {time.perf_counter() - started:.1f} s")
        yield client


@contextlib.contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Processes started inside keep SIGINT ignored (an ignored signal survives exec, and
    Python then installs no KeyboardInterrupt handler): Ctrl-C reaches the whole process group,
    and only the client should act on it, stopping the cluster itself, with no worker
    tracebacks on the terminal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def chunk_size(runs: int, threads: int) -> int:
    """Runs per cluster task: enough to amortize a task's round trips (up to ``MAX_CHUNK``), few
    enough that every worker thread gets ``CHUNKS_PER_THREAD`` tasks, so the load still
    balances and a lost worker costs a retry of a few seeds only."""
    return max(1, min(MAX_CHUNK, runs // (threads * CHUNKS_PER_THREAD)))


def chunked(todo: list[Job], threads: int) -> list[list[Job]]:
    """The tasks of a plan, in its order, each sized by :func:`chunk_size` on the runs still
    left from it (guided scheduling): big while much is left, single runs at the end, so no
    worker idles while another finishes a big last task."""
    chunks: list[list[Job]] = []
    start = 0
    while start < len(todo):
        size = chunk_size(len(todo) - start, threads)
        chunks.append(todo[start:start + size])
        start += size
    return chunks


def _result(future: Any) -> list[SeedOutcome]:
    """A run never raises for a failure of the system (that is a violation); an exception here
    is the cluster's (a worker that keeps dying, a worker that cannot run simulations)."""
    try:
        return future.result()
    except Exception as error:
        raise ClusterError(f"a run failed on the cluster ({future.key}): {type(error).__name__}: {error}") from None


_simulator: Any = None
"""On a Dask worker: the process its runs execute in (created by the first run)."""
_simulator_lock = threading.Lock()


def run_in_simulator(jobs: list[Job]) -> list[SeedOutcome]:
    """Runs on a Dask worker, in a process of its own beside the worker: the ``jobs`` of one
    task (a few seeds: one round trip to the scheduler and one to the simulation process for
    all of them, which is most of what a task costs the cluster beyond the runs themselves).

    A simulated run virtualizes process-wide state while it runs (clocks, randomness, the
    sandbox's refusals), and a Dask worker is a process whose event loop keeps talking to the
    scheduler from another thread meanwhile: in one process, the run would stop the worker's
    heartbeats (or read its clock) and the worker would perturb the run.  So each worker keeps
    one simulation process (spawned, ignoring Ctrl-C like local workers) and waits for it;
    waiting releases the GIL, so the worker stays responsive.  A simulation process that dies
    is replaced, and the task raises, which Dask retries.
    """
    global _simulator
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if multiprocessing.current_process().daemon:
        raise RuntimeError("this Dask worker is a daemonic process, which cannot start its simulation process: "
                           "start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False (docs/exploration.md)")
    with _simulator_lock:
        if _simulator is None:
            _simulator = ProcessPoolExecutor(_worker_threads(), mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_simulation_process, initargs=(os.getpid(),))
        simulator = _simulator
    try:
        return simulator.submit(run_jobs, jobs).result()
    except BrokenProcessPool:
        with _simulator_lock:
            if _simulator is simulator:
                _simulator = None
        raise


def stop_simulation_process() -> None:
    """On a Dask worker: shut its simulation process down (its next run starts another)."""
    global _simulator
    with _simulator_lock:
        simulator, _simulator = _simulator, None
    if simulator is not None:
        simulator.shutdown(wait=True, cancel_futures=True)


def _release_simulators(client: Any) -> None:
    """Stop every worker's simulation process before the client leaves.  A Dask worker that
    closes with one alive waits for it: 4 of the 4.2 s a local cluster of two took to close
    (0.2 s once they were stopped), a tenth of a short exploration; and on a cluster of your own
    each worker would keep an idle process of the size of a run until it stops."""
    try:
        client.run(stop_simulation_process)
    except Exception as error:  # a worker lost or the scheduler gone: the close then takes longer
        log.debug("cluster: could not stop the simulation processes: %s", error)


def run_jobs(jobs: list[Job]) -> list[SeedOutcome]:
    """In the simulation process: each job as a local worker runs it."""
    return [run_one(spec, recheck) for spec, recheck in jobs]


def _start_simulation_process(worker_pid: int) -> None:
    """Ignore Ctrl-C (the client stops everything), and exit when the worker is gone: a worker
    that is killed cannot shut its simulation process down, which would wait forever."""
    ignore_sigint()

    def watch() -> None:
        while os.getppid() == worker_pid:
            time.sleep(WATCH_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="simwire-worker-watch", daemon=True).start()


WATCH_SECONDS = 1.0


def _worker_threads() -> int:
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def _announce(text: str) -> None:
    """On stderr, beside the progress lines: the engine's start-up cost is part of the figures."""
    print(text, file=sys.stderr, flush=True)


def _outcomes(client: Any, todo: list[Job], stopping: Callable[[], bool]) -> Iterator[SeedOutcome]:
    from distributed import as_completed

    chunks = chunked(todo, sum(client.nthreads().values()) or 1)
    futures = [client.submit(run_in_simulator, chunk, pure=False, retries=1,
                             key=f"simwire-runs-{i}-{chunk[0][0].kernel}-seed{chunk[0][0].seed}")
               for i, chunk in enumerate(chunks)]
    pending = as_completed(futures)
    remaining = len(futures)
    try:
        while remaining and not stopping():
            if not pending.has_ready():
                time.sleep(POLL_SECONDS / 5)
                continue
            for future in pending.next_batch(block=False):
                remaining -= 1
                yield from _result(future)
    finally:
        if remaining:
            client.cancel(futures)
