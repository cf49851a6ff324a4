"""``python -m config PATH``: validate one configuration file, the first step of ``make synth``.

Prints nothing and exits 0 when the file is valid; otherwise prints the one-line error of
:func:`config.load_config` on stderr and exits 2. It loads no CDK, so it answers in a fraction of
a second, before ``cdk synth`` would print lines of its own around the app's error.
"""

from __future__ import annotations

import sys

from config.reader import ConfigError
from config.settings import load_config


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m config path/to/file.toml", file=sys.stderr)
        return 2
    try:
        load_config(argv[0])
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
