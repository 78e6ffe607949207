"""What every command line shares: required flags and the one-line error contract.

The original's scripts are absl programs; ours are too, so `--flag=value`, `--flag value` and
`--noflag` all work. `@command(...)` wraps a `main(argv)` so that stray positional arguments,
missing required flags, any `InputError` and operating-system errors on files (no permission,
disk full, a directory where a file belongs) end as one line on stderr and exit status 2;
`run_command(main, define_flags)` (instead of `absl.app.run(main)`) does the same for flag
errors absl finds while parsing (an unknown or misspelt flag, a bad value, an enum value outside the allowed set), which
absl itself reports with its usage text and status 1. `define_flags(OptionsClass)` makes every
flag from an options dataclass (name, type, default, help), so each flag is written once, beside
the option it sets.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import sys

from absl import app, flags, logging

from albert_nb import _quiet
from albert_nb.errors import InputError
from albert_nb.paths import BEST_NAME
from albert_nb.training import cluster, distribute

# TensorFlow's file errors (it raises its own types, not OSError); other TF errors are bugs and
# keep their traceback.
_TF_FILE_ERRORS = ("NotFoundError", "PermissionDeniedError", "ResourceExhaustedError",
                   "DataLossError", "AlreadyExistsError", "FailedPreconditionError")


def one_line(text: str) -> str:
    """The first non-empty line of an error message (TF messages carry stack dumps)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def fail(program: str, kind: str, message: str) -> None:
    print(f"{kind}: {one_line(message)}" if kind else f"{program}: {one_line(message)}",
          file=sys.stderr)
    sys.exit(2)


def _tf_file_error(err: BaseException) -> bool:
    tf_errors = sys.modules.get("tensorflow.python.framework.errors_impl")
    return (tf_errors is not None and isinstance(err, tf_errors.OpError)
            and type(err).__name__ in _TF_FILE_ERRORS)


def command(program: str, required: tuple[str, ...] = ()):
    def wrap(main):
        @functools.wraps(main)
        def guarded(argv):
            _quiet.quiet_absl()
            if len(argv) > 1:
                fail(program, "", f"unexpected arguments {argv[1:]}")
            try:
                for name in required:
                    if not getattr(flags.FLAGS, name):
                        raise InputError(f"--{name} is required")
                if "use_tpu" in flags.FLAGS and not (flags.FLAGS.use_tpu or flags.FLAGS.tpu_name):
                    # A training command (it has the TPU flags): join TF_CONFIG's cluster before
                    # TensorFlow runs anything else.
                    distribute.start_cluster()
                return main(argv)
            except cluster.WorkerDone as done:
                print(f"{program}: {done}", file=sys.stderr)
                sys.exit(0)
            except InputError as err:
                fail(program, "InputError", str(err))
            except OSError as err:
                fail(program, type(err).__name__, str(err))
            except Exception as err:
                records = sys.modules.get("albert_nb.pretraining.records")
                bad_record = records.record_error(err) if records is not None else None
                if bad_record is not None:
                    fail(program, "InputError", str(bad_record))
                if not _tf_file_error(err):
                    raise
                fail(program, type(err).__name__, err.message)

        guarded.program = program
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
    values = flags.FLAGS if flag_values is None else flag_values   # an empty FlagValues is falsy
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
    values = flags.FLAGS if flag_values is None else flag_values   # an empty FlagValues is falsy
    return options_class(**{f.name: getattr(values, f.name) for f in dataclasses.fields(options_class)})


def training_command(program: str, options_class, runner: str, options=None, extra_flags=None):
    """`(main, define_flags)` of a training CLI (run_pretraining, run_classifier, run_squad_v1/v2,
    run_race, ...): the flags of `options_class` plus --progress; `main` fills the options from
    the flags (or calls `options()`), calls `<runner>.run(opts, show_progress=...)` and prints
    `<runner>.report(result)` where the runner has one. `runner` is a module path imported inside
    `main`: deliberately lazy, so TensorFlow loads only once the flags are known to be good."""
    def define() -> None:
        define_flags(options_class)
        if extra_flags is not None:
            extra_flags()
        flags.DEFINE_bool("progress", True, "Show progress bars.")

    @command(program, required=required_flags(options_class))
    def main(argv) -> None:
        logging.set_verbosity(logging.WARNING)   # TF's per-save INFO lines would drown the bars
        module = importlib.import_module(runner)
        opts = options() if options is not None else options_from_flags(options_class)
        result = module.run(opts, show_progress=flags.FLAGS.progress)
        text = module.report(result) if hasattr(module, "report") else ""
        if text:
            print(text)

    return main, define


def define_export_flags(export_help: str, lower_case_help: str) -> None:
    """The flags the original's two export scripts share: the release read and what is written."""
    flags.DEFINE_string("albert_directory", None, "The config, checkpoint and vocab directory, or "
                        "a release name (albert_base_v2), downloaded once into the cache.")
    flags.DEFINE_string("export_path", None, export_help)
    flags.DEFINE_string("checkpoint_name", BEST_NAME, "Checkpoint name inside albert_directory.")
    flags.DEFINE_bool("do_lower_case", True, lower_case_help)


def run_command(main, define) -> None:
    """`python -m albert_nb.<tool>`: define the flags, then let absl parse them and call main
    (flag errors in one line, exit 2: see `parse_flags`)."""
    define()
    app.run(main, flags_parser=parse_flags(getattr(main, "program", "albert_nb")))


def parse_flags(program: str):
    """An absl `flags_parser` that reports a flag error in one line and exits 2."""
    def parser(argv):
        try:
            return flags.FLAGS(argv)
        except flags.Error as err:
            fail(program, "", f"flag error: {err} (see --help)")

    return parser
