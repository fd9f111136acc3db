"""Admin CLI: every command prints one JSON object on stdout."""

import json

import click
from flask.cli import AppGroup


def emit(payload):
    """Print ``payload`` as the command's one JSON object."""
    click.echo(json.dumps(payload, default=str, sort_keys=True))


def fail(message, **details):
    """Print a JSON error on stderr and exit non-zero."""
    click.echo(json.dumps({"error": message, **details}), err=True)
    raise SystemExit(1)


class JsonCommand(click.Command):
    """A command whose usage errors are reported by ``fail`` (JSON on stderr, exit 1)."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            fail(exc.format_message(), usage=ctx.get_usage())


class JsonGroup(AppGroup):
    """An AppGroup of JsonCommands; an unknown subcommand is a JSON error too."""

    command_class = JsonCommand

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            fail(exc.format_message(), usage=ctx.get_usage())


def register_cli(app):
    """Attach every command group in app/commands to ``app`` (``_`` modules are helpers)."""
    import importlib
    import pkgutil

    from app import commands

    for module_info in pkgutil.iter_modules(commands.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"app.commands.{module_info.name}")
        module.register(app)
