"""Every public function's outputs, on every instruction-set level this
machine runs, hash as recorded in golden_hashes.json (tools/golden.py): a
refactor meant to change no result changes none.  A change meant to change
results records the file anew (`python tools/golden.py --write`) in the same
commit and says why.  The hashes are those of the release build's code: a
build with other flags (the sanitizers') may vectorize a float64 row sum in
another order, and tools/sanitize.sh leaves this test out."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import golden  # noqa: E402


def test_outputs_match_the_recorded_hashes():
    want = json.loads(golden.PATH.read_text())
    got = golden.compute()
    common = [k for k in got if k in want]
    assert len(common) >= len(got) // 2, "few recorded hashes apply to this machine"
    bad = [k for k in common if want[k] != got[k]]
    assert not bad, f"{len(bad)} outputs changed, e.g. {bad[:10]}"
