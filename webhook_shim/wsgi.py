"""WSGI entry point for gunicorn: `gunicorn -c webhook_shim/gunicorn.conf.py webhook_shim.wsgi:app`."""

from webhook_shim.app import create_app

app = create_app()
