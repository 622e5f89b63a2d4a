#!/usr/bin/env python3
"""Check a float32 gelu, tanh or tanhshrink kernel over every float32 input (all 2^32 bit patterns).

    python tools/f32_exhaustive.py [--func gelu|gelu_tanh|tanh|tanhshrink|softmax_exp]
                                   [--isa avx512] [--backward] [--stride 1]

gelu_tanh: the table's loops (fa_kernels.h: the staged loops), against a
float64 reference x / (1 + e^-2u), 2u = 2 sqrt(2/pi) (x + 0.044715 x^3) in
double (x^3 of a float is exact to 2^-53; e^-2u in double amplifies that by
|2u| <= 104 where the result is not 0), and bit for bit against the fused
per-element form (FA_STAGED's composition of the same stages): the count of
differing results is printed as "staged != fused".

softmax_exp: the softmax family's exponential on its fast range [-87, 0]
(the arguments x - max; the table form fa_ax_expt_v16 at the avx512
level, fa_ax_expn below), the inputs outside it skipped.

Compiles the float32 loops of fa_gelu_fwd_f / fa_gelu_bx_f (or the tanh /
tanhshrink forward: at the avx512 level the table-driven loop of
fa_tabpoly_v16.h, else fa_tanh_fwd_f / fa_tanhshrink_fwd_f) from src/fastact/include with the kernel flags of setup.py
and the ISA level's flags from _spec.ISA_LEVELS (nothing of the installed
package is used, so a header change is checked without a rebuild), runs
them on every float32 (or every --stride-th bit pattern) with OpenMP over
the cores, and compares with a float64 reference from libm (gelu = x
erfc(-x/sqrt2)/2, its derivative Phi(x) + x phi(x); the double rounding of
x/sqrt2 costs 2z^2 2^-53 relative, below 2^-44 where float32 gelu is not 0;
tanh from libm's double tanh, tanhshrink x - tanh x, its series below 1/4).  Prints the largest error in ulp of the
reference (the test suite's measure: the spacing at the reference,
subnormal spacing below), where it occurs, and the count of wrong special
values (NaN, inf, signed zeros); for tanh and tanhshrink also the count of
decreasing steps between neighbouring inputs (both are monotone).  For the gelu
backward it also prints the largest error outside [-0.85, -0.65], the zero
of gelu' near -0.7518 where any float evaluation loses its relative
accuracy (the tests accept an absolute floor there).

About 1.5 minutes for the whole range on 2 cores.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

SOURCE = r"""
#include "fa_math.h"
#include "fa_prefetch.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define FA_CAT_(a, b, c) a##b##c
#define FA_CAT(a, b, c) FA_CAT_(a, b, c)
#if FA_GT
/* gelu_tanh: the production loops of the kernel table, and the fused form
 * for the bitwise comparison */
#include "fa_kernels.h"
static void fwd(const float *x, float *y, long n) { fa_loop_gelu_tanh_fwd_f(x, y, n, 0); }
static void bwd(const float *x, float *y, long n)
{
    static __thread float *one;
    static __thread long cap;
    if (cap < n) { free(one); one = malloc(n * sizeof *one); cap = n; for (long i = 0; i < n; i++) one[i] = 1.0f; }
    fa_loop_gelu_tanh_bx_f(one, x, y, n, 0);
}
static float fused(float x, int back)
{
    return back ? fa_gelu_tanh_bx_f(1.0f, x, 0) : fa_gelu_tanh_fwd_f(x, 0);
}
#elif FA_SMEXP
/* the softmax family's exponential of x - max on its fast range [-87, 0]
 * (FA_AX_XLO, float32): the table form of the AVX-512 forwards, else
 * fa_ax_expn */
#include "fa_axis.h"
#define SM_XLO (-87.0)
static void fwd(const float *x, float *y, long n)
{
#if defined(__AVX512F__)
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = (__mmask16)(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, k, fa_ax_expt_v16(_mm512_maskz_loadu_ps(k, x + i)));
    }
