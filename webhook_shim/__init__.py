"""The webhook shim: a small Flask service that turns Label Studio webhooks into record versions."""
