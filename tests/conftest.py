"""Shared test set-up: the TF backend for Keras, quiet logs, deterministic seeds."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    import keras

    keras.utils.set_random_seed(0)
    yield


@pytest.fixture(scope="session")
def tiny_config():
    """A factory: tiny_config(vocab_size, **changes) -> AlbertConfig (see tests/configs.py)."""
    from configs import tiny_config as make

    return make
