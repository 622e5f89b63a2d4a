# cython: language_level=3
"""fastact's thread pool (include/fa_pool.h): one process-wide pool and
thread setting for every family, safe after fork().

The module's file name is unique on purpose: threadpoolctl finds the
loaded library by that prefix (see fastact/_threads.py)."""

cdef extern from "fa_pool.h":
    ctypedef void (*fa_items_fn)(void *ctx, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil
    void fa_pool_init() noexcept nogil
    void fa_pool_run(fa_items_fn fn, void *ctx, Py_ssize_t nitems, Py_ssize_t work,
                     Py_ssize_t grain, Py_ssize_t min_block) noexcept nogil
    int fa_pool_threads() noexcept nogil
    void fa_pool_set_threads(int n) noexcept nogil
    int fa_pool_have_threads() noexcept nogil
    int fa_pool_cpus() noexcept nogil
    double fa_backoff_left() noexcept nogil
    double fa_backoff_len() noexcept nogil
    int FA_POOL_MAXT
    int fa_pool_nworkers() noexcept nogil
    void fa_pool_counters(long *c) noexcept nogil

import os

fa_pool_init()

MAX_THREADS = FA_POOL_MAXT


cdef void run(items_fn fn, void *ctx, Py_ssize_t nitems, Py_ssize_t work, Py_ssize_t grain,
              Py_ssize_t min_block) noexcept nogil:
    fa_pool_run(<fa_items_fn>fn, ctx, nitems, work, grain, min_block)


cdef int threads() noexcept nogil:
    return fa_pool_threads()


# Large outputs (include/fa_stream.h, README "Large outputs"): the output
# size in bytes from which the memory-bound elementwise calls write with
# non-temporal stores (0 or less: never); FASTACT_STREAM_BYTES at import.
cdef Py_ssize_t _STREAM_BYTES = 16 << 20


cdef bint streams(Py_ssize_t out_bytes) noexcept nogil:
    return 0 < _STREAM_BYTES <= out_bytes


def _stream_bytes():
    return _STREAM_BYTES


def _set_stream_bytes(Py_ssize_t nbytes):
    """Set the output size from which calls stream; returns the previous
    value (for tests and measurements)."""
    global _STREAM_BYTES
    old = _STREAM_BYTES
    _STREAM_BYTES = nbytes
    return old


def _env_stream_bytes():
    v = os.environ.get("FASTACT_STREAM_BYTES", "").strip()
    if v:
        try:
            _set_stream_bytes(int(v))
        except ValueError:
            raise ValueError(f"FASTACT_STREAM_BYTES={v!r}: expected an integer number of bytes "
                             "(0 turns streaming stores off)") from None


_env_stream_bytes()


def get_num_threads():
    return fa_pool_threads()


def _set(int n):
    """Set the thread setting (n already checked, capped at MAX_THREADS)."""
    fa_pool_set_threads(n)


def have_threads():
    """False for a build without the pool (FASTACT_NO_THREADS=1)."""
    return bool(fa_pool_have_threads())


def num_cpus():
    """CPUs this process may run on (its affinity mask)."""
    return fa_pool_cpus()


def _workers():
    """Workers started in this process (for tests)."""
    return fa_pool_nworkers()


def _backoff_state():
    """(seconds of serial calls left, current back-off window): for tests."""
    return fa_backoff_left(), fa_backoff_len()


def _counters():
    """The pool's counters since the process started (approximate): for
    measurements."""
    cdef long c[6]
    fa_pool_counters(c)
    return dict(zip(("parallel", "serial_backoff", "serial_busy", "stalled", "blocks",
                     "blocks_by_workers"), [c[i] for i in range(6)]))
