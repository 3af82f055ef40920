import pytest
import torch

from k4mlpf.model import MLPF, MLPFAlgorithm
from k4mlpf.model.batch import pad_events
from k4mlpf.model.synthetic import random_event

from support import B_FIELD, TINY  # noqa: E402,F401 - shared with the test modules


@pytest.fixture
def model() -> MLPF:
    torch.manual_seed(0)
    return MLPF(TINY, b_field=B_FIELD).eval()


@pytest.fixture
def algo(model) -> MLPFAlgorithm:
    return MLPFAlgorithm(model, detector="test_detector", provenance={"made_by": "tests/model"}).eval()


@pytest.fixture
def events():
    """Three small events of different sizes (one without clusters)."""
    g = torch.Generator().manual_seed(1)
    return [random_event(4, 6, 40, B_FIELD, g), random_event(7, 3, 25, B_FIELD, g), random_event(2, 0, 0, B_FIELD, g)]


@pytest.fixture
def batch(events):
    return pad_events(events)