#else
    _Pragma("omp simd") for (long i = 0; i < n; i++) y[i] = fa_ax_expn_f(x[i]);
#endif
}
#elif FA_MONO && defined(__AVX512F__)
#include "fa_tabpoly_v16.h"
static void fwd(const float *x, float *y, long n) { FA_CAT(fa_loop_, FA_FN, _fwd_f16)(x, y, n, 0); }
#elif FA_MONO
static void fwd(const float *x, float *y, long n)
{
    _Pragma("omp simd") for (long i = 0; i < n; i++) y[i] = FA_CAT(fa_, FA_FN, _fwd_f)(x[i], 0);
}
#else
static void fwd(const float *x, float *y, long n)
{
    _Pragma("omp simd") for (long i = 0; i < n; i++) y[i] = fa_gelu_fwd_f(x[i], 0);
}
#endif
#if !FA_GT
static void bwd(const float *x, float *y, long n)
{
#if FA_MONO
    (void)x; (void)y; (void)n;
#else
    _Pragma("omp simd") for (long i = 0; i < n; i++) y[i] = fa_gelu_bx_f(1.0f, x[i], 0);
#endif
}
#endif
static double reference(double xd, int back)
{
    (void)back;
#if FA_GT
    if (isinf(xd)) return back ? (xd > 0 ? 1.0 : 0.0) : (xd > 0 ? xd : -0.0);
    double c2 = 2 * 0.7978845608028654, u2 = c2 * (xd + 0.044715 * xd * xd * xd);
    double em = exp(-u2), s = 1 / (1 + em), sm = em / (1 + em);   /* sigmoid(2u), sigmoid(-2u) */
    if (!back) return xd * s;
    return s + xd * s * sm * c2 * (1 + 3 * 0.044715 * xd * xd);
#elif FA_SMEXP
    return exp(xd);
#elif FA_TANHSHRINK
    /* x - tanh x: its series below 1/4 (the difference cancels there) */
    if (fabs(xd) < 0.25) {
        static const double c[7] = {1.0 / 3, -2.0 / 15, 17.0 / 315, -62.0 / 2835,
                                    1382.0 / 155925, -21844.0 / 6081075, 929569.0 / 638512875};
        double s = xd * xd, p = 0;
        for (int k = 6; k >= 0; k--) p = p * s + c[k];
        return xd * s * p;
    }
    return isinf(xd) ? xd : xd - tanh(xd);
#elif FA_MONO
    return tanh(xd);
#else
    if (!back) return isinf(xd) ? (xd > 0 ? xd : -0.0) : xd * 0.5 * erfc(-xd * M_SQRT1_2);
    return isinf(xd) ? (xd > 0 ? 1.0 : 0.0)
           : 0.5 * erfc(-xd * M_SQRT1_2) + xd * exp(-0.5 * xd * xd) * 0.3989422804014327;
#endif
}
static double ulp_of(double r)
{
    double tiny = ldexp(1.0, -149);
    if (r == 0) return tiny;
    int e;
    frexp(fabs(r), &e);
    double u = ldexp(1.0, e - 24);
    return u < tiny ? tiny : u;
}
int main(int argc, char **argv)
{
    int back = atoi(argv[1]);
    unsigned long long step = strtoull(argv[2], 0, 0);
    const long C = 1 << 20;
    double worst = 0, worst_x = 0, wout = 0, wout_x = 0;
    long bad = 0, nonmono = 0, diff = 0;
    #pragma omp parallel
    {
        float *x = malloc(C * sizeof *x), *y = malloc(C * sizeof *y);
        double lw = 0, lx = 0, lo = 0, lox = 0;
        long lb = 0, lm = 0, ld = 0;
        #pragma omp for schedule(dynamic)
        for (unsigned long long base = 0; base < (1ull << 32); base += C * step) {
            long n = 0;
            for (unsigned long long b = base; n < C && b < (1ull << 32); b += step) {
                unsigned int u = (unsigned int)b;
                memcpy(&x[n++], &u, 4);
            }
            if (back) bwd(x, y, n); else fwd(x, y, n);
            for (long i = 0; i < n; i++) {
                double xd = x[i], ref;
#if FA_GT
                {
                    float f = fused(x[i], back);
                    ld += memcmp(&f, &y[i], sizeof f) != 0;
                }
#endif
                if (isnan(xd)) { lb += !isnan(y[i]); continue; }
#if FA_SMEXP
                if (!(xd >= SM_XLO && xd <= 0)) continue;
#endif
                /* ascending bits: ascending x for x >= +0, descending below */
                if (FA_MONO && step == 1 && i > 0 && !isnan(x[i - 1]) && x[i - 1] != 0 &&
                    (xd > 0 ? y[i] < y[i - 1] : y[i] > y[i - 1])) lm++;
                ref = reference(xd, back);
                if (isinf(ref) || isinf(y[i]) || isnan(y[i])) { lb += (double)y[i] != ref; continue; }
                if (!back && ref == 0 && y[i] == 0 && !signbit(ref) != !signbit(y[i])) lb++;
                double err = fabs((double)y[i] - ref) / ulp_of(ref);
                if (err > lw) { lw = err; lx = xd; }
                if ((xd < -0.85 || xd > -0.65) && err > lo) { lo = err; lox = xd; }
            }
        }
        #pragma omp critical
        {
            if (lw > worst) { worst = lw; worst_x = lx; }
            if (lo > wout) { wout = lo; wout_x = lox; }
            bad += lb;
            nonmono += lm;
            diff += ld;
        }
        free(x); free(y);
    }
    printf("%s %s float32, every %llu-th input: max %.3f ulp at x = %.9g (%a); wrong specials %ld",
           FA_LABEL, back ? "backward" : "forward", step, worst, worst_x,
           worst_x, bad);
    if (back) printf("; outside [-0.85, -0.65]: max %.3f ulp at x = %.9g", wout, wout_x);
    if (FA_MONO && step == 1) printf("; decreasing steps %ld", nonmono);
    if (FA_GT) printf("; staged != fused: %ld", diff);
    printf("\n");
    return bad != 0 || nonmono != 0 || diff != 0;
}
"""


def main():
    import setup
    from fastact import _spec
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--isa", default="avx512", choices=[lv.name for lv in _spec.ISA_LEVELS])
    ap.add_argument("--func", default="gelu",
                    choices=("gelu", "gelu_tanh", "tanh", "tanhshrink", "softmax_exp"))
    ap.add_argument("--backward", action="store_true", help="gelu and gelu_tanh only")
    ap.add_argument("--stride", type=int, default=1, help="check every N-th bit pattern")
    ap.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    a = ap.parse_args()
    isa = next(lv for lv in _spec.ISA_LEVELS if lv.name == a.isa)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "exhaustive.c"
        exe = Path(tmp) / "exhaustive"
        src.write_text(SOURCE)
        if a.func not in ("gelu", "gelu_tanh") and a.backward:
            ap.error("--backward: gelu and gelu_tanh only")
        mono = a.func in ("tanh", "tanhshrink")
        defs = [f"-DFA_MONO={int(mono)}", f"-DFA_TANHSHRINK={int(a.func == 'tanhshrink')}",
                f"-DFA_SMEXP={int(a.func == 'softmax_exp')}", f"-DFA_GT={int(a.func == 'gelu_tanh')}",
                f"-DFA_FN={a.func}", f'-DFA_LABEL="{a.func}"']
        cmd = [a.cc, *setup.KERNEL_FLAGS, *isa.flags, "-fopenmp", *defs,
               "-I", str(ROOT / "src" / "fastact" / "include"), str(src), "-o", str(exe), "-lm"]
        subprocess.run(cmd, check=True)
        return subprocess.run([str(exe), str(int(a.backward)), str(a.stride)]).returncode


if __name__ == "__main__":
    sys.exit(main())
