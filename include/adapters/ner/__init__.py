"""NER inference: tokenizer offsets → model logits (ONNX Runtime or Triton) → BIO tags → character spans."""
