"""Helpers shared by the NER and serving tests: tiny bundles, a Triton server fixture."""
