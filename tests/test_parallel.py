"""The process pool: results in job order, and no worker left behind."""

import multiprocessing

import pytest

from mini_lib.parallel import run_jobs


def test_run_jobs_keeps_the_order_of_the_jobs_in_worker_processes():
    assert run_jobs(abs, [-3, 1, -2], workers=2, desc="test") == [3, 1, 2]
    assert run_jobs(abs, [-3, 1, -2], workers=1, desc="test") == [3, 1, 2]


def test_an_error_in_a_worker_reaches_the_caller_and_ends_the_pool():
    with pytest.raises(TypeError):
        run_jobs(abs, [-3, "not a number", -2], workers=2, desc="test")
    assert multiprocessing.active_children() == []
