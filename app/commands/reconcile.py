"""flask reconcile --once: one reconciler pass, its summary as JSON."""

import click
from flask.cli import with_appcontext

from app.cli import emit, fail


@click.command("reconcile")
@click.option("--once", is_flag=True, help="Run one pass now and print its summary.")
@with_appcontext
def reconcile_command(once):
    """Run one reconciler pass (the scheduler itself runs with python -m reconciler)."""
    from reconciler.loop import make_holder
    from reconciler.reconcile import PassAborted, run_pass

    if not once:
        fail("use --once; the scheduled reconciler runs with python -m reconciler")
    try:
        summary = run_pass(holder=make_holder("cli"))
    except PassAborted as exc:
        fail(str(exc), pass_id=exc.pass_id)
    emit(summary.as_dict())


def register(app):
    """Add ``flask reconcile``."""
    app.cli.add_command(reconcile_command)
