"""Template helpers registered on the app's Jinja environment."""

from flask import url_for


class RememberedMacro:
    """A template global that calls one macro once per distinct (hashable) arguments.

    For macros whose output depends on their arguments alone, such as a badge (a list page
    renders the same handful of badges dozens of times) or a run's row (a run's RunView
    holds everything its row shows, and the pages of one live sweep show many of the same
    runs). The remembered output is dropped when the template is reloaded (debug), and the
    memory is bounded (``limit`` outputs). ``key`` makes the arguments' key when equal
    arguments may render differently (a text and the same text as Markup are equal).
    """

    LIMIT = 256

    def __init__(self, env, template, name, limit=LIMIT, key=None):
        self._env, self._template, self._name = env, template, name
        self._source, self._outputs, self._limit = None, {}, limit
        self._key = key or (lambda *args: args)

    def __call__(self, *args):
        if self._source is None or self._env.auto_reload:
            template = self._env.get_template(self._template)
            if template is not self._source:
                self._source, self._outputs = template, {}
        if len(self._outputs) >= self._limit:
            self._outputs = {}
        key = self._key(*args)
        output = self._outputs.get(key)
        if output is None:
            output = self._outputs[key] = getattr(self._source.module, self._name)(*args)
        return output


ROW_LIMIT = 4096  # rows of about 1.5 KB: a few MB at most


def _row_key(view, show_tenant=True):
    """A row's key: its RunView (every value the row shows) and how its guidance is
    escaped (a sentence may be Markup or text)."""
    return view, type(view.guidance), show_tenant


def init_templating(app):
    """Register the remembered macros (``badge_markup``: ``macros/ui.html``'s badge,
    ``run_row_markup``: ``macros/runs.html``'s row of a RunView) and
    ``url_for`` as ``path_for`` (paths, also when a live update renders outside a request)."""
    app.jinja_env.globals["badge_markup"] = RememberedMacro(
        app.jinja_env, "macros/ui.html", "badge"
    )
    app.jinja_env.globals["run_row_markup"] = RememberedMacro(
        app.jinja_env, "macros/runs.html", "run_row", limit=ROW_LIMIT, key=_row_key
    )
    app.jinja_env.globals["url_for"] = path_for


def path_for(endpoint, **values):
    """``url_for`` that builds a path (not an absolute URL) also outside a request.

    Live updates render pages with the app's URL map alone; Flask's ``url_for`` would make
    every link absolute there.
    """
    values.setdefault("_external", False)
    return url_for(endpoint, **values)
