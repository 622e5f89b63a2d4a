# The checks of the C fast paths, shared by the drivers (_elementwise, _axis,
# _prelu): inline functions, cimported (no module of their own).  A fast
# path takes C-contiguous, aligned, native float32/float64 arrays (the
# elementwise family also float16 and bfloat16: fast_narrow) and an out=
# that fits; anything else goes to the general (Python) path, which also
# raises the errors.

cimport numpy as cnp
from libc.stdint cimport uintptr_t

cdef extern from *:
    """
    /* the type number of ml_dtypes' bfloat16 in this process: a dtype
     * registered at run time, so its number is learnt from the first array
     * of it seen (fast_narrow); -1 until then */
    static int fa_bf16_typenum = -1;
    """
    int fa_bf16_typenum
    int NPY_HALF          # (numpy's .pxd leaves these out)
    int NPY_USERDEF


cdef inline bint dense_native(cnp.ndarray arr) noexcept:
    """ndim >= 1, C-contiguous, aligned, native byte order"""
    return (cnp.PyArray_NDIM(arr) > 0
            and cnp.PyArray_IS_C_CONTIGUOUS(arr)
            and cnp.PyArray_ISALIGNED(arr)
            and cnp.PyArray_ISNOTSWAPPED(arr))


cdef inline bint fast_in(object a) noexcept:
    """A C-contiguous, aligned, native float32/float64 array with ndim >= 1."""
    if type(a) is not cnp.ndarray:
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int t = cnp.PyArray_TYPE(arr)
    return (t == cnp.NPY_FLOAT or t == cnp.NPY_DOUBLE) and dense_native(arr)


cdef inline int narrow_type(cnp.ndarray arr) noexcept:
    """The narrow type of an array's dtype as the kernels number them
    (include/fa_narrow.h): 1 float16, 0 bfloat16 (ml_dtypes'), -1 any other.
    bfloat16's type number is learnt from the first array of a user dtype
    that is bfloat16 (fastact._arrays.is_bfloat16: by the dtype, without
    importing ml_dtypes); later arrays compare the number only."""
    global fa_bf16_typenum
    cdef int t = cnp.PyArray_TYPE(arr)
    if t == NPY_HALF:
        return 1
    if t == fa_bf16_typenum:
        return 0
    if t >= NPY_USERDEF and fa_bf16_typenum < 0:
        try:
            from fastact._arrays import is_bfloat16
            if is_bfloat16(arr.dtype):
                fa_bf16_typenum = t
                return 0
        except Exception:       # not a fast-path array then: the general path decides
            pass
    return -1


cdef inline int fast_narrow(object a) noexcept:
    """For a C-contiguous, aligned, native array with ndim >= 1: -1 float32
    or float64, 0 bfloat16, 1 float16; -2 for anything else (the general
    path's inputs)."""
    if type(a) is not cnp.ndarray:
        return -2
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int t = cnp.PyArray_TYPE(arr), nw = -1
    if not dense_native(arr):
        return -2
    if t != cnp.NPY_FLOAT and t != cnp.NPY_DOUBLE:
        nw = narrow_type(arr)
        if nw < 0:
            return -2
    return nw


cdef inline bint dims_equal(cnp.ndarray a, int nd, const cnp.npy_intp *dims) noexcept:
    """a has nd dimensions of these lengths"""
    cdef int i
    if cnp.PyArray_NDIM(a) != nd:
        return False
    for i in range(nd):
        if cnp.PyArray_DIMS(a)[i] != dims[i]:
            return False
    return True


cdef inline bint out_fits(object out, int t, int nd, const cnp.npy_intp *dims) noexcept:
    """out is a C-contiguous, aligned, native, writeable array of type t and
    shape dims (overlap with the inputs is checked apart)"""
    if type(out) is not cnp.ndarray:
        return False
    cdef cnp.ndarray o = <cnp.ndarray>out
    return (cnp.PyArray_TYPE(o) == t
            and cnp.PyArray_IS_C_CONTIGUOUS(o)
            and cnp.PyArray_ISALIGNED(o)
            and cnp.PyArray_ISNOTSWAPPED(o)
            and cnp.PyArray_ISWRITEABLE(o)
            and dims_equal(o, nd, dims))


cdef inline bint disjoint_or_same(cnp.ndarray o, cnp.ndarray a, bint same_ok) noexcept:
    """The memory of o and a does not overlap, or (same_ok: two C-contiguous
    arrays of one shape and dtype) it is the very same (an in-place call)."""
    cdef uintptr_t po = <uintptr_t>cnp.PyArray_DATA(o), pa = <uintptr_t>cnp.PyArray_DATA(a)
    if same_ok and po == pa:
        return True
    return (po + <uintptr_t>cnp.PyArray_NBYTES(o) <= pa
            or pa + <uintptr_t>cnp.PyArray_NBYTES(a) <= po)
