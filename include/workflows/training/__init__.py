"""Nightly training: gold selection, datasets, fine-tuning, evaluation, ONNX export and the bundle."""
