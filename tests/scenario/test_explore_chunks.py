"""How ``explore --cluster`` cuts a plan into tasks (no cluster needed)."""

from __future__ import annotations

from sim.harness.explore_cluster import MAX_CHUNK, chunked


def test_tasks_keep_the_plan_and_shrink_to_single_runs_at_its_end() -> None:
    plan = [(seed, False) for seed in range(100)]
    tasks = chunked(plan, threads=2)  # type: ignore[arg-type]
    sizes = [len(task) for task in tasks]
    assert [job for task in tasks for job in task] == plan  # every run once, in the plan's order
    assert sizes[0] == MAX_CHUNK and sizes == sorted(sizes, reverse=True)
    assert sizes[-8:] == [1] * 8  # the last runs go one per task: no worker waits on a big last task


def test_a_small_plan_is_one_run_per_task() -> None:
    assert [len(task) for task in chunked([(seed, False) for seed in range(5)], threads=4)] == [1] * 5  # type: ignore[arg-type]


def test_a_workers_simulation_process_is_stopped_when_the_client_leaves(monkeypatch) -> None:
    """The client stops each worker's simulation process before closing the cluster (a worker
    closing with one alive waits for it); the next run on that worker starts another."""
    from sim.harness import explore_cluster

    calls: list[tuple[bool, bool]] = []

    class Pool:
        def shutdown(self, wait: bool, cancel_futures: bool) -> None:
            calls.append((wait, cancel_futures))

    monkeypatch.setattr(explore_cluster, "_simulator", Pool())
    explore_cluster.stop_simulation_process()
    assert calls == [(True, True)] and explore_cluster._simulator is None
    explore_cluster.stop_simulation_process()  # none running: nothing to stop
    assert calls == [(True, True)]

    class Client:
        def run(self, function):
            function()
            raise OSError("scheduler gone")

    explore_cluster._release_simulators(Client())  # a lost scheduler only makes the close slower
