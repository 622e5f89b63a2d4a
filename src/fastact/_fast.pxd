# The checks of the C fast paths, shared by the drivers (_elementwise, _axis,
# _prelu): inline functions, cimported (no module of their own).  A fast
# path takes C-contiguous, aligned, native float32/float64 arrays and an out=
# that fits; anything else goes to the general (Python) path, which also
# raises the errors.

cimport numpy as cnp
from libc.stdint cimport uintptr_t


cdef inline bint fast_in(object a) noexcept:
    """A C-contiguous, aligned, native float32/float64 array with ndim >= 1."""
    if type(a) is not cnp.ndarray:
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    cdef int t = cnp.PyArray_TYPE(arr)
    return ((t == cnp.NPY_FLOAT or t == cnp.NPY_DOUBLE)
            and cnp.PyArray_NDIM(arr) > 0
            and cnp.PyArray_IS_C_CONTIGUOUS(arr)
            and cnp.PyArray_ISALIGNED(arr)
            and cnp.PyArray_ISNOTSWAPPED(arr))


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
