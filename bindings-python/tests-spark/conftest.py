"""Spark local[2] session and the bench's small data set, shared by the Spark tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

DATA = Path(__file__).resolve().parents[2] / "journey-core" / "tests" / "data" / "bench-small"


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from journey_core.spark import local_session

    session = local_session(cores=2, app_name="journey-core-tests")
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("checkpoints")))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def data() -> Path:
    return DATA


def expected(name: str) -> Any:
    """One of the reference outputs of ../shared/bench (copied into the test data)."""
    return json.loads((DATA / "expected" / f"{name}.json").read_text())
