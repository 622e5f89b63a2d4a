/*
 * fa_pool.h -- fastact's one thread pool: the driver of every family
 * (elementwise, along an axis, PReLU), the thread setting and the
 * contention back-off.  Included by fastact/_fastact_pool.pyx alone, so the
 * process has exactly one copy of this state; the other compiled modules
 * reach it through that module's cdef functions (Cython's cross-module C
 * API).
 *
 * Design (why not OpenMP): an OpenMP parallel region ends in a barrier that
 * waits for every thread of the team, including a worker that the kernel
 * has not yet put on a core.  Between matrix products the cores are held by
 * another pool's idle threads (OpenBLAS, torch's OpenMP workers) or by
 * another process, and such a join cost a scheduler slice (milliseconds) on
 * a third of the calls of a NumPy MLP loop, 4-10x slower than one thread.
 * libgomp's pool also does not survive fork().  Here instead:
 *
 *   - A call publishes a job: a block function, its context and the number
 *     of blocks, packed with an epoch into one 64-bit claim word
 *     (epoch:32 | nblocks:16 | next:16).  Blocks are claimed one at a time
 *     by compare-and-swap on that word; a claim that sees another epoch or
 *     no block left fails, so a worker that wakes late finds nothing and
 *     goes back to waiting.
 *   - The calling thread always works: it claims blocks like any worker.
 *     When none is left it waits only for the blocks that workers have
 *     claimed (they are running), never for a worker that has not started.
 *   - An idle worker spins for a short, bounded time (FA_POOL_SPIN_NS,
 *     about 50 us, far below a scheduler slice, so that back-to-back calls
 *     find it awake), then sleeps on a futex (Linux; a condition variable
 *     elsewhere) and holds no core.
 *   - One job at a time: a call made while another thread's job is running
 *     (concurrent Python threads) runs on its own thread.
 *   - fork(): the child forgets the parent's workers (pthread_atfork) and
 *     starts its own on its first parallel call.
 *   - The thread setting is one process-wide integer: set_num_threads, the
 *     `with num_threads(n)` blocks and threadpoolctl (through the exported
 *     fastact_pool_get/set_num_threads) all read and write it.
 *
 * Results never depend on the thread count: the families cut their work
 * into items that do not depend on it, and reduce in a fixed order.
 */
#ifndef FASTACT_POOL_H
#define FASTACT_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if !defined(FASTACT_NO_THREADS) && (defined(__unix__) || defined(__APPLE__))
#define FA_POOL_THREADS 1
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif
#else
#define FA_POOL_THREADS 0
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FA_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define FA_PAUSE() __asm__ __volatile__("yield")
#else
#define FA_PAUSE() ((void)0)
#endif

/* run items [i0, i1) of a job */
typedef void (*fa_items_fn)(void *ctx, ptrdiff_t i0, ptrdiff_t i1);

#define FA_POOL_MAXT 256          /* threads at most (the caller included) */
#define FA_POOL_MAXB 65535        /* blocks per job at most (16 bits) */
#define FA_POOL_SPIN_NS 50000     /* an idle worker's spin before it sleeps */
#define FA_POOL_CL 64

#define FA_LOAD(p, m) __atomic_load_n((p), (m))
#define FA_STORE(p, v, m) __atomic_store_n((p), (v), (m))
#define FA_ADD(p, v, m) __atomic_add_fetch((p), (v), (m))
#define FA_RLX __ATOMIC_RELAXED
#define FA_ACQ __ATOMIC_ACQUIRE
#define FA_REL __ATOMIC_RELEASE
#define FA_SC __ATOMIC_SEQ_CST

static inline double fa_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static struct {
    /* the claim word and the done counter on lines of their own */
    uint64_t claim __attribute__((aligned(FA_POOL_CL)));
    ptrdiff_t done __attribute__((aligned(FA_POOL_CL)));
    uint32_t seq __attribute__((aligned(FA_POOL_CL)));   /* epoch; futex word */
    int sleepers;
    int active;                 /* workers 0 .. active-1 may join this job */
    fa_items_fn fn;
    void *ctx;
    ptrdiff_t nitems, per;      /* items, items per block */
    int busy __attribute__((aligned(FA_POOL_CL)));       /* a job is running */
    int setting;                /* the thread setting, >= 1 */
    int nworkers;               /* workers started in this process */
    int excl_cpu;               /* the CPU the workers are kept off (-1: none) */
    double bo_until, bo_win;    /* contention back-off */
    double bo_last;             /* serial time of the last call that did not stall */
    /* counters (for measurements; races make them approximate) */
    long n_par __attribute__((aligned(FA_POOL_CL))), n_serial_bo, n_busy, n_stall, blocks_total, blocks_workers;
#if FA_POOL_THREADS && !defined(__linux__)
    pthread_mutex_t mu;
    pthread_cond_t cv;
#endif
#if FA_POOL_THREADS
    pthread_t tid[FA_POOL_MAXT];
#endif
} fa_pool = {
    .setting = 1,
    .excl_cpu = -1,
#if FA_POOL_THREADS && !defined(__linux__)
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
#endif
};

