"""WSGI entry point for gunicorn: `gunicorn -c ml_backend/gunicorn.conf.py ml_backend.wsgi:app`."""

from ml_backend.app import create_app

app = create_app()
