"""Keep TensorFlow's start-up noise off the user's stderr, in CLIs and notebook kernels alike.

What can be set is set before TensorFlow loads (`TF_CPP_MIN_LOG_LEVEL=3` hides C++ INFO,
WARNING and ERROR lines such as "failed call to cuInit" on a machine without a GPU). What cannot
be set is filtered: this release's C++ libraries print a banner through absl *before* the log
level is read ("WARNING: All log messages before absl::InitializeLog() ...", "oneDNN custom
operations are on", "Could not find cuda drivers"), twice, straight to file descriptor 2. So
the first `import tensorflow` runs with descriptor 2 pointed at a temporary file, and afterwards
every captured line that is not such a banner line is written back to the real stderr, in order.
Python warnings that TensorFlow Hub raises on import (`pkg_resources is deprecated`) are
silenced the same way: only for that import, only that category.

`install()` runs on `import albert_nb`, so anything that imports our package first (the CLIs,
the notebooks' first cell) starts quiet. A user who wants the C++ logs back sets
`TF_CPP_MIN_LOG_LEVEL` themselves; we only set a default.
"""
from __future__ import annotations

import contextlib
import importlib.machinery
import os
import re
import sys
import tempfile
import warnings

# absl and logging are imported inside the functions (deliberately lazy): this module must run
# before anything else has loaded them, so that its settings take effect.

ENVIRONMENT = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}

# A C++ absl/glog line: severity letter, date, time, thread id, file.cc:line] message.
_BANNER = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]\d{4} [\d:.]+ +\d+ (port|cudart_stub|cuda_platform|cuda_executor|cpu_feature_guard"
    rb"|cuda_dnn|cuda_fft|cuda_blas|cuda_diagnostics)\.cc:\d+\].*"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)"
    rb"\r?$")
_QUIET_MODULES = ("tensorflow", "tensorflow_hub")


def is_banner(line: bytes) -> bool:
    return bool(_BANNER.match(line))


def filter_banner(data: bytes) -> bytes:
    """`data` without TensorFlow's start-up banner lines (everything else kept, in order)."""
    return b"".join(line for line in data.splitlines(keepends=True)
                    if not is_banner(line.rstrip(b"\n")))


@contextlib.contextmanager
def banner_filtered_stderr():
    """Point descriptor 2 at a temporary file for the block, then replay it minus the banner."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):   # no usable descriptor 2 (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
                warnings.filterwarnings("ignore", category=DeprecationWarning,
                                        message=".*pkg_resources.*")
                yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = filter_banner(capture.read())
            if kept:
                os.write(2, kept)


class _QuietLoader:
    """Wraps the real loader of a noisy top-level package; only `exec_module` is filtered."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with banner_filtered_stderr():
            self._loader.exec_module(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _QuietFinder:
    """A meta-path finder that only answers for `tensorflow` and `tensorflow_hub`."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in _QUIET_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Set the log-level defaults and filter the next `import tensorflow` (idempotent)."""
    for key, value in ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    if not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())


def quiet_absl() -> None:
    """Python-side TensorFlow/absl logging at WARNING (saves and traces log INFO lines)."""
    import logging

    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