/* ------------------------------------------------------------ settings */

static inline int fa_pool_have_threads(void) { return FA_POOL_THREADS; }

static inline int fa_pool_nworkers(void) { return fa_pool.nworkers; }

/* the counters, in this order: parallel calls, calls made serial by the
 * back-off, calls made serial because another thread's job was running,
 * parallel calls that stalled, blocks, blocks run by workers */
static inline void fa_pool_counters(long *c)
{
    c[0] = fa_pool.n_par; c[1] = fa_pool.n_serial_bo; c[2] = fa_pool.n_busy;
    c[3] = fa_pool.n_stall; c[4] = fa_pool.blocks_total; c[5] = fa_pool.blocks_workers;
}

static inline int fa_pool_threads(void) { return FA_LOAD(&fa_pool.setting, FA_RLX); }

static inline void fa_pool_set_threads(int n)
{
    if (n < 1) n = 1;
    if (n > FA_POOL_MAXT) n = FA_POOL_MAXT;
    if (!FA_POOL_THREADS) n = 1;
    FA_STORE(&fa_pool.setting, n, FA_RLX);
}

/* CPUs this process may run on (its affinity mask) */
static inline int fa_pool_cpus(void)
{
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int c = CPU_COUNT(&set);
        if (c > 0) return c;
    }
#endif
#if FA_POOL_THREADS
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
#else
    return 1;
#endif
}

/* The setting at start-up: OMP_NUM_THREADS (its first entry) when set to
 * a positive integer, else the CPUs of the affinity mask. */
static inline int fa_pool_default_threads(void)
{
    const char *s = getenv("OMP_NUM_THREADS");
    if (s != NULL && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (v >= 1 && (*end == '\0' || *end == ',' || *end == ' '))
            return v > FA_POOL_MAXT ? FA_POOL_MAXT : (int)v;
    }
    int c = fa_pool_cpus();
    return c > FA_POOL_MAXT ? FA_POOL_MAXT : c;
}

/* for threadpoolctl (a controller registered by fastact/_threads.py calls
 * these through ctypes) */
int fastact_pool_get_num_threads(void) { return fa_pool_threads(); }
void fastact_pool_set_num_threads(int n) { fa_pool_set_threads(n); }

/* --------------------------------------------------- contention back-off
 *
 * A call still waits for the blocks that workers claimed; if such a worker
 * loses its CPU in the middle of a block (another process busy there), the
 * call stalls for the scheduler's slice, milliseconds.  The calling thread
 * times the call: a stall is a call that waited more than FA_BO_WAIT after
 * its own last block and took longer than the calling thread alone would
 * have (its rate times every block).  After a stall, calls run on the
 * calling thread for a window of time: 16 times the smaller of this
 * call's serial time and the last unstalled call's (this call's estimate
 * may hold the stall: the calling thread can lose its CPU too), at least
 * 0.1 ms and at most 1 ms; doubling while the first parallel call after
 * each window stalls again (up to 250 ms), halving with each parallel call
 * that did not stall.  A window in time, not in calls:
 * a passing stall (the idle threads of another library's pool spinning
 * for a millisecond after its call) costs a millisecond of serial calls;
 * longer windows, tried, made every call after a switch between libraries
 * serial for up to seconds.  A heuristic: races on these doubles are
 * benign. */
#define FA_BO_WAIT 150e-6
#define FA_BO_MIN 1e-3
#define FA_BO_MAX 0.25
/* the first window: FA_BO_CALLS serial calls (as timed above), between
 * FA_BO_FLOOR and FA_BO_MIN, so that a stall that passes (a worker
 * descheduled once, which a shared machine does every ~50 ms) costs a
 * 10 us call about 16 serial calls, not 100 */
#define FA_BO_CALLS 16.0
#define FA_BO_FLOOR 100e-6

static int fa_backoff_off = 0;      /* FASTACT_NO_BACKOFF=1 (measurements) */

