"""gunicorn settings read from the working directory, for the web and the live process.

``RUNWARDEN_SERVE=web`` (default): page loads and the worker API, ``RUNWARDEN_WORKERS``
gthread workers of ``RUNWARDEN_THREADS`` threads on ``RUNWARDEN_BIND``. With
``RUNWARDEN_LIVE=external`` live pages connect to the live process (the reverse proxy sends
``/live/stream`` there) and no web thread is ever held by an open page; with the default
``embedded`` the web workers serve streams too, at most half of their threads each.

``RUNWARDEN_SERVE=live``: the live process, one worker on ``RUNWARDEN_LIVE_BIND`` with
``RUNWARDEN_LIVE_THREADS`` threads (each open page holds one), which relays changes from the
database to the open pages; it never runs the reconciler. ``RUNWARDEN_LIVE_NICE`` (0 to 19,
default 0) lowers its worker's CPU priority by that many steps, so that on shared cores page
loads and the worker API go first; measured on a shared 2-core VM it slowed live pushes and
flips without a measurable gain for the API or page loads (bench/README.md), hence off.

With RUNWARDEN_RECONCILER=embedded the reconciler runs in the web master (which never serves
requests and outlives its workers), not once per worker; the workers inherit
RUNWARDEN_RECONCILER_OWNER and stay out.
"""

import gc
import os

serve = os.environ.get("RUNWARDEN_SERVE", "web")
if serve not in ("web", "live"):
    raise SystemExit(f"RUNWARDEN_SERVE must be web or live (got {serve!r})")

wsgi_app = "wsgi:app"
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
accesslog = None  # the app writes one structured line per request

if serve == "live":
    bind = os.environ.get("RUNWARDEN_LIVE_BIND", "127.0.0.1:8001")
    workers = 1
    threads = int(os.environ.get("RUNWARDEN_LIVE_THREADS", "1200"))
    worker_connections = threads + 100
    os.environ["RUNWARDEN_LIVE"] = "embedded"
    os.environ["RUNWARDEN_RECONCILER"] = "off"
    os.environ.setdefault("RUNWARDEN_LIVE_MAX_CLIENTS", str(max(threads // 2, threads - 64)))
    live_nice = os.environ.get("RUNWARDEN_LIVE_NICE", "0")
    if not (live_nice.isascii() and live_nice.isdigit() and int(live_nice) <= 19):
        raise SystemExit(f"RUNWARDEN_LIVE_NICE must be a whole number 0 to 19 (got {live_nice!r})")
else:
    bind = os.environ.get("RUNWARDEN_BIND", "127.0.0.1:8000")
    workers = int(os.environ.get("RUNWARDEN_WORKERS", "2"))
    threads = int(os.environ.get("RUNWARDEN_THREADS", "64"))
    if os.environ.get("RUNWARDEN_LIVE", "embedded") == "embedded":
        os.environ.setdefault("RUNWARDEN_LIVE_MAX_CLIENTS", str(max(1, threads // 2)))


def post_fork(server, worker):
    if serve == "live" and int(live_nice):
        os.nice(int(live_nice))


def post_worker_init(worker):
    # The loaded app is about 145k objects that live as long as the worker: a full
    # collection walking them took about 100 ms of CPU, once every 20-30 insights pages
    # (their p95). Frozen, a full collection walks only what requests left: 3-5 ms.
    gc.freeze()


def when_ready(server):
    if serve != "web":
        return
    from app import create_app
    from reconciler.loop import start_in_gunicorn_master

    start_in_gunicorn_master(server, create_app())


def on_exit(server):
    if serve != "web":
        return
    from reconciler.loop import stop_embedded

    stop_embedded()
