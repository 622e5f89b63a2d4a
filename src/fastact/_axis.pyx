# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""OpenMP driver of the along-axis kernels (softmax family, logsumexp, GLU
family).

The kernels themselves live in include/fa_axis.h and are compiled once per
instruction-set level into the fastact._kernels_<isa> modules;
fastact._dispatch hands the chosen level's table (the capsule
`axis_table`) to `_set_table`.  Arguments, dtypes, layouts and `out=` are
handled in fastact._axis_api, which calls `run` with C-contiguous arrays
seen as (outer, n, inner) blocks (see fa_axis_table.h).
"""

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetPointer
from cython.parallel cimport prange, threadid

cnp.import_array()

from fastact._omp cimport fa_now, fa_backoff_serial, fa_backoff_report, fa_threads_now
from fastact._fast cimport fast_in, dims_equal, out_fits, disjoint_or_same

cdef extern from "fa_axis_table.h":
    ctypedef struct fa_ax_job:
        const void *x
        const void *g
        void *out
        Py_ssize_t outer, n, inner, cols, W
        double sg
    ctypedef void (*fa_ax_fn)(const fa_ax_job *j, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil
    ctypedef struct fa_ax_table:
        int nops
        const fa_ax_fn *fns
        const char *isa
    const char *FA_AX_CAPSULE_NAME
    int FA_AX_NOPS
    int FA_AX_WMAX
    int FA_AX_GLU

cdef const fa_ax_table *_tab = NULL

# the op codes of fa_axis_table.h, by name
OPS = ("softmax", "log_softmax", "logsumexp", "softmax_bx", "softmax_by",
       "log_softmax_bx", "log_softmax_by", "logsumexp_b",
       "glu", "glu_b", "swiglu", "swiglu_b", "geglu", "geglu_b", "geglu_tanh", "geglu_tanh_b")
OP = {name: i for i, name in enumerate(OPS)}

# threading cut-over in elements (exp-class work; same as the elementwise
# kernels of cost "exp")
cdef Py_ssize_t GRAIN = 32768
# bytes of one column block kept in cache (n rows x W columns)
cdef Py_ssize_t COLBLOCK_BYTES = 256 * 1024
# elements per item of the GLU family
cdef Py_ssize_t PAIR_ITEM = 8192


def _set_table(capsule):
    """Install the along-axis kernels of one instruction-set module."""
    global _tab
    cdef const fa_ax_table *t = <const fa_ax_table *>PyCapsule_GetPointer(capsule, FA_AX_CAPSULE_NAME)
    if t.nops != FA_AX_NOPS or len(OPS) != FA_AX_NOPS:
        raise ImportError("fastact: along-axis kernel module does not match _axis; rebuild")
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
        Py_ssize_t inner, double sg, int nthreads):
    """Run kernel `op` on C-contiguous native arrays of one float dtype.

    x (or y): (outer, n, inner); g: like x, or (outer, inner) for
    logsumexp_b, or (outer, n/2, inner) for the GLU backward; out: the
    result's layout.  Nothing is checked here beyond the dtype."""
    if _tab == NULL:
        raise RuntimeError("fastact: along-axis kernels not installed")
    _run_job(op, cnp.PyArray_TYPE(x) == cnp.NPY_DOUBLE, cnp.PyArray_ITEMSIZE(x),
             cnp.PyArray_DATA(x), NULL if g is None else cnp.PyArray_DATA(<cnp.ndarray>g),
             cnp.PyArray_DATA(out), outer, n, inner, sg, nthreads)


