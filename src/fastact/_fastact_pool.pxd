# The thread pool of fastact (include/fa_pool.h, compiled into
# fastact._fastact_pool alone): the one driver of every family.  A family
# cuts its work into items that do not depend on the thread count and
# hands `run` a function over a range of items.

ctypedef void (*items_fn)(void *ctx, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil

# fn over items [0, nitems) (`work` elements in all): on the calling thread
# below `grain` elements, else in blocks of at least `min_block` elements
cdef void run(items_fn fn, void *ctx, Py_ssize_t nitems, Py_ssize_t work, Py_ssize_t grain,
              Py_ssize_t min_block) noexcept nogil

# the thread setting
cdef int threads() noexcept nogil

# an output of out_bytes is written with non-temporal stores (the setting
# FASTACT_STREAM_BYTES; fastact/_fastact_pool.pyx)
cdef bint streams(Py_ssize_t out_bytes) noexcept nogil
