"""The Ray executor of MF-Think: the same song job as the local executor, one Ray task
per song (a fraction of a CPU each, since the work is mostly waiting on the LLM
endpoint). Each item is still saved as its own file, so resumption is the same."""

from __future__ import annotations

from collections.abc import Callable

from musicflamingo.runner import failure_reason
from musicflamingo.skills.ray_executor import connect
from musicflamingo.think.jobs import ThinkJob


def run_ray(
    jobs: list[ThinkJob],
    run: Callable[[ThinkJob], object],
    address: str | None = None,
    num_cpus: int | None = None,
    task_cpus: float = 0.5,
) -> dict[str, str]:
    """Run ``run(job)`` for every job on a Ray cluster (``address``; a local one with
    ``num_cpus`` when None). Returns song id -> error for the songs that failed."""
    import ray
    from rich.progress import Progress

    connect(address, num_cpus)

    def guarded(job: ThinkJob) -> str:
        try:
            run(job)
        except Exception as e:  # noqa: BLE001 - recorded per song, the run goes on
            return failure_reason(e)
        return ""

    task = ray.remote(num_cpus=task_cpus)(guarded)
    pending = {task.remote(j): j for j in jobs}
    errors: dict[str, str] = {}
    with Progress() as bar:
        tick = bar.add_task("think (ray)", total=len(jobs))
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ready[0])
            if why := ray.get(ready[0]):
                errors[str(job)] = why
            bar.advance(tick)
    return errors
