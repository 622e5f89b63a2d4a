# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Driver of PReLU (forward and backward).

The loops live in include/fa_prelu.h, compiled once per instruction-set
level into the fastact._kernels_<isa> modules; fastact._dispatch hands the
chosen level's table (the capsule `prelu_table`) to `_set_table`.
Arguments, dtypes, layouts and `out=` are handled in fastact._prelu_api,
which calls `forward` / `backward` with C-contiguous native arrays of one
float dtype seen as (outer, C, inner) blocks, C the channel axis (or of a
narrow type, bfloat16 or float16, with float32 weights: computed in float32
inside the loops, a piece at a time in L1, include/fa_prelu.h).

Two loop shapes:
  * runs (inner >= RUN_MIN, channels first, or one shared slope): each
    (outer, channel) run of `inner` elements is one contiguous loop with a
    scalar slope; runs longer than RUN_CHUNK are cut into chunks, shorter
    ones grouped;
  * rows (inner < RUN_MIN, channels last): the weight row is expanded to
    period P (w[c] repeated inner times, the row repeated k times), and the
    array is walked as rows of P elements with a two-array loop, in items of
    (up to ROWS_MAX rows) x (up to SEG columns).

Threads: work below GRAIN elements (float32; float64 half) runs on the
calling thread; else the items go to the thread pool (fastact._fastact_pool).
The items never depend on the thread count and the weight gradient is
reduced from per-item partial sums in a fixed order (Kahan, in double), so
every result is bitwise identical for any number of threads.
"""

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.math cimport isfinite

import numpy as np

cnp.import_array()

from fastact._fastact_pool cimport run as pool_run
from fastact._fast cimport fast_in, dims_equal, out_fits, disjoint_or_same, narrow_type

cdef extern from "fa_prelu_table.h":
    ctypedef void (*fa_pr_fwd_fn)(const void *x, void *y, Py_ssize_t n, const void *w) noexcept nogil
    ctypedef double (*fa_pr_bwd_s_fn)(const void *g, const void *x, void *gx, Py_ssize_t n,
                                      const void *w) noexcept nogil
    ctypedef void (*fa_pr_bwd_v_fn)(const void *g, const void *x, void *gx, Py_ssize_t n,
                                    const void *w, double *acc, Py_ssize_t rows,
                                    Py_ssize_t stride) noexcept nogil
    ctypedef struct fa_pr_table:
        int version
        fa_pr_fwd_fn fwd_s[4]
        fa_pr_fwd_fn fwd_v[4]
        fa_pr_bwd_s_fn bwd_s[4]
        fa_pr_bwd_v_fn bwd_v[4]
        const char *isa
    const char *FA_PR_CAPSULE_NAME
    int FA_PR_VERSION

cdef const fa_pr_table *_tab = NULL

# threading cut-over in float32 elements (float64: half); the elementwise
# "cheap" class (the spec's GRAINS)
from fastact._spec import GRAINS as _GRAINS
cdef Py_ssize_t GRAIN = _GRAINS["channel"]
# the run shape from this inner length on (shorter: the row shape)
cdef Py_ssize_t RUN_MIN = 256
# elements per item of the run shape
cdef Py_ssize_t RUN_CHUNK = 16384
# row shape: target period of the expanded weight row, column block, and
# rows per item (bounds the double accumulation of a column before the
# Kahan reduction over items)
cdef Py_ssize_t PERIOD = 2048
cdef Py_ssize_t SEG = 2048
cdef Py_ssize_t ROWS_MAX = 128
cdef Py_ssize_t ITEM_MIN = 16384
cdef Py_ssize_t ITEMS_TARGET = 64
# smallest block handed to a thread, in elements
cdef Py_ssize_t MIN_BLOCK = 4096


def _set_table(capsule):
    """Install the PReLU loops of one instruction-set module."""
    global _tab
    cdef const fa_pr_table *t = <const fa_pr_table *>PyCapsule_GetPointer(capsule, FA_PR_CAPSULE_NAME)
    if t.version != FA_PR_VERSION:
        raise ImportError("fastact: PReLU kernel module does not match _prelu; rebuild")
    _tab = t
    return t.isa.decode()


def _current_isa():
    return None if _tab == NULL else _tab.isa.decode()


ctypedef struct plan:
    int rows                  # 0: run shape, 1: row shape
    int d                     # the table's index: 0 float32, 1 float64, 2 bfloat16, 3 float16
    Py_ssize_t isz            # of x, g, y
    Py_ssize_t wsz            # of w (float32 for a narrow x)
    char *x
    char *g                   # NULL: forward
    char *y                   # forward output or grad_x
    char *w                   # run shape: C weights; row shape: the expanded row (P)
    double *part              # backward partial sums
    Py_ssize_t n, C, inner
    # run shape
    Py_ssize_t nruns, group, nchunk
    # row shape
    Py_ssize_t P, V, nseg, rpb
    Py_ssize_t items


cdef void _item(const plan *p, Py_ssize_t u) noexcept nogil:
    cdef Py_ssize_t r, r0, r1, q, off, m, rb, s, j0, j1, v, v1, base, full
    cdef Py_ssize_t isz = p.isz
    cdef fa_pr_fwd_fn fwd
    cdef fa_pr_bwd_s_fn bs
    cdef fa_pr_bwd_v_fn bv
    if p.rows == 0:
        if p.nchunk == 1:
            r0 = u * p.group
            r1 = r0 + p.group
            if r1 > p.nruns:
                r1 = p.nruns
            if p.g == NULL:
                fwd = _tab.fwd_s[p.d]
                for r in range(r0, r1):
                    off = r * p.inner * isz
                    fwd(p.x + off, p.y + off, p.inner, p.w + (r % p.C) * p.wsz)
            else:
                bs = _tab.bwd_s[p.d]
                for r in range(r0, r1):
                    off = r * p.inner * isz
                    p.part[r] = bs(p.g + off, p.x + off, p.y + off, p.inner,
                                   p.w + (r % p.C) * p.wsz)
        else:
            r = u // p.nchunk
            q = u % p.nchunk
            m = p.inner - q * RUN_CHUNK
            if m > RUN_CHUNK:
                m = RUN_CHUNK
            off = (r * p.inner + q * RUN_CHUNK) * isz
            if p.g == NULL:
                _tab.fwd_s[p.d](p.x + off, p.y + off, m, p.w + (r % p.C) * p.wsz)
            else:
                p.part[u] = _tab.bwd_s[p.d](p.g + off, p.x + off, p.y + off, m,
                                            p.w + (r % p.C) * p.wsz)
    else:
        rb = u // p.nseg
        s = u % p.nseg
        j0 = s * SEG
        j1 = j0 + SEG
        if j1 > p.P:
            j1 = p.P
        v1 = (rb + 1) * p.rpb
        if v1 > p.V:
            v1 = p.V
        fwd = _tab.fwd_v[p.d]
        bv = _tab.bwd_v[p.d]
        v = rb * p.rpb
        if p.g != NULL:
            # the full rows of the item in one call (four rows per pass)
            full = v1
            if (full - 1) * p.P + j1 > p.n:
                full -= 1                   # the last period is partial
            if full > v:
                off = (v * p.P + j0) * isz
                bv(p.g + off, p.x + off, p.y + off, j1 - j0, p.w + j0 * p.wsz,
                   p.part + rb * p.P + j0, full - v, p.P)
                v = full
        for v in range(v, v1):
            base = v * p.P
            m = j1
            if m > p.n - base:
                m = p.n - base
            m -= j0
            if m <= 0:
                break
            off = (base + j0) * isz
            if p.g == NULL:
                fwd(p.x + off, p.y + off, m, p.w + j0 * p.wsz)
            else:
                bv(p.g + off, p.x + off, p.y + off, m, p.w + j0 * p.wsz,
                   p.part + rb * p.P + j0, 1, p.P)


cdef inline Py_ssize_t _cdiv(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return (a + b - 1) // b


cdef object _make_plan(plan *p, cnp.ndarray x, object g, cnp.ndarray y, cnp.ndarray w,
                       Py_ssize_t outer, Py_ssize_t C, Py_ssize_t inner):
    """Fill the plan; returns the arrays it points into (to keep alive)."""
    cdef Py_ssize_t R, k, lo, hi, sw
    cdef int t = cnp.PyArray_TYPE(x)
    p.d = 0 if t == cnp.NPY_FLOAT else 1 if t == cnp.NPY_DOUBLE else 2 + narrow_type(x)
    p.isz = cnp.PyArray_ITEMSIZE(x)
    p.wsz = cnp.PyArray_ITEMSIZE(w)
    p.x = <char *>cnp.PyArray_DATA(x)
    p.g = NULL if g is None else <char *>cnp.PyArray_DATA(<cnp.ndarray>g)
    p.y = <char *>cnp.PyArray_DATA(y)
    p.n = outer * C * inner
    p.C = C
    p.inner = inner
    p.part = NULL
    keep = w
    if inner >= RUN_MIN or C == 1:
        if C == 1:                      # one slope: a single run
            inner = p.n
            p.inner = inner
            outer = 1
        p.rows = 0
        p.w = <char *>cnp.PyArray_DATA(w)
        p.nruns = outer * C
        if inner <= RUN_CHUNK:
            p.nchunk = 1
            p.group = RUN_CHUNK // inner
            p.items = _cdiv(p.nruns, p.group)
        else:
            p.nchunk = _cdiv(inner, RUN_CHUNK)
            p.group = 1
            p.items = p.nruns * p.nchunk
    else:
        p.rows = 1
        R = C * inner
        k = PERIOD // R
        if k < 1:
            k = 1
        if k > outer:
            k = outer
        p.P = R * k
        if inner == 1 and k == 1:
            keep = w
        else:
            keep = np.empty(R * k, dtype=w.dtype)
            _expand(<const char *>cnp.PyArray_DATA(w), <char *>cnp.PyArray_DATA(<cnp.ndarray>keep),
                    C, inner, k, cnp.PyArray_ITEMSIZE(w))
        p.w = <char *>cnp.PyArray_DATA(<cnp.ndarray>keep)
        p.V = _cdiv(p.n, p.P)
        p.nseg = _cdiv(p.P, SEG)
        sw = SEG if p.P > SEG else p.P
        p.rpb = _cdiv(p.V * p.nseg, ITEMS_TARGET)
        lo = _cdiv(ITEM_MIN, sw)
        if p.rpb < lo:
            p.rpb = lo
        if p.rpb > ROWS_MAX:
            p.rpb = ROWS_MAX
        if p.rpb > p.V:
            p.rpb = p.V
        p.items = _cdiv(p.V, p.rpb) * p.nseg
    return keep


cdef void _expand(const char *w, char *out, Py_ssize_t C, Py_ssize_t inner, Py_ssize_t k,
                  Py_ssize_t isz) noexcept nogil:
    """The weight row of the channels-last loops: w[c] repeated `inner`
    times for each channel, the row repeated k times (np.tile(np.repeat())
    without the Python calls)."""
    cdef Py_ssize_t r, c, i, j = 0
    for r in range(k):
        for c in range(C):
            for i in range(inner):
                if isz == 4:
                    (<float *>out)[j] = (<const float *>w)[c]
                else:
                    (<double *>out)[j] = (<const double *>w)[c]
                j += 1


cdef void _pr_items(void *ctx, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    cdef Py_ssize_t u
    for u in range(i0, i1):
        _item(<const plan *>ctx, u)


cdef void _run(const plan *p) noexcept nogil:
    pool_run(_pr_items, <void *>p, p.items, p.n, GRAIN >> (p.d == 1), MIN_BLOCK)


def forward(cnp.ndarray x, cnp.ndarray y, cnp.ndarray w, Py_ssize_t outer, Py_ssize_t C,
            Py_ssize_t inner):
    """y = prelu(x): x, y C-contiguous (outer, C, inner), w C entries (or 1,
    then C must be 1), all of one native float dtype, or x and y of one
    narrow type (bfloat16, float16) and w float32."""
    if _tab == NULL:
        raise RuntimeError("fastact: PReLU kernels not installed")
    _check_types(x, y, w)
    cdef plan p
    if outer * C * inner == 0:
        return
    keep = _make_plan(&p, x, None, y, w, outer, C, inner)
    with nogil:
        _run(&p)


cdef int _check_types(cnp.ndarray x, cnp.ndarray y, cnp.ndarray w) except -1:
    """the dtypes the loops take (the caller prepares them; a wrong one
    would read memory as another type)"""
    cdef int t = cnp.PyArray_TYPE(x)
    cdef bint narrow = t != cnp.NPY_FLOAT and t != cnp.NPY_DOUBLE
    if narrow and narrow_type(x) < 0:
        raise TypeError(f"prelu kernels: no loop for dtype {x.dtype}")
    if cnp.PyArray_TYPE(y) != t or cnp.PyArray_TYPE(w) != (cnp.NPY_FLOAT if narrow else t):
        raise TypeError("prelu kernels: y must have x's dtype, w x's (float32 for a narrow x)")
    return 0


cdef inline bint _dense(object a):
    """a fast-path array (fastact._fast.fast_in), not empty"""
    return fast_in(a) and cnp.PyArray_SIZE(<cnp.ndarray>a) > 0


cdef bint _geometry(cnp.ndarray xa, cnp.ndarray wa, object axis, Py_ssize_t *outer,
                    Py_ssize_t *C, Py_ssize_t *inner):
    """x as (outer, C, inner) blocks of its channel axis, for a 1-D weight wa
    of x's dtype with 1 (shared) or C entries; a 1-D x uses axis 0.  False
    when axis is out of range or the weight does not fit."""
    cdef int nd = cnp.PyArray_NDIM(xa), i
    if cnp.PyArray_TYPE(wa) != cnp.PyArray_TYPE(xa) or cnp.PyArray_NDIM(wa) != 1:
        return False
    cdef Py_ssize_t ax = 0
    if nd > 1:
        try:
            ax = <Py_ssize_t>axis
        except OverflowError:                 # out of range: the general path's AxisError
            return False
        if ax < -nd or ax >= nd:
            return False
        if ax < 0:
            ax += nd
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(xa)
    cdef Py_ssize_t nw = cnp.PyArray_SIZE(wa)
    outer[0], C[0], inner[0] = 1, dims[ax], 1
    if nw != 1 and nw != C[0]:
        return False
    if nw == 1:
        C[0] = 1
        inner[0] = cnp.PyArray_SIZE(xa)
    else:
        for i in range(nd):
            if i < ax:
                outer[0] *= dims[i]
            elif i > ax:
                inner[0] *= dims[i]
    return True


def fast_forward(object x, object weight, object axis, object out):
    """prelu without the Python layer, for the common case: x and weight
    C-contiguous, aligned, native arrays of one float dtype (x with ndim >= 1,
    weight 1-D with 1 or x.shape[axis] entries), axis a Python int in range,
    out None or a C-contiguous writeable array of x's dtype and shape that is
    x itself or overlaps neither x nor weight.  Returns None when any of this
    does not hold: the caller then takes the general path (fastact._prelu_api),
    which also raises the errors."""
    if _tab == NULL or type(axis) is not int or not _dense(x) or not _dense(weight):
        return None
    cdef cnp.ndarray xa = <cnp.ndarray>x, wa = <cnp.ndarray>weight, oa
    cdef Py_ssize_t outer, C, inner
    if not _geometry(xa, wa, axis, &outer, &C, &inner):
        return None
    cdef int nd = cnp.PyArray_NDIM(xa), t = cnp.PyArray_TYPE(xa)
    if out is None:
        oa = cnp.PyArray_EMPTY(nd, cnp.PyArray_DIMS(xa), t, 0)
    else:
        if not out_fits(out, t, nd, cnp.PyArray_DIMS(xa)):
            return None
        oa = <cnp.ndarray>out
        if not disjoint_or_same(oa, xa, True) or not disjoint_or_same(oa, wa, False):
            return None
    cdef plan p
    keep = _make_plan(&p, xa, None, oa, wa, outer, C, inner)
    with nogil:
        _run(&p)
    return oa


def fast_backward(object g, object x, object weight, object axis):
    """prelu_backward without the Python layer, for the common case (g, x
    and weight as fast_forward takes x and weight, g of x's shape): returns
    (grad_x, grad_weight), or None (the general path, fastact._prelu_api)."""
    if (_tab == NULL or type(axis) is not int or not _dense(x) or not _dense(g)
            or not _dense(weight)):
        return None
    cdef cnp.ndarray xa = <cnp.ndarray>x, ga = <cnp.ndarray>g, wa = <cnp.ndarray>weight
    cdef int nd = cnp.PyArray_NDIM(xa), t = cnp.PyArray_TYPE(xa)
    if cnp.PyArray_TYPE(ga) != t or not dims_equal(ga, nd, cnp.PyArray_DIMS(xa)):
        return None
    cdef Py_ssize_t outer, C, inner
    if not _geometry(xa, wa, axis, &outer, &C, &inner):
        return None
    gx = cnp.PyArray_EMPTY(nd, cnp.PyArray_DIMS(xa), t, 0)
    gw = backward(ga, xa, gx, wa, outer, C, inner)
    if t == cnp.NPY_FLOAT:
        gw = _to_float32(gw)
    return gx, gw


cdef object _to_float32(cnp.ndarray a):
    """a (1-D float64) rounded to float32 by C casts: a sum beyond float32's
    range becomes +-inf without NumPy's overflow warning"""
    cdef cnp.ndarray r = cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(a), cnp.NPY_FLOAT, 0)
    cdef const double *s = <const double *>cnp.PyArray_DATA(a)
    cdef float *d = <float *>cnp.PyArray_DATA(r)
    cdef Py_ssize_t i
    for i in range(cnp.PyArray_SIZE(a)):
        d[i] = <float>s[i]
    return r


