# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Driver of the along-axis kernels (softmax family, logsumexp, GLU
family).

The kernels themselves live in include/fa_axis.h and are compiled once per
instruction-set level into the fastact._kernels_<isa> modules;
fastact._dispatch hands the chosen level's table (the capsule
`axis_table`) to `_set_table`.  Arguments, dtypes, layouts and `out=` are
handled in fastact._axis_api, which calls `run` with C-contiguous arrays
seen as (outer, n, inner) blocks (see fa_axis_table.h).

The narrow types (bfloat16, float16; include/fa_narrow.h) with contiguous
rows (inner == 1) run the float32 kernels a chunk of rows at a time
(`_job_narrow`): the rows of x (and grad_output) widened into a per-thread
buffer of at most NW_BUF bytes, the float32 kernel on that chunk, its
result narrowed (to nearest even) into out.  Memory sees the narrow arrays
only; the results are bitwise those of the float32 kernels on the widened
arrays, rounded once.
"""

cimport numpy as cnp
from libc.math cimport INFINITY as INF
from cpython.pycapsule cimport PyCapsule_GetPointer

cnp.import_array()

from fastact._fastact_pool cimport run as pool_run, streams as pool_streams
from fastact._fast cimport (fast_in, fast_narrow, narrow_type, dims_equal, out_fits,
                            disjoint_or_same)
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from libc.stdint cimport uintptr_t

import numpy as np

cdef extern from "fa_axis_table.h":
    int FA_AX_MAXD
    int FA_AX_EXTRA                # the ops from maxout on (fa_axis_extra_impl.h)
    int FA_AX_OP_maxout
    int FA_AX_OP_maxout_b
    int FA_AX_OP_softmax_jacobian
    int FA_AX_OP_logsumexp
    int FA_AX_OP_logsumexp_b
    int FA_AX_OP_logsumexp_m
    int FA_AX_OP_logsumexp_mb
    ctypedef struct fa_ax_mask:
        const void *bias
        const unsigned char *where
        double scale
        Py_ssize_t bsn, wsn, nd
        Py_ssize_t dim[64]
        Py_ssize_t bst[64]
        Py_ssize_t wst[64]
    ctypedef struct fa_ax_pre:
        const void *s
        const void *b
        Py_ssize_t period
        int mul
    ctypedef struct fa_ax_job:
        const void *x
        const void *g
        void *out
        Py_ssize_t outer, n, inner, cols, W
        double sg
        const fa_ax_mask *mk
        const fa_ax_pre *pre
        int stream
    ctypedef void (*fa_ax_fn)(const fa_ax_job *j, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil
    ctypedef struct fa_ax_table:
        int nops
        const fa_ax_fn *fns
        const char *isa
        const char *const *names
    const char *FA_AX_CAPSULE_NAME
    int FA_AX_NOPS
    int FA_AX_WMAX
    int FA_AX_SROW
    int FA_AX_GLU

cdef extern from "fa_table.h":
    ctypedef void (*fa_widen_fn)(const void *src, void *dst, Py_ssize_t n) noexcept nogil
    ctypedef void (*fa_narrow_fn)(const void *src, void *dst, Py_ssize_t n) noexcept nogil
    ctypedef struct fa_table:
        const fa_widen_fn *widen
        const fa_narrow_fn *narrow
    const char *FA_CAPSULE_NAME

cdef const fa_ax_table *_tab = NULL
# the narrow types' conversions of the same level (the elementwise table's,
# include/fa_narrow.h): index 0 bfloat16, 1 float16; NULL until installed
cdef const fa_widen_fn *_widen = NULL
cdef const fa_narrow_fn *_narrow = NULL

# the op codes of fa_axis_table.h, by name (the spec's AXIS_OPS)
from fastact._spec import AXIS_OPS as OPS
OP = {name: i for i, name in enumerate(OPS)}

# a streaming job's longest row, in bytes (include/fa_axis_table.h)
STREAM_ROW_BYTES = FA_AX_SROW

# the ops that stream a large output (the spec's AXIS_STREAM): bit 0
# float32, bit 1 float64
from fastact._spec import AXIS_STREAM as _AXIS_STREAM
cdef int _STREAM_OP[64]
assert len(OPS) <= 64
for _i in range(len(OPS)):
    _STREAM_OP[_i] = sum(1 << _k for _k, _t in enumerate(("float32", "float64"))
                         if _t in _AXIS_STREAM.get(OPS[_i], ()))

# threading cut-over in elements (the spec's GRAINS)
from fastact._spec import GRAINS as _GRAINS
cdef Py_ssize_t GRAIN = _GRAINS["axis"]
# bytes of one column block kept in cache (n rows x W columns)
cdef Py_ssize_t COLBLOCK_BYTES = 256 * 1024
# elements per item of the GLU family
cdef Py_ssize_t PAIR_ITEM = 8192
# smallest block handed to a thread, in elements
cdef Py_ssize_t MIN_BLOCK = 16384


def _set_table(capsule, kernels=None):
    """Install the along-axis kernels of one instruction-set module (and,
    from its elementwise table `kernels`, the narrow types' conversions)."""
    global _tab, _widen, _narrow
    cdef const fa_ax_table *t = <const fa_ax_table *>PyCapsule_GetPointer(capsule, FA_AX_CAPSULE_NAME)
    names = tuple(t.names[i].decode() for i in range(t.nops))
    if t.nops != FA_AX_NOPS or names != tuple(OPS):
        raise ImportError("fastact: along-axis kernel module does not match the spec; rebuild")
    cdef const fa_table *k
    if kernels is not None:
        k = <const fa_table *>PyCapsule_GetPointer(kernels, FA_CAPSULE_NAME)
        _widen = k.widen
        _narrow = k.narrow
    _tab = t
    return t.isa.decode()


def _current_isa():
    return None if _tab == NULL else _tab.isa.decode()


cdef Py_ssize_t _col_width(Py_ssize_t n, Py_ssize_t inner, Py_ssize_t isz) noexcept nogil:
    # columns per block: n x W elements in COLBLOCK_BYTES, a multiple of 16
    # (one AVX-512 float32 vector), at least 16; independent of the thread
    # count so results do not depend on it
    cdef Py_ssize_t w = COLBLOCK_BYTES // (n * isz + 1)
    w = (w // 16) * 16
    if w < 16:
        w = 16
    if w > FA_AX_WMAX:
        w = FA_AX_WMAX
    if w > inner:
        w = inner
    return w


def run(int op, cnp.ndarray x, object g, cnp.ndarray out, Py_ssize_t outer, Py_ssize_t n,
        Py_ssize_t inner, double sg, Py_ssize_t pieces=1):
    """Run kernel `op` on C-contiguous native arrays of one float dtype.

    x (or y): (outer, n, inner); g: like x, or (outer, inner) for
    logsumexp_b, or (outer, n/2, inner) for the GLU backward; out: the
    result's layout.  A narrow dtype (bfloat16, float16) needs inner == 1
    and rows that fit the buffer (`narrow_fits`).  Nothing is checked here
    beyond the dtype."""
    if _tab == NULL:
        raise RuntimeError("fastact: along-axis kernels not installed")
    if pieces < 1:
        raise ValueError("fastact: pieces must be >= 1")
    cdef int nw = _narrow_arg(op, x, g, n, inner, pieces)
    cdef const void *gp = NULL if g is None else cnp.PyArray_DATA(<cnp.ndarray>g)
    if nw >= 0:
        with nogil:
            _job_narrow(op, nw, cnp.PyArray_DATA(x), gp, cnp.PyArray_DATA(out), outer, n, sg,
                        pieces, NULL, False, NULL)
        return
    _run_job(op, cnp.PyArray_TYPE(x) == cnp.NPY_DOUBLE, cnp.PyArray_ITEMSIZE(x),
             cnp.PyArray_DATA(x), gp, cnp.PyArray_DATA(out), outer, n, inner, sg, pieces)


ctypedef struct ax_ctx:
    fa_ax_fn f
    fa_ax_job job

cdef void _ax_items(void *ctx, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    cdef ax_ctx *c = <ax_ctx *>ctx
    c.f(&c.job, i0, i1)


cdef Py_ssize_t _plan(int op, Py_ssize_t isz, const void *x, const void *g, void *out,
                      Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner, double sg,
                      Py_ssize_t pieces, const fa_ax_pre *pre, fa_ax_job *job,
                      Py_ssize_t *work) noexcept nogil:
    """Fill the job of op over the (outer, n, inner) block; returns its
    items (and the elements of work in *work).  Items: W consecutive output
    elements of one outer index for the GLU family (cols = (n / 2) inner of
    them) and maxout (cols = (n / pieces) inner); rows of the softmax output
    for softmax_jacobian, each writing an (n, n) block; rows or column
    blocks for the others.  pre: the scale and bias of the GLU family's
    *_m / *_mb ops (else NULL)."""
    cdef Py_ssize_t items
    work[0] = outer * n * inner
    job.x = x
    job.g = g
    job.out = out
    job.outer = outer
    job.n = n
    job.inner = inner
    job.sg = sg
    job.mk = NULL
    job.pre = pre
    job.cols = 0
    job.stream = 0
    if op == FA_AX_OP_maxout or op == FA_AX_OP_maxout_b or (FA_AX_GLU <= op < FA_AX_EXTRA):
        job.cols = (n // (pieces if op >= FA_AX_EXTRA else 2)) * inner
        job.W = PAIR_ITEM
        items = outer * ((job.cols + PAIR_ITEM - 1) // PAIR_ITEM)
    elif op == FA_AX_OP_softmax_jacobian:
        job.W = 1
        items = outer
        work[0] = outer * n * n
    elif inner == 1:
        job.W = 1
        items = outer
    else:
        job.W = _col_width(n, inner, isz)
        items = outer * ((inner + job.W - 1) // job.W)
    return items


# Large outputs (README "Large outputs"): the row ops of the spec's
# AXIS_STREAM (include/fa_axis_impl.h, fa_ax_rows) write an output that
# reaches the stream setting (fastact._fastact_pool.streams) with
# non-temporal stores, a row at a time through a buffer, when it overlaps
# neither input and its rows are whole (inner == 1).  Results are bitwise
# those of the ordinary stores.
cdef inline bint _streams(Py_ssize_t isz, const void *x, const void *g, void *out,
                          Py_ssize_t work, Py_ssize_t inner) noexcept nogil:
    cdef Py_ssize_t b = work * isz
    cdef const char *o = <const char *>out
    cdef const char *a = <const char *>x
    cdef const char *q = <const char *>g
    return (inner == 1 and pool_streams(b) and (<uintptr_t>out) % <uintptr_t>isz == 0
            and (o + b <= a or a + b <= o)
            and (g == NULL or o + b <= q or q + b <= o))


cdef void _job(int op, bint d, Py_ssize_t isz, const void *x, const void *g, void *out,
              Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner, double sg,
              Py_ssize_t pieces=1, const fa_ax_pre *pre=NULL) noexcept nogil:
    """Run op over the (outer, n, inner) block through the pool (the items
    of `_plan`)."""
    cdef ax_ctx c
    cdef Py_ssize_t work
    c.f = _tab.fns[2 * op + d]
    cdef Py_ssize_t items = _plan(op, isz, x, g, out, outer, n, inner, sg, pieces, pre, &c.job,
                                  &work)
    c.job.stream = (_STREAM_OP[op] >> d) & 1 and _streams(isz, x, g, out, work, inner)
    if items > 0:
        pool_run(_ax_items, &c, items, work, GRAIN, MIN_BLOCK)


cdef void _run_job(int op, bint d, Py_ssize_t isz, const void *x, const void *g, void *out,
                   Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner, double sg,
                   Py_ssize_t pieces=1) noexcept:
    with nogil:
        _job(op, d, isz, x, g, out, outer, n, inner, sg, pieces)


# ------------------------------------------------------- narrow types
#
# bfloat16 and float16 rows (inner == 1): a pool item is a chunk of NW_ITEM
# bytes of float32 rows (at least one row); the rows of x and of g are
# widened into a buffer of the block (malloc'd once per block of items, at
# most NW_BUF bytes), the float32 kernel runs on the chunk as a job of its
# own (outer = the chunk's rows, the same n), and its result is narrowed
# into out.  Every kernel result depends on its row alone (and the GLU
# family's, maxout's on its element), so the results are bitwise those of
# the float32 kernels on the whole widened array.  Rows longer than the
# buffer, and inner > 1, take the float32 temporary (fastact._axis_api).

# bytes of float32 rows per item, and the most a block's buffer holds
cdef Py_ssize_t NW_ITEM = 32 * 1024
cdef Py_ssize_t NW_BUF = 256 * 1024

ctypedef struct nw_ctx:
    fa_ax_fn f
    fa_widen_fn widen
    fa_narrow_fn narrow
    int op
    const char *x
    const char *g
    char *out
    Py_ssize_t outer, n, p, gr, orow, R
    double sg
    const fa_ax_pre *pre      # the GLU family's *_m / *_mb: s, b (2 periods if pre2)
    bint pre2
    const fa_ax_mask *mk      # the softmax family's *_m / *_mb: the mask


cdef inline bint _pair_op(int op) noexcept nogil:
    return op == FA_AX_OP_maxout or op == FA_AX_OP_maxout_b or (FA_AX_GLU <= op < FA_AX_EXTRA)


cdef inline Py_ssize_t _nw_row(int op, bint bwd, Py_ssize_t n, Py_ssize_t p, Py_ssize_t *gr,
                               Py_ssize_t *orow) noexcept nogil:
    """float32 elements per row of g (*gr) and out (*orow); returns those
    of x, g and out together"""
    if FA_AX_GLU <= op < FA_AX_EXTRA:
        p = 2
    elif not _pair_op(op):
        p = 1
    gr[0] = 0
    orow[0] = n
    if op == FA_AX_OP_logsumexp or op == FA_AX_OP_logsumexp_m:
        orow[0] = 1
    elif op == FA_AX_OP_logsumexp_b or op == FA_AX_OP_logsumexp_mb:
        gr[0] = 1
    elif bwd:
        gr[0] = n // p
    else:
        orow[0] = n // p
    return n + gr[0] + orow[0]


cdef inline bint _fits(int op, Py_ssize_t n, Py_ssize_t pieces, bint bwd) noexcept nogil:
    cdef Py_ssize_t gr, orow
    return (_widen != NULL and op != FA_AX_OP_softmax_jacobian
            and _nw_row(op, bwd, n, pieces, &gr, &orow) * 4 <= NW_BUF)


def narrow_fits(int op, Py_ssize_t n, Py_ssize_t pieces=1, bint bwd=False):
    """Whether a row of n elements of op (a backward one: bwd) fits the
    narrow types' buffer (else they take a float32 temporary)."""
    return _fits(op, n, pieces, bwd)


cdef int _narrow_arg(int op, cnp.ndarray x, object g, Py_ssize_t n, Py_ssize_t inner,
                     Py_ssize_t pieces) except -2:
    """-1 for float32/float64 x; else the narrow type of x (0 bfloat16, 1
    float16), checked to fit the narrow route"""
    cdef int t = cnp.PyArray_TYPE(x)
    if t == cnp.NPY_FLOAT or t == cnp.NPY_DOUBLE:
        return -1
    cdef int nw = narrow_type(x)
    if nw < 0 or (g is not None and cnp.PyArray_TYPE(<cnp.ndarray>g) != t):
        raise TypeError("fastact: x (and g) must be float32, float64, bfloat16 or float16 "
                        "of one dtype")
    if inner != 1 or not _fits(op, n, pieces, g is not None):
        raise ValueError("fastact: a narrow type needs inner == 1 and rows that fit "
                         "(narrow_fits)")
    return nw


cdef void _nw_fail(const nw_ctx *c, Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    # no memory for the buffer: NaN rather than garbage (as the kernels do)
    cdef float nan[64]
    cdef Py_ssize_t i, m, tot = (r1 - r0) * c.orow
    cdef char *o = c.out + r0 * c.orow * 2
    for i in range(64):
        nan[i] = <float>(INF - INF)
    i = 0
    while i < tot:
        m = tot - i if tot - i < 64 else 64
        c.narrow(nan, o + i * 2, m)
        i += m


cdef void _nw_run(const nw_ctx *c, float *bx, float *bg, float *bo, Py_ssize_t r0,
                  Py_ssize_t k, fa_ax_mask *mk2) noexcept nogil:
    """the float32 kernel on the k widened rows from row r0 (in bx, bg;
    results to bo)"""
    cdef fa_ax_job job
    cdef fa_ax_pre pre2
    cdef Py_ssize_t work, items, r = 0, m, q, rr, i, bo_, wo_, d, D, P, off
    cdef const fa_ax_mask *mk = c.mk
    if mk != NULL:
        # runs of rows along the last outer dim: the bias and where rows of
        # row r0 + r + i are those of r0 + r plus i strides
        job.n = c.n
        job.inner = 1
        job.cols = 0
        job.W = 1
        job.sg = 1.0
        job.pre = NULL
        job.mk = mk2
        job.stream = 0
        D = mk.dim[mk.nd - 1] if mk.nd > 0 else k
        while r < k:
            rr = r0 + r
            bo_ = 0
            wo_ = 0
            for d in range(mk.nd - 1, -1, -1):
                q = rr // mk.dim[d]
                i = rr - q * mk.dim[d]
                bo_ += i * mk.bst[d]
                wo_ += i * mk.wst[d]
                rr = q
            m = D - (r0 + r) % D if mk.nd > 0 else k
            if m > k - r:
                m = k - r
            mk2.bias = mk.bias
            if mk.bias != NULL:
                mk2.bias = <const char *>mk.bias + bo_ * 4
            mk2.where = mk.where
            if mk.where != NULL:
                mk2.where = mk.where + wo_
            mk2.dim[0] = m
            mk2.bst[0] = mk.bst[mk.nd - 1] if mk.nd > 0 else 0
            mk2.wst[0] = mk.wst[mk.nd - 1] if mk.nd > 0 else 0
            job.x = bx + r * c.n
            job.g = NULL if bg == NULL else bg + r * c.gr
            job.out = bo + r * c.orow
            job.outer = m
            c.f(&job, 0, m)
            r += m
        return
    if c.pre == NULL:
        items = _plan(c.op, 4, bx, bg, bo, k, c.n, 1, c.sg, c.p, NULL, &job, &work)
        c.f(&job, 0, items)
        return
    # the fused pre-activation: s and b from the flat index of the chunk's
    # first element (mod the period); runs that do not wrap the period,
    # unless s and b hold two periods (pre2) or the period divides n
    P = c.pre.period
    pre2.period = P
    pre2.mul = c.pre.mul
    while r < k:
        off = ((r0 + r) * c.n) % P
        m = k - r
        if not c.pre2 and off:
            m = (P - off) // c.n
            if m > k - r:
                m = k - r
        pre2.s = <const char *>c.pre.s + off * 4
        pre2.b = <const char *>c.pre.b + off * 4
        items = _plan(c.op, 4, bx + r * c.n, NULL if bg == NULL else bg + r * c.gr,
                      bo + r * c.orow, m, c.n, 1, c.sg, c.p, &pre2, &job, &work)
        c.f(&job, 0, items)
        r += m


cdef void _nw_items(void *ctx, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    cdef const nw_ctx *c = <const nw_ctx *>ctx
    cdef Py_ssize_t u, r0, k, rows = (i1 - i0) * c.R
    if rows > c.R:
        rows = c.R
    if rows > c.outer:
        rows = c.outer
    cdef float *bx = <float *>malloc(rows * (c.n + c.gr + c.orow) * 4)
    cdef float *bg
    cdef float *bo
    cdef fa_ax_mask mk2            # a run of rows' mask (_nw_run)
    if c.mk != NULL:
        mk2.scale = c.mk.scale
        mk2.bsn = c.mk.bsn
        mk2.wsn = c.mk.wsn
        mk2.nd = 1
    for u in range(i0, i1):
        r0 = u * c.R
        k = c.outer - r0 if c.outer - r0 < c.R else c.R
        if bx == NULL:
            _nw_fail(c, r0, r0 + k)
            continue
        bg = bx + k * c.n
        bo = bg + k * c.gr
        c.widen(c.x + r0 * c.n * 2, bx, k * c.n)
        if c.gr:
            c.widen(c.g + r0 * c.gr * 2, bg, k * c.gr)
        _nw_run(c, bx, bg if c.gr else NULL, bo, r0, k, &mk2)
        c.narrow(bo, c.out + r0 * c.orow * 2, k * c.orow)
    free(bx)


cdef void _job_narrow(int op, int nw, const void *x, const void *g, void *out,
                      Py_ssize_t outer, Py_ssize_t n, double sg, Py_ssize_t pieces,
                      const fa_ax_pre *pre, bint pre2, const fa_ax_mask *mk) noexcept nogil:
    """op over (outer, n) rows of narrow type nw (inner == 1; the rows fit
    NW_BUF: narrow_fits) in float32 chunks of rows through the pool"""
    cdef nw_ctx c
    cdef Py_ssize_t per = _nw_row(op, g != NULL, n, pieces, &c.gr, &c.orow)
    if outer <= 0 or n <= 0:
        return
    c.f = _tab.fns[2 * op]
    c.widen = _widen[nw]
    c.narrow = _narrow[nw]
    c.op = op
    c.x = <const char *>x
    c.g = <const char *>g
    c.out = <char *>out
    c.outer = outer
    c.n = n
    c.p = pieces
    c.sg = sg
    c.pre = pre
    c.pre2 = pre2
    c.mk = mk
    c.R = NW_ITEM // (per * 4)
    if c.R < 1:
        c.R = 1
    pool_run(_nw_items, &c, (outer + c.R - 1) // c.R, outer * n, GRAIN, MIN_BLOCK)


def run_pre(int op, cnp.ndarray x, object g, cnp.ndarray out, Py_ssize_t outer, Py_ssize_t n,
            Py_ssize_t inner, cnp.ndarray s, cnp.ndarray b, Py_ssize_t period, bint mul):
    """`run` for the GLU family's *_m / *_mb ops (fa_ax_pre): the pair
    kernel on x * s + b, the backward's result times s where mul.  s and b:
    C-contiguous arrays of x's dtype (float32 for a narrow x) with `period`
    >= 256 entries, entry i % period for the flat index i of the (outer, n,
    inner) block (a missing scale 1, a missing bias -0); they must not share
    memory with out.  Nothing is checked here beyond the dtype."""
    if _tab == NULL:
        raise RuntimeError("fastact: along-axis kernels not installed")
    if period < 256:
        raise ValueError("fastact: run_pre needs a period >= 256")
    cdef int nw = _narrow_arg(op, x, g, n, inner, 1)
    cdef bint pre2 = False
    if nw >= 0 and n % period and period % n:
        # the chunks start anywhere in the period: two periods, read from
        # the chunk's offset (_nw_run)
        s = np.concatenate((s[:period], s[:period]))
        b = np.concatenate((b[:period], b[:period]))
        pre2 = True
    cdef fa_ax_pre pre
    pre.s = cnp.PyArray_DATA(s)
    pre.b = cnp.PyArray_DATA(b)
    pre.period = period
    pre.mul = mul
    cdef bint d = cnp.PyArray_TYPE(x) == cnp.NPY_DOUBLE
    cdef Py_ssize_t isz = cnp.PyArray_ITEMSIZE(x)
    cdef const void *xp = cnp.PyArray_DATA(x)
    cdef const void *gp = NULL if g is None else cnp.PyArray_DATA(<cnp.ndarray>g)
    cdef void *op_ = cnp.PyArray_DATA(out)
    with nogil:
        if nw >= 0:
            _job_narrow(op, nw, xp, gp, op_, outer, n, 1.0, 1, &pre, pre2, NULL)
        else:
            _job(op, d, isz, xp, gp, op_, outer, n, inner, 1.0, 1, &pre)


# ------------------------------------------------- scale, bias, where

def run_masked(int op, cnp.ndarray x, object g, cnp.ndarray out, Py_ssize_t outer,
               Py_ssize_t n, double scale, object bias, Py_ssize_t bsn, object where,
               Py_ssize_t wsn, tuple dims, tuple bst, tuple wst):
    """Run a *_m / *_mb op (fa_axis_table.h, fa_ax_mask) over C-contiguous
    (outer, n) rows of x (and g: like x, or (outer,) for logsumexp_mb; out:
    like x, or (outer,) for logsumexp_m).  bias (of x's dtype) and where
    (bool) are arrays whose rows the strides select: element strides bsn and
    bst (bias), byte strides wsn and wst (where), over the outer dims `dims`
    (coalesced, their product outer); bias float32 for narrow rows.  Nothing
    is checked here."""
    if _tab == NULL:
        raise RuntimeError("fastact: along-axis kernels not installed")
    cdef fa_ax_mask mk
    cdef ax_ctx c
    cdef Py_ssize_t i, nd = len(dims)
    if nd > FA_AX_MAXD:
        raise ValueError("fastact: too many dimensions")
    cdef int nw = _narrow_arg(op, x, g, n, 1, 1)
    mk.bias = NULL if bias is None else cnp.PyArray_DATA(<cnp.ndarray>bias)
    mk.where = NULL
    if where is not None:
        mk.where = <unsigned char *>cnp.PyArray_DATA(<cnp.ndarray>where)
    mk.scale = scale
    mk.bsn = bsn
    mk.wsn = wsn
    mk.nd = nd
    for i in range(nd):
        mk.dim[i] = dims[i]
        mk.bst[i] = bst[i]
        mk.wst[i] = wst[i]
    c.f = _tab.fns[2 * op + (cnp.PyArray_TYPE(x) == cnp.NPY_DOUBLE)]
    c.job.x = cnp.PyArray_DATA(x)
    c.job.g = NULL if g is None else cnp.PyArray_DATA(<cnp.ndarray>g)
    c.job.out = cnp.PyArray_DATA(out)
    c.job.outer = outer
    c.job.n = n
    c.job.inner = 1
    c.job.cols = 0
    c.job.W = 1
    c.job.sg = 1.0
    c.job.mk = &mk
    if outer > 0 and n > 0:
        with nogil:
            if nw >= 0:
                _job_narrow(op, nw, c.job.x, c.job.g, c.job.out, outer, n, 1.0, 1, NULL, False,
                            &mk)
            else:
                pool_run(_ax_items, &c, outer, outer * n, GRAIN, MIN_BLOCK)


# ------------------------------------------------------------ fast path

cdef bint _axis_dims(cnp.ndarray xa, object axis, Py_ssize_t *ax, Py_ssize_t *outer,
                     Py_ssize_t *n, Py_ssize_t *inner):
    """axis (a Python int) in range for xa: its index and the (outer, n,
    inner) block of xa around it; False when it is not"""
    cdef int nd = cnp.PyArray_NDIM(xa), i
    cdef Py_ssize_t a
    try:
        a = <Py_ssize_t>axis
    except OverflowError:
        return False
    if a < -nd or a >= nd:
        return False
    if a < 0:
        a += nd
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(xa)
    outer[0] = 1
    inner[0] = 1
    for i in range(nd):
        if i < a:
            outer[0] *= dims[i]
        elif i > a:
            inner[0] *= dims[i]
    ax[0] = a
    n[0] = dims[a]
    return True


def fast(int op, object x, object g, object axis, object out, double sg=1.0,
         object pieces=None):
    """The along-axis ops (forward, and backward with g) without the Python
    layer, for the common case: x (or y) and g C-contiguous, aligned, native
    arrays of one float dtype (ndim >= 1, not empty), axis a Python int in
    range, g of the forward output's shape (the GLU family: the axis
    halved; maxout: divided by pieces, a Python int >= 1 that divides it),
    out None or a C-contiguous writeable array of that dtype and the
    result's shape that is an input of the same shape (in place) or
    overlaps no input.  A narrow dtype (bfloat16, float16) also needs the
    axis last (inner == 1) and rows that fit its buffer.  Returns None when
    any of this does not hold: the caller then takes the general path
    (fastact._axis_api), which also raises the errors.  Not for the
    logsumexp ops (reduced shapes) nor softmax_jacobian."""
    if _tab == NULL or type(axis) is not int:
        return None
    cdef int nw = -1
    if not fast_in(x):
        nw = fast_narrow(x)
        if nw < 0 or _widen == NULL:
            return None
    cdef Py_ssize_t p = 2 if FA_AX_GLU <= op < FA_AX_EXTRA else 1
    if pieces is not None:
        if type(pieces) is not int or pieces < 1 or pieces > cnp.PyArray_SIZE(<cnp.ndarray>x):
            return None
        p = <Py_ssize_t>pieces
    cdef cnp.ndarray xa = <cnp.ndarray>x, oa, ga
    if cnp.PyArray_SIZE(xa) == 0:
        return None
    cdef int nd = cnp.PyArray_NDIM(xa), t = cnp.PyArray_TYPE(xa), i
    cdef Py_ssize_t ax = 0, outer = 1, n = 0, inner = 1
    if nd > 32 or not _axis_dims(xa, axis, &ax, &outer, &n, &inner) or n % p:
        return None
    cdef bint bwd = g is not None
    if nw >= 0 and (inner != 1 or not _fits(op, n, p, bwd)):
        return None
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(xa)
    cdef cnp.npy_intp hdims[32]
    for i in range(nd):
        hdims[i] = dims[i]
    hdims[ax] = n // p                        # the forward output / its gradient
    cdef cnp.npy_intp *rdims = dims if bwd else &hdims[0]
    if bwd:
        if (fast_narrow(g) != nw) if nw >= 0 else not fast_in(g):
            return None
        ga = <cnp.ndarray>g
        if cnp.PyArray_TYPE(ga) != t or not dims_equal(ga, nd, hdims):
            return None
    if out is None:
        oa = cnp.PyArray_EMPTY(nd, rdims, t, 0)
    else:
        if not out_fits(out, t, nd, rdims):
            return None
        oa = <cnp.ndarray>out
        if not disjoint_or_same(oa, xa, bwd or p == 1):
            return None
        if bwd and not disjoint_or_same(oa, ga, p == 1):
            return None
    cdef const void *gp
    if nw >= 0:
        gp = cnp.PyArray_DATA(ga) if bwd else NULL
        with nogil:
            _job_narrow(op, nw, cnp.PyArray_DATA(xa), gp, cnp.PyArray_DATA(oa), outer, n, sg, p,
                        NULL, False, NULL)
        return oa
    _run_job(op, t == cnp.NPY_DOUBLE, cnp.PyArray_ITEMSIZE(xa), cnp.PyArray_DATA(xa),
             cnp.PyArray_DATA(ga) if bwd else NULL, cnp.PyArray_DATA(oa), outer, n, inner, sg, p)
    return oa


# ---------------------------------------------------- generalized ufuncs
#
# The softmax family and logsumexp as numpy generalized ufuncs
# (fastact.ufunc): softmax (n)->(n), logsumexp (n)->(), their backward
# (n),(n)->(n) and (),(n)->(n).  NumPy's `axis=` picks the core axis.
# Rows that are contiguous and follow one another, or the columns of one
# C-contiguous block, run as one block through the pool (bitwise the
# functions); any other layout is copied row by row into a buffer (within
# the same accuracy budget, not always bitwise: the functions walk a
# strided axis by column blocks).

cdef extern from "<fenv.h>":
    int feclearexcept(int) noexcept nogil
    int FE_ALL_EXCEPT

cnp.import_ufunc()

ctypedef struct ginfo:
    int op
    int d
    int kind          # 0 (n)->(n), 1 (n)->(), 2 (n),(n)->(n), 3 (),(n)->(n)
    double sg

from fastact._spec import GUFUNCS as _GUFUNCS

# by kind: 0 (n)->(n), 1 (n)->(), 2 (n),(n)->(n), 3 (),(n)->(n)
_SIGNATURES = ("(n)->(n)", "(n)->()", "(n),(n)->(n)", "(),(n)->(n)")


cdef inline int _layout(Py_ssize_t so, Py_ssize_t sc, Py_ssize_t row, Py_ssize_t col,
                        Py_ssize_t isz, bint core) noexcept nogil:
    """1 row blocks, 2 column blocks, 3 both (one value per row, contiguous), 0 other"""
    if not core:
        return 3 if so == isz else 0
    if sc == isz and so == row:
        return 1
    if so == isz and sc == col:
        return 2
    return 0


cdef void _gloop(char **args, cnp.npy_intp *dims, cnp.npy_intp *steps, void *data) noexcept nogil:
    cdef const ginfo *u = <const ginfo *>data
    cdef Py_ssize_t N = dims[0], n = dims[1], isz = 8 if u.d else 4, r, i
    cdef bint has_g = u.kind >= 2, g_core = u.kind == 2, o_core = u.kind != 1
    cdef char *g = args[0] if has_g else NULL
    cdef char *x = args[1] if has_g else args[0]
    cdef char *o = args[2] if has_g else args[1]
    # outer steps, then core steps (inputs, then the output)
    cdef Py_ssize_t sgo = steps[0] if has_g else 0
    cdef Py_ssize_t sxo = steps[1] if has_g else steps[0]
    cdef Py_ssize_t soo = steps[2] if has_g else steps[1]
    cdef int c = 3 if has_g else 2
    cdef Py_ssize_t sgc = 0, sxc, soc = 0
    if g_core:
        sgc = steps[c]
        c += 1
    sxc = steps[c]
    c += 1
    if o_core:
        soc = steps[c]
    if _tab == NULL or N <= 0:
        return
    if n == 0:
        if u.kind == 1:
            for r in range(N):
                if u.d:
                    (<double *>(o + r * soo))[0] = -INF
                else:
                    (<float *>(o + r * soo))[0] = -INF
        return
    cdef Py_ssize_t row = n * isz, col = N * isz
    # 1: rows that are contiguous and follow one another; 2: the rows are
    # the columns of one C-contiguous block (axis=0 of a 2-D array); 0: other
    cdef int lx = _layout(sxo, sxc, row, col, isz, True)
    cdef int lg = _layout(sgo, sgc, row, col, isz, g_core) if has_g else lx
    cdef int lo = _layout(soo, soc, row, col, isz, o_core)
    cdef char *tmp
    if lx and (lg == lx or lg == 3):
        if lo == lx or lo == 3:
            _job(u.op, u.d, isz, x, g, o, N if lx == 1 else 1, n, 1 if lx == 1 else N, u.sg)
        else:
            # the kernel's layout in a block, then to `out` as NumPy laid it
            tmp = <char *>malloc(N * (n if o_core else 1) * isz)
            if tmp == NULL:
                return
            _job(u.op, u.d, isz, x, g, tmp, N if lx == 1 else 1, n, 1 if lx == 1 else N, u.sg)
            for r in range(N):
                if not o_core:
                    memcpy(o + r * soo, tmp + r * isz, isz)
                    continue
                for i in range(n):
                    memcpy(o + r * soo + i * soc,
                           tmp + ((r * n + i) if lx == 1 else (i * N + r)) * isz, isz)
            free(tmp)
        feclearexcept(FE_ALL_EXCEPT)
        return
    cdef char *bx = <char *>malloc(row)
    cdef char *bg = <char *>malloc(row if g_core else isz)
    cdef char *bo = <char *>malloc(row if o_core else isz)
    if bx == NULL or bg == NULL or bo == NULL:
        free(bx)
        free(bg)
        free(bo)
        return
    for r in range(N):
        for i in range(n):
            memcpy(bx + i * isz, x + r * sxo + i * sxc, isz)
        if has_g:
            if g_core:
                for i in range(n):
                    memcpy(bg + i * isz, g + r * sgo + i * sgc, isz)
            else:
                memcpy(bg, g + r * sgo, isz)
        _job(u.op, u.d, isz, bx, bg if has_g else NULL, bo, 1, n, 1, u.sg)
        if o_core:
            for i in range(n):
                memcpy(o + r * soo + i * soc, bo + i * isz, isz)
        else:
            memcpy(o + r * soo, bo, isz)
    free(bx)
    free(bg)
    free(bo)
    feclearexcept(FE_ALL_EXCEPT)


cdef list _gufunc_keep = []

def _make_gufuncs():
    """{name: numpy.ufunc} of the generalized ufuncs above (fastact.ufunc)."""
    cdef dict res = {}
    cdef ginfo *info
    cdef void **data
    cdef cnp.PyUFuncGenericFunction *funcs
    cdef char *types
    cdef int nin, j, d
    for name, op, sg, kind, doc in _GUFUNCS:
        nin = 2 if kind >= 2 else 1
        info = <ginfo *>malloc(2 * sizeof(ginfo))
        data = <void **>malloc(2 * sizeof(void *))
        funcs = <cnp.PyUFuncGenericFunction *>malloc(2 * sizeof(cnp.PyUFuncGenericFunction))
        types = <char *>malloc(2 * (nin + 1))
        if info == NULL or data == NULL or funcs == NULL or types == NULL:
            raise MemoryError()
        for d in range(2):
            info[d].op = OP[op]
            info[d].d = d
            info[d].kind = kind
            info[d].sg = sg
            data[d] = &info[d]
            funcs[d] = <cnp.PyUFuncGenericFunction>_gloop
            for j in range(nin + 1):
                types[d * (nin + 1) + j] = cnp.NPY_DOUBLE if d else cnp.NPY_FLOAT
        keep = (name.encode(), doc.encode(), _SIGNATURES[kind].encode())
        _gufunc_keep.append(keep)
        res[name] = cnp.PyUFunc_FromFuncAndDataAndSignature(
            funcs, data, types, 2, nin, 1, cnp.PyUFunc_None, keep[0], keep[1], 0, keep[2])
    return res