static inline int fa_backoff_serial(void)
{
    if (fa_backoff_off) return 0;
    double until = fa_pool.bo_until;
    if (until > 0.0) {
        if (fa_now() < until) return 1;
        fa_pool.bo_until = 0.0;
    }
    return 0;
}

static inline void fa_backoff_report(double t0, double t_main, ptrdiff_t n_main,
                                     ptrdiff_t nblocks, double t_end)
{
    if (n_main <= 0) return;
    double serial = (t_main - t0) * (double)nblocks / (double)n_main;
    if (t_end - t_main > FA_BO_WAIT && t_end - t0 > serial) {
        fa_pool.n_stall++;
        double ref = fa_pool.bo_last > 0.0 && fa_pool.bo_last < serial ? fa_pool.bo_last : serial;
        double lo = FA_BO_CALLS * ref;
        lo = lo < FA_BO_FLOOR ? FA_BO_FLOOR : (lo > FA_BO_MIN ? FA_BO_MIN : lo);
        double w = 2.0 * fa_pool.bo_win;
        w = w < lo ? lo : (w > FA_BO_MAX ? FA_BO_MAX : w);
        fa_pool.bo_win = w;
        fa_pool.bo_until = t_end + w;
    } else {
        fa_pool.bo_last = serial;
        fa_pool.bo_win = fa_pool.bo_win < 2.0 * FA_BO_FLOOR ? 0.0 : 0.5 * fa_pool.bo_win;
    }
}

static inline double fa_backoff_left(void)
{
    double left = fa_pool.bo_until - fa_now();
    return fa_pool.bo_until > 0.0 && left > 0.0 ? left : 0.0;
}
static inline double fa_backoff_len(void) { return fa_pool.bo_win; }

/* ------------------------------------------------------------- claiming */

#define FA_CLAIM(e, nb, nx) (((uint64_t)(e) << 32) | ((uint64_t)(nb) << 16) | (uint64_t)(nx))

/* claim the next block of job `epoch`; 0 when it is over (or another) */
static inline int fa_pool_claim(uint32_t epoch, ptrdiff_t *b)
{
    uint64_t c = FA_LOAD(&fa_pool.claim, FA_ACQ);
    for (;;) {
        if ((uint32_t)(c >> 32) != epoch) return 0;
        uint32_t nb = (uint32_t)(c >> 16) & 0xffffu, nx = (uint32_t)c & 0xffffu;
        if (nx >= nb) return 0;
        if (__atomic_compare_exchange_n(&fa_pool.claim, &c, c + 1, 1, FA_ACQ, FA_ACQ)) {
            *b = (ptrdiff_t)nx;
            return 1;
        }
    }
}

/* run block b of the current job (valid while b is claimed and not done) */
static inline void fa_pool_block(ptrdiff_t b)
{
    ptrdiff_t i0 = b * fa_pool.per, i1 = i0 + fa_pool.per;
    if (i1 > fa_pool.nitems) i1 = fa_pool.nitems;
    fa_pool.fn(fa_pool.ctx, i0, i1);
}

#if FA_POOL_THREADS

/* ---------------------------------------------------------- sleep, wake */

static inline void fa_pool_sleep(uint32_t seen)
{
#ifdef __linux__
    syscall(SYS_futex, &fa_pool.seq, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
#else
    pthread_mutex_lock(&fa_pool.mu);
    while (FA_LOAD(&fa_pool.seq, FA_SC) == seen)
        pthread_cond_wait(&fa_pool.cv, &fa_pool.mu);
    pthread_mutex_unlock(&fa_pool.mu);
#endif
}

static inline void fa_pool_wake(void)
{
#ifdef __linux__
    syscall(SYS_futex, &fa_pool.seq, FUTEX_WAKE_PRIVATE, FA_POOL_MAXT, NULL, NULL, 0);
#else
    pthread_mutex_lock(&fa_pool.mu);
    pthread_cond_broadcast(&fa_pool.cv);
    pthread_mutex_unlock(&fa_pool.mu);
#endif
}

/* wait for a job after `seen`: spin for a bounded time, then sleep */
static uint32_t fa_pool_wait(uint32_t seen, int spin)
{
    uint32_t s;
    if (spin) {
        double until = fa_now() + 1e-9 * FA_POOL_SPIN_NS;
        for (;;) {
            for (int i = 0; i < 64; i++) {
                s = FA_LOAD(&fa_pool.seq, FA_ACQ);
                if (s != seen) return s;
                FA_PAUSE();
            }
            if (fa_now() > until) break;
        }
    }
    FA_ADD(&fa_pool.sleepers, 1, FA_SC);
    while ((s = FA_LOAD(&fa_pool.seq, FA_SC)) == seen)
        fa_pool_sleep(seen);
    FA_ADD(&fa_pool.sleepers, -1, FA_SC);
    return s;
}

static void *fa_pool_worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    /* a job published before this thread ran is left to the others */
    uint32_t seen = FA_LOAD(&fa_pool.seq, FA_ACQ);
    int spin = 0;
    for (;;) {
        seen = fa_pool_wait(seen, spin);
        spin = 0;
        if (me >= FA_LOAD(&fa_pool.active, FA_ACQ)) continue;
        ptrdiff_t b;
        while (fa_pool_claim(seen, &b)) {
            fa_pool_block(b);
            FA_ADD(&fa_pool.done, 1, FA_REL);
        }
        spin = 1;
    }
    return NULL;
}

