"""What every command line shares: required flags and the one-line error contract.

The original's scripts are absl programs; ours are too, so `--flag=value`, `--flag value` and
`--noflag` all work. `@command(...)` wraps a `main(argv)` so that stray positional arguments,
missing required flags and any `InputError` end as one line on stderr and exit status 2.
`define_flags(OptionsClass)` makes every flag from an options dataclass (name, type, default,
help), so each flag is written once, beside the option it sets.
"""
from __future__ import annotations

import dataclasses
import functools
import sys

from absl import flags

from albert_nb.errors import InputError


def command(program: str, required: tuple[str, ...] = ()):
    def wrap(main):
        @functools.wraps(main)
        def guarded(argv):
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


# ------------------------------------------------------------------ flags from options
_DEFINE = {"str": "DEFINE_string", "int": "DEFINE_integer", "float": "DEFINE_float", "bool": "DEFINE_bool"}


def _flag_kind(field) -> str:
    """'str' | 'int' | 'float' | 'bool' from a field's annotation (`int | None` -> 'int')."""
    annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    for kind in ("bool", "int", "float", "str"):
        if kind in annotation.replace(" ", "").split("|"):
            return kind
    raise TypeError(f"option {field.name}: cannot make a flag of type {annotation!r}")


def define_flags(options_class, flag_values=None) -> None:
    """One absl flag per field of an options dataclass: name, type, default and help from the
    field (`albert_nb.training.options.option`), so flags and options cannot drift apart.
    Fields without a default become flags defaulting to None that `required_flags` names."""
    values = flag_values or flags.FLAGS
    for field in dataclasses.fields(options_class):
        default = None if field.default is dataclasses.MISSING else field.default
        help_text = field.metadata.get("help") or field.name
        enum = field.metadata.get("enum")
        if enum:
            flags.DEFINE_enum(field.name, default, list(enum), help_text, flag_values=values)
        else:
            getattr(flags, _DEFINE[_flag_kind(field)])(field.name, default, help_text,
                                                        flag_values=values)


def required_flags(options_class) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(options_class) if f.default is dataclasses.MISSING)


def options_from_flags(options_class, flag_values=None):
    """The options dataclass filled from the parsed flags."""
    values = flag_values or flags.FLAGS
    return options_class(**{f.name: getattr(values, f.name) for f in dataclasses.fields(options_class)})


def run_command(main, define) -> None:
    """`python -m albert_nb.<tool>`: define the flags, then let absl parse them and call main."""
    from absl import app

    define()
    app.run(main)
