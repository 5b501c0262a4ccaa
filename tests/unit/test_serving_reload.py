"""reload_and_verify without a server: an unreachable Triton is a clear error, nothing is rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.workflows.reload import ReloadError, probe_inputs, reload_and_verify
from tests.helpers.bundle import tokenizer_only_bundle
from tests.helpers.triton import free_port


def test_unreachable_triton_names_the_url(tmp_path: Path):
    port = free_port()
    with pytest.raises(ReloadError, match=rf"http://127\.0\.0\.1:{port} is unreachable"):
        reload_and_verify(f"127.0.0.1:{port}", tmp_path, "ner", 1, ["Ann Lee"], tokenizer_only_bundle())
    assert list(tmp_path.iterdir()) == []


def test_probe_inputs_pad_to_one_batch_with_special_tokens():
    ids, mask = probe_inputs(tokenizer_only_bundle(), ["Ann Lee", "Ann"])
    assert ids.shape == mask.shape and ids.shape[0] == 2
    assert ids[0, 0] == 101 and mask[1].sum() == 3 and ids[1, 3] == 0


def test_probe_texts_are_required():
    with pytest.raises(ValueError, match="probe_texts"):
        probe_inputs(tokenizer_only_bundle(), [])
