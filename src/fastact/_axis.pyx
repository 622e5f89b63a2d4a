# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Driver of the along-axis kernels (softmax family, logsumexp, GLU
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

cnp.import_array()

from fastact._fastact_pool cimport run as pool_run
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
# smallest block handed to a thread, in elements
cdef Py_ssize_t MIN_BLOCK = 16384


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
        Py_ssize_t inner, double sg):
    """Run kernel `op` on C-contiguous native arrays of one float dtype.

    x (or y): (outer, n, inner); g: like x, or (outer, inner) for
    logsumexp_b, or (outer, n/2, inner) for the GLU backward; out: the
    result's layout.  Nothing is checked here beyond the dtype."""
    if _tab == NULL:
        raise RuntimeError("fastact: along-axis kernels not installed")
    _run_job(op, cnp.PyArray_TYPE(x) == cnp.NPY_DOUBLE, cnp.PyArray_ITEMSIZE(x),
             cnp.PyArray_DATA(x), NULL if g is None else cnp.PyArray_DATA(<cnp.ndarray>g),
             cnp.PyArray_DATA(out), outer, n, inner, sg)


ctypedef struct ax_ctx:
    fa_ax_fn f
    fa_ax_job job

cdef void _ax_items(void *ctx, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    cdef ax_ctx *c = <ax_ctx *>ctx
    c.f(&c.job, i0, i1)


cdef void _run_job(int op, bint d, Py_ssize_t isz, const void *x, const void *g, void *out,
                   Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner, double sg) noexcept:
    cdef ax_ctx c
    cdef Py_ssize_t items
    c.f = _tab.fns[2 * op + d]
    c.job.x = x
    c.job.g = g
    c.job.out = out
    c.job.outer = outer
    c.job.n = n
    c.job.inner = inner
    c.job.sg = sg
    c.job.cols = 0
    if op >= FA_AX_GLU:
        c.job.cols = (n // 2) * inner
        c.job.W = PAIR_ITEM
        items = outer * ((c.job.cols + PAIR_ITEM - 1) // PAIR_ITEM)
    elif inner == 1:
        c.job.W = 1
        items = outer
    else:
        c.job.W = _col_width(n, inner, isz)
        items = outer * ((inner + c.job.W - 1) // c.job.W)
    if items <= 0:
        return
    with nogil:
        pool_run(_ax_items, &c, items, outer * n * inner, GRAIN, MIN_BLOCK)


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
    cdef Py_ssize_t ax = <Py_ssize_t>axis
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
             cnp.PyArray_DATA(ga) if bwd else NULL, cnp.PyArray_DATA(oa), outer, n, inner, sg)
    return oa
