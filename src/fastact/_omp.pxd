# Declarations of include/fa_omp.h (the OpenMP shim, the thread rule, the
# CPU feature checks and the contention back-off) for the Cython drivers.

cdef extern from "fa_omp.h":
    int fa_have_openmp() noexcept nogil
    int fa_threads_now() noexcept nogil
    void fa_set_threads(int n) noexcept nogil
    int fa_num_procs() noexcept nogil
    int fa_cpu_supports(int level) noexcept nogil
    double fa_now() noexcept nogil
    int fa_backoff_serial() noexcept nogil
    void fa_backoff_report(double t0, double t_main, Py_ssize_t n_main, Py_ssize_t nblocks,
                           double t_end) noexcept nogil
    double fa_backoff_left() noexcept nogil
    double fa_backoff_len() noexcept nogil
