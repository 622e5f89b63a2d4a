/*
 * fa_omp.h -- OpenMP shim (the package builds and runs without OpenMP) and
 * the thread-count rule of fastact:
 *   - the count a call may use is omp_get_max_threads() of the calling
 *     thread, so OMP_NUM_THREADS and threadpoolctl.threadpool_limits work;
 *   - fastact.set_num_threads(n) sets it for the calling thread and records
 *     n with a generation number; any other Python thread adopts it on its
 *     next call (OpenMP's setting is per thread, fastact's is global).
 */
#ifndef FASTACT_OMP_H
#define FASTACT_OMP_H

#include <stddef.h>

#ifdef _OPENMP
#include <omp.h>
#define FA_HAVE_OPENMP 1
#else
#define FA_HAVE_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
static inline int omp_get_num_procs(void) { return 1; }
#endif

#if defined(_MSC_VER)
#define FA_TLS __declspec(thread)
#else
#define FA_TLS __thread
#endif

static int fa_global_threads = 0;
static volatile int fa_global_gen = 0;
static FA_TLS int fa_seen_gen = 0;

static inline int fa_have_openmp(void) { return FA_HAVE_OPENMP; }

/* threads the calling thread may use now */
static inline int fa_threads_now(void)
{
    int gen = fa_global_gen;
    if (gen != fa_seen_gen) {
        fa_seen_gen = gen;
        if (fa_global_threads > 0) omp_set_num_threads(fa_global_threads);
    }
    return omp_get_max_threads();
}

static inline void fa_set_threads(int n)
{
    fa_global_threads = n;
    fa_global_gen = fa_global_gen + 1;
    fa_seen_gen = fa_global_gen;
    omp_set_num_threads(n);
}

static inline int fa_num_procs(void) { return omp_get_num_procs(); }

#include <time.h>
/* monotonic seconds (for the contention back-off of the driver) */
static inline double fa_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU features for the kernel dispatch (x86-64 only; other architectures
 * build only their baseline). */
static inline int fa_cpu_supports(int level)
{
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (level == 1)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (level == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return level == 0;
#else
    return level == 0;
#endif
}

/* Contention back-off, shared by the drivers (_core, _axis, _prelu; one
 * state per extension module).  A parallel call waits for its slowest
 * thread; when a core is taken -- by another process, or for a moment by
 * the spinning idle workers of another thread pool in this process (torch's
 * OpenMP workers spin for about a millisecond after each of its calls) -- a
 * thread of ours that is descheduled while it holds a block stalls the
 * whole call for a scheduler time slice.  The calling thread times its own
 * blocks (fa_backoff_report): if the call took longer than it would have
 * taken alone (its measured rate times all the blocks), calls run on the
 * calling thread (fa_backoff_serial) for a window of time, which starts at
 * 1 ms, doubles (up to 250 ms) while each probe after a window stalls again
 * (a busy process), and halves with each parallel call that paid off.  A
 * window in time, not in calls: a transient stall costs a millisecond of
 * serial calls whatever their size, a lasting one a stall per window.  A
 * heuristic: races on these two doubles are benign. */
static double fa_bo_until = 0.0;    /* serial until this time (fa_now) */
static double fa_bo_win = 0.0;      /* current window, seconds */

static inline int fa_backoff_serial(void)
{
    if (fa_bo_until > 0.0) {
        if (fa_now() < fa_bo_until)
            return 1;
        fa_bo_until = 0.0;
    }
    return 0;
}

static inline void fa_backoff_report(double t0, double t_main, ptrdiff_t n_main,
                                     ptrdiff_t nblocks, double t_end)
{
    if (n_main <= 0)
        return;
    double serial = (t_main - t0) * (double)nblocks / (double)n_main;
    if (t_end - t0 > serial) {
        fa_bo_win = 2.0 * fa_bo_win + 1e-3;
        if (fa_bo_win > 0.25)
            fa_bo_win = 0.25;
        fa_bo_until = t_end + fa_bo_win;
    } else {
        fa_bo_win = fa_bo_win < 2e-3 ? 0.0 : 0.5 * fa_bo_win;
    }
}

/* seconds of serial calls left, and the current window (for tests) */
static inline double fa_backoff_left(void)
{
    double left = fa_bo_until - fa_now();
    return fa_bo_until > 0.0 && left > 0.0 ? left : 0.0;
}
static inline double fa_backoff_len(void) { return fa_bo_win; }

#endif
