"""fastact in a pipeline: a NumPy MLP loop, the same loop with torch.mm, and
calls beside a busy core, at 1 and 2 threads, with torch's own functions in
the same loops.

    python benchmarks/pipelines.py [--quick] [--json FILE]

Prints the Markdown tables of the report's "Pipelines" section (see
fastact/bench/pipelines.py for the cases).  A benchmark, not a test.
"""
import sys

from fastact.bench.pipelines import main

if __name__ == "__main__":
    sys.exit(main())