cdef inline void _kadd(double *s, double *c, double *plain, double v) noexcept nogil:
    cdef double yk = v - c[0]
    cdef double t = s[0] + yk
    c[0] = (t - s[0]) - yk
    s[0] = t
    plain[0] += v


def backward(cnp.ndarray g, cnp.ndarray x, cnp.ndarray gx, cnp.ndarray w, Py_ssize_t outer,
             Py_ssize_t C, Py_ssize_t inner):
    """gx = grad_x; returns grad_weight (float64, C entries) summed in double.
    Types as forward's (g of x's type)."""
    if _tab == NULL:
        raise RuntimeError("fastact: PReLU kernels not installed")
    _check_types(x, gx, w)
    if cnp.PyArray_TYPE(g) != cnp.PyArray_TYPE(x):
        raise TypeError("prelu backward: g must have x's dtype")
    cdef plan p
    cdef Py_ssize_t nres = C
    gw = np.zeros(nres, dtype=np.float64)
    if outer * C * inner == 0:
        return gw
    keep = _make_plan(&p, x, g, gx, w, outer, C, inner)
    cdef Py_ssize_t npart
    if p.rows == 0:
        npart = p.nruns * p.nchunk
    else:
        npart = _cdiv(p.V, p.rpb) * p.P
    part = np.zeros(npart, dtype=np.float64)
    p.part = <double *>cnp.PyArray_DATA(part)
    # raw pointers, not typed memoryviews: acquiring four of those cost
    # more than a small call's whole work
    cdef double *out = <double *>cnp.PyArray_DATA(<cnp.ndarray>gw)
    acc = np.zeros(3 * C, dtype=np.float64)
    cdef double *s = <double *>cnp.PyArray_DATA(<cnp.ndarray>acc)
    cdef double *c = s + C
    cdef double *pl = s + 2 * C
    cdef Py_ssize_t o, ch, q, rb, kk, i, j, nrb, nouter, R, k
    cdef double *pp = p.part
    with nogil:
        _run(&p)
        # fixed-order reduction of the partial sums (Kahan in double)
        if p.rows == 0:
            nouter = p.nruns // C
            for o in range(nouter):
                for ch in range(C):
                    for q in range(p.nchunk):
                        _kadd(&s[ch], &c[ch], &pl[ch], pp[(o * C + ch) * p.nchunk + q])
        else:
            nrb = _cdiv(p.V, p.rpb)
            R = C * inner
            k = p.P // R
            # channels innermost: C independent Kahan chains in flight (one
            # chain at a time waited on each add's latency); each channel
            # still sums its values in the same order (bitwise as before)
            for rb in range(nrb):
                for kk in range(k):
                    j = rb * p.P + kk * R
                    for i in range(inner):
                        for ch in range(C):
                            _kadd(&s[ch], &c[ch], &pl[ch], pp[j + ch * inner + i])
        for ch in range(C):
            out[ch] = s[ch] if isfinite(pl[ch]) else pl[ch]
    return gw
