#!/usr/bin/env bash
# Issue 3, target 4: fastact vs torch and a parallel copy at N = 1.6e7 on a
# many-core machine (e.g. 16 cores), float32 then float64, one report each.
# One prepared script: build in place, then run the benchmark.
#   bash benchmarks/scaling_16core.sh [OUT_DIR]      (THREADS=1,4,8,16 to change)
# Needs numpy, Cython, setuptools and (for the comparison) torch installed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-.}/scaling}"
THREADS="${THREADS:-1,8,16}"
mkdir -p "$OUT_DIR"
python3 setup.py build_ext --inplace -j "$(nproc)" >"$OUT_DIR/build.log" 2>&1
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
{ nproc; lscpu 2>/dev/null | grep -E 'Model name|^CPU\(s\)|Thread|Socket|NUMA node\(|L3' || true;
  python3 -c "import fastact; fastact.show_config()"; } | tee "$OUT_DIR/machine.txt"
for dt in float32 float64; do
    timeout "${BENCH_TIMEOUT:-300}" python3 -m fastact.bench --sizes 1.6e7 --threads "$THREADS" \
        --dtypes "$dt" --peers numpy,torch --no-progress --no-plots --out "$OUT_DIR/$dt" \
        || echo "bench $dt ended with status $?"
done
echo "reports: $OUT_DIR/float32/report.md $OUT_DIR/float64/report.md"