/* start workers up to `want` (the caller excluded); returns how many run */
static int fa_pool_grow(int want)
{
    if (want > FA_POOL_MAXT - 1) want = FA_POOL_MAXT - 1;
    if (fa_pool.nworkers >= want) return fa_pool.nworkers;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);   /* signals stay with Python */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (fa_pool.nworkers < want) {
        pthread_t t;
        if (pthread_create(&t, &attr, fa_pool_worker, (void *)(intptr_t)fa_pool.nworkers) != 0)
            break;
        fa_pool.tid[fa_pool.nworkers++] = t;
        fa_pool.excl_cpu = -1;          /* the new worker has every CPU */
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return fa_pool.nworkers;
}

/* Keep the workers off the CPU the calling thread runs on.  The caller
 * always works, so a worker woken onto its CPU (the scheduler's default
 * when the other CPUs look busy -- another pool's idle threads spinning
 * after a matrix product) only takes turns with it: the call then runs at
 * one CPU's speed with two threads' costs.  The workers' affinity is the
 * process's minus the caller's CPU, set again only when the caller's CPU
 * changes (one call per worker then; usually never). */
static cpu_set_t fa_pool_mask;        /* the process's CPUs at start-up */
static int fa_pool_mask_ok = 0;
static int fa_pool_affinity = 1;      /* FASTACT_POOL_AFFINITY=0 turns the rule off */

static inline void fa_pool_keep_off_caller(void)
{
#if defined(__linux__) && defined(CPU_COUNT)
    if (!fa_pool_mask_ok || !fa_pool_affinity)
        return;
    int cpu = sched_getcpu();
    if (cpu < 0 || cpu == fa_pool.excl_cpu || cpu >= CPU_SETSIZE)
        return;
    cpu_set_t m = fa_pool_mask;
    if (CPU_ISSET(cpu, &m) && CPU_COUNT(&m) > 1)
        CPU_CLR(cpu, &m);
    for (int i = 0; i < fa_pool.nworkers; i++)
        pthread_setaffinity_np(fa_pool.tid[i], sizeof(m), &m);
    fa_pool.excl_cpu = cpu;
#endif
}

static inline void fa_pool_read_mask(void)
{
#if defined(__linux__) && defined(CPU_COUNT)
    fa_pool_mask_ok = sched_getaffinity(0, sizeof(fa_pool_mask), &fa_pool_mask) == 0
                      && CPU_COUNT(&fa_pool_mask) > 1;
#endif
}

/* in a child after fork(): the parent's workers do not exist here */
static void fa_pool_atfork_child(void)
{
    fa_pool.nworkers = 0;
    fa_pool.excl_cpu = -1;
    fa_pool_read_mask();
    fa_pool.sleepers = 0;
    fa_pool.busy = 0;
    fa_pool.active = 0;
    fa_pool.claim = 0;
    fa_pool.done = 0;
    fa_pool.bo_until = 0.0;
    fa_pool.bo_win = 0.0;
#ifndef __linux__
    pthread_mutex_init(&fa_pool.mu, NULL);
    pthread_cond_init(&fa_pool.cv, NULL);
#endif
}

#endif /* FA_POOL_THREADS */

static inline void fa_pool_init(void)
{
    const char *nb = getenv("FASTACT_NO_BACKOFF");
    fa_backoff_off = nb != NULL && *nb && *nb != '0';
#if FA_POOL_THREADS
    const char *af = getenv("FASTACT_POOL_AFFINITY");
    fa_pool_affinity = !(af != NULL && *af == '0');
#endif
    fa_pool_set_threads(fa_pool_default_threads());
#if FA_POOL_THREADS
    fa_pool_read_mask();
    pthread_atfork(NULL, NULL, fa_pool_atfork_child);
#endif
}

