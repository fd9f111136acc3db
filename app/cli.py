"""Admin CLI: every command prints one JSON object."""


def register_cli(app):
    """Attach the command groups to ``app``."""
