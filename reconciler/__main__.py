"""python -m reconciler: the reconciler as its own process.

Uses the same configuration as the web app (environment: DATABASE_URL,
RECONCILER_INTERVAL_SECONDS, ...). Several may run at once: the lease lets one of them run
passes and another takes over within seconds when it dies. Stops cleanly on SIGTERM/SIGINT.
"""

import argparse
import logging
import os
import sys

from app import create_app
from reconciler.loop import ReconcilerService


def main(argv=None):
    """Run the scheduler in the foreground until SIGTERM or SIGINT; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m reconciler", description=__doc__.split("\n")[0]
    )
    parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = create_app()
    if app.config["RUNWARDEN_RECONCILER"] == "off":
        logging.getLogger("runwarden.reconciler").warning(
            "RUNWARDEN_RECONCILER=off: the reconciler is disabled, nothing to run"
        )
        return 0
    ReconcilerService(app, role="reconciler").run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
