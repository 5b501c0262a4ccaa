"""Hostile and oversized input to the shim: bounded, refused with a 4xx and a JSON reason, nothing lost."""
