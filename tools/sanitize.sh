#!/usr/bin/env bash
# Sanitizer job: build fastact with AddressSanitizer + UndefinedBehaviorSanitizer
# into its own virtual environment and run the test suite under it.  Fails on
# any sanitizer report (and on any test failure).
#
#   bash tools/sanitize.sh                 # the whole test suite
#   bash tools/sanitize.sh -x tests/test_api.py    # pytest arguments
#
# Environment:
#   FASTACT_ASAN_VENV   the virtual environment  (default /tmp/fastact-asan-venv,
#                       created once, reused; FASTACT_ASAN_FRESH=1 recreates it)
#   FASTACT_ASAN_BUILD  where the sources are copied and built
#                       (default /tmp/fastact-asan-build; the work tree is untouched)
#   FASTACT_BUILD_ISAS  instruction-set levels to build (default: all of them)
#   PYTHON              the interpreter for the environment (default python3)
#   JOBS                parallel compile jobs (default 2)
#
# Notes: CPython itself is not instrumented; libasan is preloaded so that it
# comes first.  Leak detection is off (CPython keeps memory at exit: use
# tools/leakcheck.py for leaks); every other ASan and UBSan check halts the
# process with a report, which is also written under $FASTACT_ASAN_BUILD/reports.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${FASTACT_ASAN_VENV:-/tmp/fastact-asan-venv}"
BUILD="${FASTACT_ASAN_BUILD:-/tmp/fastact-asan-build}"
PY="${PYTHON:-python3}"
JOBS="${JOBS:-2}"
CC="${CC:-gcc}"

LIBASAN="$("$CC" -print-file-name=libasan.so)"
if [ ! -e "$LIBASAN" ]; then
    echo "sanitize.sh: libasan.so not found (install gcc's libasan)" >&2
    exit 2
fi

# --- the environment (no system site packages)
if [ "${FASTACT_ASAN_FRESH:-0}" != 0 ]; then rm -rf "$VENV"; fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip >/dev/null
python -m pip install -q "numpy>=2" "Cython>=3" setuptools pytest hypothesis mpmath threadpoolctl

# --- a copy of the project's files (tracked and new, not ignored ones)
rm -rf "$BUILD"
mkdir -p "$BUILD/reports"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$ROOT" && xargs -0 cp --parents -t "$BUILD" 2>/dev/null || true)
# files deleted in the work tree but still in the index are simply missing

# --- the instrumented build
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
echo "sanitize.sh: building in $BUILD with $SAN (levels: ${FASTACT_BUILD_ISAS:-all})"
t0=$SECONDS
(cd "$BUILD" && CFLAGS="$SAN" LDFLAGS="-fsanitize=address,undefined" \
    python setup.py -q build_ext -i -j "$JOBS" >"$BUILD/reports/build.log" 2>&1) || {
    tail -30 "$BUILD/reports/build.log"; echo "sanitize.sh: build failed" >&2; exit 2; }
echo "sanitize.sh: built in $((SECONDS - t0)) s"
if ! nm -D "$(ls "$BUILD"/src/fastact/_elementwise*.so | head -1)" | grep __asan >/dev/null; then  # not -q: nm must not die of SIGPIPE under pipefail
    echo "sanitize.sh: the extension is not instrumented" >&2
    exit 2
fi

# --- the tests under the sanitizers
export LD_PRELOAD="$LIBASAN"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=$BUILD/reports/asan:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$BUILD/reports/ubsan"
export PYTHONPATH="$BUILD/src"
export PYTHONFAULTHANDLER=1
status=0
# The golden hashes are those of the release build: instrumented code may
# vectorize a float64 row sum differently (another order, other last bits),
# so that one comparison is left out here.
(cd "$BUILD" && python -m pytest -q -p no:cacheprovider \
    --deselect tests/test_golden.py::test_outputs_match_the_recorded_hashes "${@:-tests}") || status=$?
unset LD_PRELOAD

reports=$(ls "$BUILD"/reports/asan* "$BUILD"/reports/ubsan* 2>/dev/null || true)
if [ -n "$reports" ]; then
    for r in $reports; do echo "=== $r"; head -60 "$r"; done
    echo "sanitize.sh: FAILED: sanitizer report(s) above" >&2
    exit 1
fi
if [ "$status" != 0 ]; then
    echo "sanitize.sh: FAILED: the test suite exited with $status under the sanitizers" >&2
    exit "$status"
fi
echo "sanitize.sh: OK: no AddressSanitizer or UndefinedBehaviorSanitizer report"
