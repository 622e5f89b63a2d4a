/*
 * fa_cpu.h -- CPU features for the kernel dispatch (x86-64 only; other
 * architectures build only their baseline).  Levels: 0 baseline, 1 AVX2 +
 * FMA, 2 AVX-512 (F, DQ, BW, VL).
 */
#ifndef FASTACT_CPU_H
#define FASTACT_CPU_H

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

#endif