/* ------------------------------------------------------------------ run
 *
 * Run fn over items [0, nitems), `work` elements in all: on the calling
 * thread when work < grain, the setting is 1, another job is running or
 * the back-off says so; else in blocks of items claimed by the calling
 * thread and up to (setting - 1) workers.  Blocks: about 8 per thread, at
 * least `min_block` elements (2 per thread while a block stays under
 * 65536 elements), whole items.  The split never changes a result (the
 * families' items do not depend on it). */
static void fa_pool_run(fa_items_fn fn, void *ctx, ptrdiff_t nitems, ptrdiff_t work,
                        ptrdiff_t grain, ptrdiff_t min_block)
{
    if (nitems <= 0) return;
    int nt = fa_pool_threads();
    if (work < grain || nt <= 1 || nitems < 2) {
        fn(ctx, 0, nitems);
        return;
    }
#if !FA_POOL_THREADS
    fn(ctx, 0, nitems);
    (void)min_block;
#else
    ptrdiff_t most = work / (grain / 2 + 1);
    if (nt > most) nt = (int)most;
    if (nt > nitems) nt = (int)nitems;
    int zero = 0;
    if (nt <= 1) {
        fn(ctx, 0, nitems);
        return;
    }
    if (fa_backoff_serial()) {
        fa_pool.n_serial_bo++;
        fn(ctx, 0, nitems);
        return;
    }
    if (!__atomic_compare_exchange_n(&fa_pool.busy, &zero, 1, 0, FA_ACQ, FA_RLX)) {
        fa_pool.n_busy++;
        fn(ctx, 0, nitems);
        return;
    }
    nt = 1 + fa_pool_grow(nt - 1);
    fa_pool_keep_off_caller();
    if (nt <= 1) {
        FA_STORE(&fa_pool.busy, 0, FA_REL);
        fn(ctx, 0, nitems);
        return;
    }
    /* block size in elements, then in whole items */
    ptrdiff_t bw = work / (8 * nt), b2 = work / (2 * nt);
    if (b2 > 65536) b2 = 65536;
    if (bw < b2) bw = b2;
    if (bw < min_block) bw = min_block;
    double item_work = (double)work / (double)nitems;
    ptrdiff_t per = (ptrdiff_t)((double)bw / item_work);
    if (per < 1) per = 1;
    ptrdiff_t nb = (nitems + per - 1) / per;
    if (nb > FA_POOL_MAXB) {
        per = (nitems + FA_POOL_MAXB - 1) / FA_POOL_MAXB;
        nb = (nitems + per - 1) / per;
    }
    if (nb < 2) {
        FA_STORE(&fa_pool.busy, 0, FA_REL);
        fn(ctx, 0, nitems);
        return;
    }
    /* publish: the fields, then the claim word (release), then the epoch */
    fa_pool.fn = fn;
    fa_pool.ctx = ctx;
    fa_pool.nitems = nitems;
    fa_pool.per = per;
    FA_STORE(&fa_pool.done, 0, FA_RLX);
    FA_STORE(&fa_pool.active, nt - 1, FA_RLX);
    uint32_t e = FA_LOAD(&fa_pool.seq, FA_RLX) + 1u;
    FA_STORE(&fa_pool.claim, FA_CLAIM(e, nb, 0), FA_REL);
    FA_STORE(&fa_pool.seq, e, FA_SC);
    if (FA_LOAD(&fa_pool.sleepers, FA_SC) > 0)
        fa_pool_wake();
    /* the calling thread works */
    double t0 = fa_now();
    ptrdiff_t mine = 0, b;
    while (fa_pool_claim(e, &b)) {
        fa_pool_block(b);
        mine++;
    }
    double t_main = fa_now();           /* the calling thread's blocks are done */
    /* then waits for the blocks that workers claimed (they are running) */
    ptrdiff_t others = nb - mine;
    for (long spins = 0; FA_LOAD(&fa_pool.done, FA_ACQ) != others; spins++) {
        if (spins < 4096) FA_PAUSE();
        else sched_yield();
    }
    fa_backoff_report(t0, t_main, mine, nb, fa_now());
    fa_pool.n_par++;
    fa_pool.blocks_total += nb;
    fa_pool.blocks_workers += nb - mine;
    FA_STORE(&fa_pool.busy, 0, FA_REL);
#endif
}

#endif
