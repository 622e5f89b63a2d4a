"""fastact's benchmark report: ``python -m fastact.bench [--quick | --full]``.

Runs every activation of ``fastact.ACTIVATIONS`` (forward and backward)
against NumPy and, where installed, torch, SciPy, numexpr and onnxruntime,
and writes report.md, results.json and PNG plots.  From Python::

    from fastact.bench import run, default_config
    data = run(default_config("quick", functions=("sigmoid",)))

The modules: ``cases`` (what is measured, from the registry), ``peers``
(how each library computes each function), ``timing``, ``runner``,
``report``, ``plots``, ``cli``.
"""

from fastact.bench.runner import Config, default_config, run

__all__ = ["Config", "default_config", "run", "main"]


def main(argv=None) -> int:
    from fastact.bench.cli import main as _main
    return _main(argv)
