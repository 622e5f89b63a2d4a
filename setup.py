"""Build of fastact's compiled core.

* Renders the generated sources from src/fastact/_spec.py (the one table of
  activations) through src/fastact/_codegen.py: include/fa_list.h, _elementwise.pyx
  (from _elementwise.pyx.tp), one _kernels_<isa>.pyx and the family C files per
  instruction-set level, and the type stubs (__init__.pyi).  Generated files
  carry a "do not edit" banner and are not committed.
* Builds the kernels once per instruction-set level (x86-64: baseline SSE2,
  AVX2+FMA, AVX-512; other architectures: their baseline).  The best level
  the CPU supports is chosen at import (fastact/_dispatch.py).  Never
  -march=native: a build runs on any CPU of its architecture.
* Threads: fastact's own pool (include/fa_pool.h, POSIX threads), compiled
  into fastact._fastact_pool; no OpenMP runtime is linked (the kernels use
  `omp simd` pragmas through -fopenmp-simd, which needs none).
  FASTACT_NO_THREADS=1 builds it serial.

Environment knobs (for development):
  FASTACT_NO_THREADS=1         build without the thread pool (one thread)
  FASTACT_BUILD_ISAS=a,b       build only these levels (default: all)
"""

import os
import platform
import subprocess
import sys
import sysconfig
import warnings
import importlib.util
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
PKG = HERE / "src" / "fastact"
INC = PKG / "include"


def load_codegen():
    spec = importlib.util.spec_from_file_location("_fastact_codegen", PKG / "_codegen.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_fastact_codegen"] = mod
    spec.loader.exec_module(mod)
    return mod


def is_x86_64():
    m = platform.machine().lower()
    return m in ("x86_64", "amd64", "x64")


# Flags of every kernel module.  No -ffast-math: it assumes no NaN/inf and
# re-associates the range reductions.  -ffp-contract=off: every FMA is
# explicit, so results do not depend on the vector width or thread split.
KERNEL_FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math",
                "-fopenmp-simd"]
CORE_FLAGS = ["-O2"]


def compiler_version():
    cc = sysconfig.get_config_var("CC") or "cc"
    try:
        out = subprocess.run(cc.split() + ["--version"], capture_output=True, text=True,
                             timeout=30).stdout
        return out.splitlines()[0].strip()
    except Exception:  # noqa: BLE001
        return cc


def main():
    codegen = load_codegen()
    spec = codegen.load_spec()
    # instruction-set levels: _spec.ISA_LEVELS (name, flags, CPU features)
    isa_flags = codegen.isa_flags(spec)
    isas = codegen.isa_names(spec, is_x86_64())
    only = os.environ.get("FASTACT_BUILD_ISAS")
    if only:
        isas = [i for i in isas if i in only.split(",")] or ["baseline"]
    codegen.generate(isas)

    threads = os.environ.get("FASTACT_NO_THREADS", "") in ("", "0") and os.name == "posix"
    if not threads:
        warnings.warn("fastact: building WITHOUT the thread pool; kernels run on one thread")

    include_dirs = [str(INC), np.get_include()]
    headers = sorted(str(p.relative_to(HERE)) for p in INC.glob("*.h"))
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    pool_macros = [] if threads else [("FASTACT_NO_THREADS", "1")]
    pool_flags = ["-pthread"] if threads else []
    exts = [Extension("fastact._fastact_pool", ["src/fastact/_fastact_pool.pyx"],
                      include_dirs=include_dirs, define_macros=pool_macros, depends=headers,
                      extra_compile_args=CORE_FLAGS + pool_flags, extra_link_args=pool_flags),
            Extension("fastact._elementwise", ["src/fastact/_elementwise.pyx"], include_dirs=include_dirs,
                      define_macros=macros, depends=headers, extra_compile_args=CORE_FLAGS)]
    # Families with a driver module of their own (baseline flags) and
    # C kernels compiled per instruction-set level in a translation unit of
    # their own (GCC stops inlining fa_exp when they share one with the
    # elementwise loops), linked into the per-level module, which exports
    # their table (include/fa_<family>.h):
    #   axis  -- the along-axis family (softmax, logsumexp, GLU, ...)
    #   prelu -- the per-channel PReLU
    family_c = {isa: [f"src/fastact/_{fam}_kernels_{isa}.c" for fam in codegen.FAMILY_C]
                for isa in isas}
    for fam in codegen.FAMILY_C:
        exts.append(Extension(f"fastact._{fam}", [f"src/fastact/_{fam}.pyx"],
                              include_dirs=include_dirs, define_macros=macros, depends=headers,
                              extra_compile_args=KERNEL_FLAGS + isa_flags["baseline"]))
    for isa in isas:
        exts.append(Extension(f"fastact._kernels_{isa}",
                              [f"src/fastact/_kernels_{isa}.pyx"] + family_c[isa],
                              include_dirs=[str(INC)],
                              define_macros=[("FA_ISA_NAME", f'"{isa}"')], depends=headers,
                              extra_compile_args=KERNEL_FLAGS + isa_flags[isa]))

    info = {
        "threads": threads,
        "isas": isas,
        "isa_flags": {i: isa_flags[i] for i in isas},
        "kernel_flags": KERNEL_FLAGS,
        "compiler": compiler_version(),
        "machine": platform.machine(),
    }
    codegen.write_if_changed(PKG / "_build_info.py",
                             "# GENERATED by setup.py -- do not edit\nBUILD = " + repr(info) + "\n")

    setup(
        ext_modules=cythonize(exts, language_level=3,
                              compiler_directives={"embedsignature": True}),
    )


if __name__ == "__main__":
    main()
