"""Serve the real app for the browser tests: ``python -m tests.browser.server PORT``.

Configuration comes from the environment exactly as for ``make run`` (DATABASE_URL,
RUNWARDEN_OPERATION_TYPES, RUNWARDEN_RECONCILER, SECRET_KEY); only the live-update
intervals are shortened so fallbacks can be observed within a test.
"""

import os
import sys

from werkzeug.serving import run_simple

from app import create_app
from app.live import init_live


def build_app():
    """The app with test-sized live intervals."""
    app = create_app()
    app.config.update(
        LIVE_FALLBACK_POLL_SECONDS=float(os.environ.get("LIVE_FALLBACK_POLL_SECONDS", "2")),
        LIVE_HEARTBEAT_SECONDS=float(os.environ.get("LIVE_HEARTBEAT_SECONDS", "2")),
    )
    init_live(app)
    return app


if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), build_app(), threaded=True)
