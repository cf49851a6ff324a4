"""``python -m tools.rehearsal``: the offline deploy rehearsal (``make rehearse``; see docs/rehearsal.md)."""

from __future__ import annotations

import sys

from tools.rehearsal.rehearse import main

if __name__ == "__main__":
    sys.exit(main())
