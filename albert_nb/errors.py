"""One exception type for bad input, so every CLI and notebook can show one clear line.

`InputError` subclasses `ValueError` so callers that already catch ValueError keep working.
The message must name the file, flag or value and say what was expected.
"""
import os
import sys


class InputError(ValueError):
    """Bad user input: a missing or malformed file, a wrong flag, a shape or vocab mismatch."""


def require_file(path, what: str = "file") -> str:
    """Return `path` as str if it is an existing file, else raise InputError naming it."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{what} not found: {path!r} (expected an existing file)")
    return path


def warn(message: str) -> None:
    """One warning line on stderr, in the same shape as the CLIs' error line."""
    print(f"Warning: {message}", file=sys.stderr, flush=True)
