"""Render docs/numerics.md's function table from the spec and a measured ULP report.

    FASTACT_ULP_REPORT=/tmp/ulp.json python -m pytest tests/test_accuracy.py
    python tools/readme_tables.py /tmp/ulp.json
    python tools/readme_tables.py --api      # README.md's API reference table

Replaces the block between <!-- ULP-TABLE-START --> and <!-- ULP-TABLE-END -->
in docs/numerics.md: one row per elementwise/channel activation of
src/fastact/_spec.py with its parameters, formula and the largest forward and
backward error measured over every instruction-set level and parameter case
of the test suite (budgets in brackets).
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_spec():
    """The spec loaded by path through the code generator, as setup.py does
    (no build needed)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "_fastact_codegen", ROOT / "src" / "fastact" / "_codegen.py")
    codegen = importlib.util.module_from_spec(spec)
    sys.modules["_fastact_codegen"] = codegen
    spec.loader.exec_module(codegen)
    return codegen.load_spec()


def fmt(v):
    if v is None:
        return "-"
    return "0" if v == 0 else (f"{v:.2g}" if v < 10 else f"{v:.0f}")


def main(report_path):
    S = load_spec()
    rep = json.loads(Path(report_path).read_text())
    worst = {}
    for key, r in rep.items():
        isa, case, dt, which = key.split("|")
        name = case.split("-")[0]
        k = (name, dt, which)
        worst[k] = max(worst.get(k, 0.0), r["max_ulp"])
    rows = ["| function | params (defaults) | definition | max ulp fwd f32 / f64 [budget] "
            "| max ulp bwd f32 / f64 [budget] |", "| --- | --- | --- | --- | --- |"]
    for s in S.SPECS:
        if s.kind == "axis":
            continue
        params = ", ".join(p.name if p.required else f"{p.name}={p.default!r}"
                           for p in s.params) or ""
        if s.kind == "channel":
            params = "weight, axis=1"
        f = [worst.get((s.name, dt, "fwd")) for dt in ("float32", "float64")]
        b = [worst.get((s.name, dt, "bwd")) for dt in ("float32", "float64")]
        fb = f"{s.ulp[0]}/{s.ulp[1]}"
        rows.append(f"| `{s.name}` | {params} | {s.formula.replace('|', '&#124;')} | "
                    f"{fmt(f[0])} / {fmt(f[1])} [{fb}] | {fmt(b[0])} / {fmt(b[1])} [{s.bwd_ulp}] |")
    replace_block("ULP-TABLE", rows)


def replace_block(marker: str, lines, doc: str = "docs/numerics.md") -> None:
    """Replace the text of `doc` (under the project root) between
    <!-- MARKER-START --> and <!-- MARKER-END --> with these lines."""
    readme = ROOT / doc
    text = readme.read_text()
    start, end = f"<!-- {marker}-START -->", f"<!-- {marker}-END -->"
    a = text.index(start) + len(start)
    b = text.index(end)
    readme.write_text(text[:a] + "\n" + "\n".join(lines) + "\n" + text[b:])


def write_api_table() -> None:
    """README.md's API reference table, from the spec and the signatures."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "_fastact_codegen", ROOT / "src" / "fastact" / "_codegen.py")
    codegen = importlib.util.module_from_spec(spec)
    sys.modules["_fastact_codegen"] = codegen
    spec.loader.exec_module(codegen)
    replace_block("API-TABLE", codegen.render_api_table(codegen.load_spec()), "README.md")


if __name__ == "__main__":
    if sys.argv[1:] == ["--api"]:
        write_api_table()
        sys.exit(0)
    main(sys.argv[1])
