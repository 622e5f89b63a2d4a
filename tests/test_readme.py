"""The README's training example runs and learns."""

from __future__ import annotations

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_training_example_learns():
    text = README.read_text()
    block = re.search(r"<!-- TRAINING-EXAMPLE-START -->\n```python\n(.*?)```", text, re.S)
    assert block, "the training example is missing from the README"
    ns: dict = {}
    exec(compile(block.group(1), "README training example", "exec"), ns)
    assert ns["loss"] < 0.35 and ns["accuracy"] > 0.9, (ns["loss"], ns["accuracy"])
