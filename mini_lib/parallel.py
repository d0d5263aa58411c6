"""A process pool for independent jobs (sweeps, artefact generation).

Processes are *spawned*, not forked: each worker imports ``mini_lib`` afresh (cheaply — it
imports no notebook UI), its torch state is clean, and the same code runs on macOS and Windows
where spawn is the only safe start method. The job function must live in an importable module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from multiprocessing import get_context
from typing import Any

from tqdm.auto import tqdm

__all__ = ["run_jobs"]


def run_jobs(function: Callable[[Any], Any], jobs: Sequence, workers: int,
             desc: str) -> list:
    """``[function(job) for job in jobs]`` with a progress bar, in ``workers`` processes.

    ``function`` must be a module-level function; results keep the order of ``jobs``. The
    pool's ``with`` block terminates every worker when it ends, also on an error or a
    KeyboardInterrupt.
    """
    if workers <= 1:
        return [function(job) for job in tqdm(jobs, desc=desc)]
    with get_context("spawn").Pool(min(workers, len(jobs))) as pool:
        return list(tqdm(pool.imap(function, jobs), total=len(jobs), desc=desc))
