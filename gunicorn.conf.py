"""gunicorn settings read from the working directory: run the embedded reconciler once.

With RUNWARDEN_RECONCILER=embedded the reconciler runs in the gunicorn master (which never
serves requests and outlives its workers), not once per worker; the workers inherit
RUNWARDEN_RECONCILER_OWNER and stay out. With `external` or `off` these hooks do nothing.
"""

import os

wsgi_app = "wsgi:app"
bind = os.environ.get("RUNWARDEN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("RUNWARDEN_WORKERS", "2"))
# Each open live page holds one thread for its WebSocket: size threads for the
# expected number of open pages per worker plus a few for plain requests.
worker_class = "gthread"
threads = int(os.environ.get("RUNWARDEN_THREADS", "64"))
timeout = 60
graceful_timeout = 20
accesslog = None  # the app writes one structured line per request


def when_ready(server):
    from reconciler.loop import start_in_gunicorn_master

    start_in_gunicorn_master(server)


def on_exit(server):
    from reconciler.loop import stop_embedded

    stop_embedded()
