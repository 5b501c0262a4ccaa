"""Model serving: Triton model repository, config.pbtxt, publish, reload with verification and rollback."""
