"""Thread control: get_num_threads, set_num_threads, num_threads."""

from __future__ import annotations

from contextlib import contextmanager

from fastact._core import get_num_threads, set_num_threads

__all__ = ["get_num_threads", "set_num_threads", "num_threads"]


@contextmanager
def num_threads(n: int):
    """`with fastact.num_threads(n):` runs the block with n threads."""
    prev = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(prev)
