"""Adapters: one package or module per outside system (Postgres, the object store, Label Studio,
Triton's model repository, the NER model, document extraction). An adapter imports core and its own
package only; adapters meet in a workflow (checked by import-linter: `make lint`)."""
