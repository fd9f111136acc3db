"""Admin CLI: every command prints one JSON object on stdout."""

import json

import click


def emit(payload):
    """Print ``payload`` as the command's one JSON object."""
    click.echo(json.dumps(payload, default=str, sort_keys=True))


def fail(message, **details):
    """Print a JSON error on stderr and exit non-zero."""
    click.echo(json.dumps({"error": message, **details}), err=True)
    raise SystemExit(1)


def register_cli(app):
    """Attach every command group in app/commands to ``app``."""
    import importlib
    import pkgutil

    from app import commands

    for module_info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"app.commands.{module_info.name}")
        module.register(app)