cdef void _run_job(int op, bint d, Py_ssize_t isz, const void *x, const void *g, void *out,
                   Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner, double sg,
                   int nthreads) noexcept:
    cdef fa_ax_fn f = _tab.fns[2 * op + d]
    cdef fa_ax_job job
    cdef Py_ssize_t items, work, per, nchunk, c, i0, i1, ck
    cdef int nt
    cdef double t0, t_main = 0.0
    cdef Py_ssize_t n_main = 0
    cdef double *pt_main = &t_main
    cdef Py_ssize_t *pn_main = &n_main
    job.x = x
    job.g = g
    job.out = out
    job.outer = outer
    job.n = n
    job.inner = inner
    job.sg = sg
    job.cols = 0
    if op >= FA_AX_GLU:
        job.cols = (n // 2) * inner
        job.W = PAIR_ITEM
        per = PAIR_ITEM
        items = outer * ((job.cols + PAIR_ITEM - 1) // PAIR_ITEM)
        work = outer * n * inner
    else:
        if inner == 1:
            job.W = 1
            per = n
            items = outer
        else:
            job.W = _col_width(n, inner, isz)
            per = n * job.W
            items = outer * ((inner + job.W - 1) // job.W)
        work = outer * n * inner
    if items <= 0:
        return
    nt = nthreads
    if work < GRAIN:
        nt = 1
    elif nt > work // (GRAIN // 2):
        nt = <int>(work // (GRAIN // 2))
    if nt > items:
        nt = <int>items
    with nogil:
        if nt > 1 and fa_backoff_serial():    # another process holds a core
            nt = 1
        if nt <= 1:
            f(&job, 0, items)
        else:
            # items per chunk: >= ~16k elements, ~8 chunks per thread, so
            # that a thread whose core is busy holds up at most one chunk
            ck = items // (8 * nt)
            if ck * per < 16384:
                ck = (16384 + per - 1) // per
            if ck < 1:
                ck = 1
            nchunk = (items + ck - 1) // ck
            t0 = fa_now()
            for c in prange(nchunk, num_threads=nt, schedule='dynamic', chunksize=1):
                i0 = c * ck
                i1 = i0 + ck
                if i1 > items:
                    i1 = items
                f(&job, i0, i1)
                if threadid() == 0:
                    pn_main[0] += 1
                    pt_main[0] = fa_now()
            fa_backoff_report(t0, t_main, n_main, nchunk, fa_now())


# ------------------------------------------------------------ fast path

def fast(int op, object x, object g, object axis, object out, double sg):
    """The softmax and GLU families (forward, and backward with g) without
    the Python layer, for the common case: x (or y) and g C-contiguous,
    aligned, native arrays of one float dtype (ndim >= 1, not empty, g of
    the shape the op needs), axis a Python int in range, out None or a
    C-contiguous writeable array of that dtype and the result's shape that
    is an input of the same shape (in place) or overlaps no input.  Returns
    None when any of this does not hold: the caller then takes the general
    path (fastact._axis_api), which also raises the errors.  Not for the
    logsumexp ops (reduced shapes)."""
    if _tab == NULL or type(axis) is not int or not fast_in(x):
        return None
    cdef cnp.ndarray xa = <cnp.ndarray>x, oa, ga
    if cnp.PyArray_SIZE(xa) == 0:
        return None
    cdef int nd = cnp.PyArray_NDIM(xa), t = cnp.PyArray_TYPE(xa), i
    cdef Py_ssize_t ax
    try:
        ax = <Py_ssize_t>axis
    except OverflowError:                     # out of range: the general path's AxisError
        return None
    if ax < -nd or ax >= nd:
        return None
    if ax < 0:
        ax += nd
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(xa)
    cdef cnp.npy_intp hdims[32]
    cdef Py_ssize_t outer = 1, inner = 1, n = dims[ax]
    cdef bint glu = op >= FA_AX_GLU
    cdef bint bwd = (g is not None)
    if nd > 32 or (glu and n % 2):
        return None
    for i in range(nd):
        hdims[i] = dims[i]
        if i < ax:
            outer *= dims[i]
        elif i > ax:
            inner *= dims[i]
    if glu:
        hdims[ax] = n // 2                    # the GLU output / its gradient
    # result shape: x's, except the GLU forward (halved)
    cdef cnp.npy_intp *rdims = dims
    if glu and not bwd:
        rdims = &hdims[0]
    cdef cnp.npy_intp *gdims
    if bwd:
        if not fast_in(g):
            return None
        ga = <cnp.ndarray>g
        gdims = &hdims[0] if glu else dims
        if cnp.PyArray_TYPE(ga) != t or not dims_equal(ga, nd, gdims):
            return None
    if out is None:
        oa = cnp.PyArray_EMPTY(nd, rdims, t, 0)
    else:
        if not out_fits(out, t, nd, rdims):
            return None
        oa = <cnp.ndarray>out
        if not disjoint_or_same(oa, xa, rdims == dims):
            return None
        if bwd and not disjoint_or_same(oa, ga, not glu):
            return None
    _run_job(op, t == cnp.NPY_DOUBLE, cnp.PyArray_ITEMSIZE(xa), cnp.PyArray_DATA(xa),
             cnp.PyArray_DATA(ga) if bwd else NULL, cnp.PyArray_DATA(oa), outer, n, inner, sg,
             fa_threads_now())
    return oa
