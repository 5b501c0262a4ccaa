"""The one-machine dev stack: embedded Postgres, Label Studio, Airflow, Triton, the shim and the
ML backend as managed processes (`services`, `stack`), the operator CLI (`cli`: `make demo`,
`make airflow`), sample and held-out documents. Above `include`, which never imports it (checked by
import-linter: `make lint`)."""
