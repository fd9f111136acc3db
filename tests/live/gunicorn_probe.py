"""gunicorn settings for the multi-process test: record which worker serves each request."""

import os


def pre_request(worker, req):
    with open(os.environ["RUNWARDEN_PROBE_LOG"], "a") as log:
        log.write(f"{worker.pid} {req.path}\n")
