"""Start, stop and probe the local processes of the one-machine stack (Postgres, LS, Triton, shim)."""
