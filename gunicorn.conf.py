"""gunicorn settings read from the working directory: run the embedded reconciler once.

With RUNWARDEN_RECONCILER=embedded the reconciler runs in the gunicorn master (which never
serves requests and outlives its workers), not once per worker; the workers inherit
RUNWARDEN_RECONCILER_OWNER and stay out. With `external` or `off` these hooks do nothing.
"""

wsgi_app = "wsgi:app"


def when_ready(server):
    from reconciler.loop import start_in_gunicorn_master

    start_in_gunicorn_master(server)


def on_exit(server):
    from reconciler.loop import stop_embedded

    stop_embedded()
