"""Shared fixtures: the real test data beside the checkout (../shared/data, or
$CURATION_TEST_DATA), and temp data roots for Dagster runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    path = Path(os.environ.get("CURATION_TEST_DATA") or REPO.parent / "shared" / "data")
    if not (path / "flores200").is_dir():
        raise RuntimeError(f"test data not found at {path}: set CURATION_TEST_DATA to the shared/data folder")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return shared_data_dir()


@pytest.fixture(scope="session")
def flores(data_dir: Path):
    def read(code: str) -> list[str]:
        return (data_dir / "flores200" / "devtest" / f"{code}.devtest").read_text("utf-8").splitlines()

    return read


@pytest.fixture(scope="session")
def flores_codes(data_dir: Path) -> list[str]:
    return sorted(p.name.split(".")[0] for p in (data_dir / "flores200" / "devtest").glob("*.devtest"))
