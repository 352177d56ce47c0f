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
