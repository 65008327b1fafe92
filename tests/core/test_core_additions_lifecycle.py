"""Core addition made for the lifecycle scheme: streamed metadata files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from leadforge.bundle import BundleWriter
from leadforge.config import GenerationConfig
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import ExposureError


def _writer(root: Path, mode: ExposureMode) -> BundleWriter:
    config = GenerationConfig(
        recipe_id="r", scheme="s", seed=1, exposure_mode=mode, difficulty=Difficulty.INTRO, params=None
    )
    return BundleWriter(root, config)


def test_chunks_are_written_in_order_and_hashed(tmp_path: Path) -> None:
    writer = _writer(tmp_path / "b", ExposureMode.RESEARCH_INSTRUCTOR)
    chunks = [b'{"a": ', b"[1, 2", b", 3]}"]
    writer.write_metadata_chunks("big.json", iter(chunks))
    data = (tmp_path / "b" / "metadata" / "big.json").read_bytes()
    assert json.loads(data) == {"a": [1, 2, 3]}
    entry = writer._files["metadata/big.json"]
    assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_chunks_are_refused_in_a_public_bundle(tmp_path: Path) -> None:
    writer = _writer(tmp_path / "b", ExposureMode.STUDENT_PUBLIC)
    with pytest.raises(ExposureError):
        writer.write_metadata_chunks("big.json", iter([b"{}"]))
    assert not (tmp_path / "b" / "metadata").exists()
