"""The entry points' logging: our INFO lines show, ONNX Runtime's quantization chatter does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.bundle import tiny_bundle

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter: the logging set up there is the entry points' (`python -m devstack.cli`, bootstrap).
QUANTIZE = """
import logging, sys
from pathlib import Path
from include.core.logs import setup_logging
from include.workflows.training.quantize import quantize_int8
{setup}
logging.getLogger("devstack.cli").info("ours")
quantize_int8(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def quantize_logs(tmp_path: Path, setup: str) -> str:
    model = tiny_bundle() / "onnx" / "model.onnx"
    res = subprocess.run(
        [sys.executable, "-c", QUANTIZE.format(setup=setup), str(model), str(tmp_path / "int8.onnx")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stderr


def test_quantization_chatter_is_left_out_and_our_info_lines_stay(tmp_path: Path) -> None:
    plain = quantize_logs(
        tmp_path, 'logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")'
    )
    assert "INFO Quantization parameters for tensor" in plain, "the chatter this is about"
    quiet = quantize_logs(tmp_path, 'setup_logging("%(levelname)s %(message)s")')
    assert "INFO ours" in quiet
    assert [line for line in quiet.splitlines() if line.startswith("INFO")] == ["INFO ours"]
