"""Label Studio's ML backend for nerloop: its own small Flask app under its own gunicorn, beside the shim."""
