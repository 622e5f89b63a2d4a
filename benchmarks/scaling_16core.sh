#!/usr/bin/env bash
# Many cores: fastact vs torch and a parallel copy at N = 1.6e7 on a
# many-core machine (e.g. 16 cores), float32 and float64.  One prepared
# script: build in place, then one benchmark run per (thread count, dtype),
# the most important first (16 threads), each under a timeout, so that a
# run cut short still returns what it finished.  Everything ends up in
# OUT_DIR and in OUT_DIR.tar.gz.
#   bash benchmarks/scaling_16core.sh [OUT_DIR]   (THREADS="16 1 8", PEERS=torch to change)
# Needs numpy, Cython, setuptools and (for the comparison) torch installed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-.}/scaling}"
THREADS="${THREADS:-16 1 8}"
mkdir -p "$OUT_DIR"
pack() { tar -czf "$OUT_DIR.tar.gz" -C "$(dirname "$OUT_DIR")" "$(basename "$OUT_DIR")"; }
trap pack EXIT
python3 setup.py build_ext --inplace -j "$(nproc)" >"$OUT_DIR/build.log" 2>&1 || {
    tail -30 "$OUT_DIR/build.log"; exit 1; }
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
{ nproc; lscpu 2>/dev/null | grep -E 'Model name|^CPU\(s\)|Thread|Socket|NUMA node\(|L3' || true;
  python3 -c "import fastact; fastact.show_config()"; } | tee "$OUT_DIR/machine.txt"
for t in $THREADS; do
    for dt in float32 float64; do
        SECONDS=0
        timeout "${BENCH_TIMEOUT:-90}" python3 -m fastact.bench --sizes 1.6e7 --threads "$t" \
            --dtypes "$dt" --peers "${PEERS:-numpy,torch}" --no-progress --no-plots \
            --out "$OUT_DIR/t$t-$dt" >"$OUT_DIR/t$t-$dt.log" 2>&1
        echo "threads $t $dt: status $? in ${SECONDS}s"
        pack
    done
done
