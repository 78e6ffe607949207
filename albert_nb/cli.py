"""What every command line shares: required flags and the one-line error contract.

The original's scripts are absl programs; ours are too, so `--flag=value`, `--flag value` and
`--noflag` all work. `@command(...)` wraps a `main(argv)` so that stray positional arguments,
missing required flags and any `InputError` end as one line on stderr and exit status 2.
"""
from __future__ import annotations

import functools
import sys

from albert_nb.errors import InputError


def command(program: str, required: tuple[str, ...] = ()):
    def wrap(main):
        @functools.wraps(main)
        def guarded(argv):
            from absl import flags

            if len(argv) > 1:
                print(f"{program}: unexpected arguments {argv[1:]}", file=sys.stderr)
                sys.exit(2)
            try:
                for name in required:
                    if not getattr(flags.FLAGS, name):
                        raise InputError(f"--{name} is required")
                return main(argv)
            except InputError as err:
                print(f"InputError: {err}", file=sys.stderr)
                sys.exit(2)

        return guarded

    return wrap
