"""Thread control: get_num_threads, set_num_threads, num_threads, and
fastact's controller for threadpoolctl.

There is one setting for the whole process (every family, every Python
thread), kept by the pool (fastact._fastact_pool).  It starts at
OMP_NUM_THREADS when that is set, else at the number of CPUs this process
may run on.  `with num_threads(n):` and `threadpoolctl.threadpool_limits`
set it on entry and put back exactly what was there on exit, so they nest
in any order.
"""

from __future__ import annotations

import operator
from contextlib import contextmanager
from typing import Iterator

from fastact import __version__
from fastact import _fastact_pool as _pool

__all__ = ["get_num_threads", "set_num_threads", "num_threads"]


def get_num_threads() -> int:
    """The number of threads fastact uses for a large array (every function
    family, every Python thread)."""
    return _pool.get_num_threads()


def check_count(n, where: str = "set_num_threads()", argname: str = "n") -> int:
    """A thread count: an int >= 1 (TypeError, ValueError naming `argname`),
    capped at the pool's maximum."""
    if isinstance(n, bool) or type(n).__name__ == "bool_":
        raise TypeError(f"{where}: {argname} must be an int >= 1, got bool")
    try:
        v = operator.index(n)
    except TypeError:
        raise TypeError(f"{where}: {argname} must be an int >= 1, got "
                        f"{type(n).__name__}") from None
    if v < 1:
        raise ValueError(f"{where}: {argname} must be >= 1, got {v}")
    return min(v, _pool.MAX_THREADS)



def set_num_threads(n: int) -> None:
    """Set the number of threads fastact uses (all Python threads, every
    family); at most 256."""
    _pool._set(check_count(n))


@contextmanager
def num_threads(n: int) -> Iterator[None]:
    """`with fastact.num_threads(n):` runs the block with n threads, then
    puts back the setting that was there before."""
    v = check_count(n)
    prev = _pool.get_num_threads()
    _pool._set(v)
    try:
        yield
    finally:
        _pool._set(prev)


def _register_threadpoolctl() -> None:
    """Make threadpoolctl see fastact's pool (user_api "openmp", the API of
    the compute pools that `threadpool_limits(user_api="openmp")` limits;
    internal_api "fastact").  threadpoolctl finds the pool's module among the
    loaded libraries by its file name and calls its exported C functions."""
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return
    if not hasattr(threadpoolctl, "register"):  # pragma: no cover - before 3.5
        return

    class FastactController(threadpoolctl.LibController):
        user_api = "openmp"
        internal_api = "fastact"
        filename_prefixes = ("_fastact_pool",)
        check_symbols = ("fastact_pool_get_num_threads", "fastact_pool_set_num_threads")

        def get_num_threads(self):
            return self.dynlib.fastact_pool_get_num_threads()

        def set_num_threads(self, num_threads):
            return self.dynlib.fastact_pool_set_num_threads(int(num_threads))

        def get_version(self):
            return __version__

    threadpoolctl.register(FastactController)


_register_threadpoolctl()
