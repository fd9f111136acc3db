"""Template helpers registered on the app's Jinja environment."""

from flask import url_for


class RememberedMacro:
    """A template global that calls one macro once per distinct (hashable) argument.

    For macros whose output depends on their argument alone, such as a badge: a list page
    renders the same handful of badges dozens of times. The remembered output is dropped
    when the template is reloaded (debug), and the memory is bounded.
    """

    LIMIT = 256

    def __init__(self, env, template, name):
        self._env, self._template, self._name = env, template, name
        self._source, self._outputs = None, {}

    def __call__(self, value):
        if self._source is None or self._env.auto_reload:
            template = self._env.get_template(self._template)
            if template is not self._source:
                self._source, self._outputs = template, {}
        if len(self._outputs) >= self.LIMIT:
            self._outputs = {}
        output = self._outputs.get(value)
        if output is None:
            output = self._outputs[value] = getattr(self._source.module, self._name)(value)
        return output


def init_templating(app):
    """Register the remembered macros (``badge_markup``: ``macros/ui.html``'s badge) and
    ``url_for`` as ``path_for`` (paths, also when a live update renders outside a request)."""
    app.jinja_env.globals["badge_markup"] = RememberedMacro(
        app.jinja_env, "macros/ui.html", "badge"
    )
    app.jinja_env.globals["url_for"] = path_for


def path_for(endpoint, **values):
    """``url_for`` that builds a path (not an absolute URL) also outside a request.

    Live updates render pages with the app's URL map alone; Flask's ``url_for`` would make
    every link absolute there.
    """
    values.setdefault("_external", False)
    return url_for(endpoint, **values)
