"""The public reason codes of a refused build."""

import pytest

from indexer.errors import IndexLoadError
from service.index import REASONS, refusal_reason


def _wrapped(cause: BaseException) -> IndexLoadError:
    try:
        raise IndexLoadError("/srv/index/builds/x: cannot load build") from cause
    except IndexLoadError as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (_wrapped(FileNotFoundError(2, "No such file", "/srv/index/builds/x/chunks.jsonl")), "files_missing"),
        (_wrapped(PermissionError(13, "Permission denied")), "unreadable"),
        (_wrapped(ValueError("Expecting value: line 1 column 1")), "corrupt"),
        (_wrapped(RuntimeError("Error in faiss::FileIOReader")), "corrupt"),
        (IndexLoadError("/srv/x was built with fake:a, but the service uses fake:b"), "mismatch"),
        (MemoryError(), "load_failed"),
    ],
)
def test_a_load_error_maps_to_a_documented_code(error, reason):
    assert refusal_reason(error) == reason and reason in REASONS


def test_a_failing_warm_up_has_its_own_code():
    assert refusal_reason(RuntimeError("boom"), warming_up=True) == "warmup_failed"
