"""The model bundle, one folder per trained model; this package imports nothing above it (no serving,
training or database code).

- `format`: what a bundle holds (file names, VERSION.json keys), `Bundle` (a bundle that passed the strict
  read), `BundleError`, model version names.
- `config`: the Triton config.pbtxt a bundle carries, and the same config as a model repository serves it.
- `layout`: where bundles live (`<state_dir>/bundles/run-<UTC time>`, the `current` link).
- `write`: `write_bundle`, from an exported model.onnx, a tokenizer and the trained weights.
- `read`: `read_bundle`, the one strict reader (every file present, consistent and as hashed).

Training writes bundles, release publishes them and serving loads them; release reads a bundle once and
passes the `Bundle` on. Plain Python: no torch.
"""
