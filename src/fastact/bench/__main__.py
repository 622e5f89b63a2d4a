import sys

from fastact.bench.cli import main

sys.exit(main())
