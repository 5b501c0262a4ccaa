"""Airflow hooks and operators of nerloop: thin wrappers that call the `include/` library."""
