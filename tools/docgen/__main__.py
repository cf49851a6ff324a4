"""``python -m tools.docgen`` (make diagrams): regenerate the generated blocks of the docs (tools/docgen/cli.py)."""

from __future__ import annotations

import sys

from tools.docgen.cli import main

if __name__ == "__main__":
    sys.exit(main())
