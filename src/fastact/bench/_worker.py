"""One process group of ``fastact.bench`` (see runner.GROUPS): reads a spec
file, runs fastact and the named peers side by side, writes the figures as
JSON; progress lines "P <what>" on stdout."""

import json
import sys

from fastact.bench.runner import Config, run_group


def main(path: str) -> int:
    with open(path) as f:
        spec = json.load(f)
    config = Config.from_dict(spec["config"])

    def progress(desc):
        print("P " + desc, flush=True)

    data = run_group(config, spec["peers"], spec["limits"], progress)
    with open(spec["out"], "w") as f:
        json.dump(data, f, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
