#!/usr/bin/env bash
# Issue 3, target 4: fastact vs torch and a parallel copy at N = 1.6e7 on a
# many-core machine (e.g. 16 cores), 1..16 threads, float32 and float64.
# One prepared script: build in place, then run the report.
#   bash benchmarks/scaling_16core.sh [OUT_DIR]
# Needs numpy, Cython, setuptools and (for the comparison) torch installed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-${OUT:-.}/fastact-report-scaling}"
python3 setup.py build_ext --inplace -j "$(nproc)" >/dev/null
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
python3 -c "import fastact; fastact.show_config()"
python3 -m fastact.bench --sizes 1.6e7 --threads 1,2,4,8,16 --dtypes float32,float64 \
    --peers numpy,torch --no-progress --out "$OUT_DIR"
echo "report: $OUT_DIR/report.md"
