"""Remembered macros give exactly the macro's output, once per value, and forget on reload."""

from jinja2 import DictLoader, Environment

from app.presenter.badges import Badge
from app.presenter.templating import RememberedMacro

MACRO = '{% macro badge(b) %}<span class="tone-{{ b.tone }}">{{ b.label }}</span>{% endmacro %}'


def env(source, auto_reload=False):
    loader = DictLoader({"ui.html": source})
    return Environment(loader=loader, autoescape=True, auto_reload=auto_reload), loader


def test_output_is_the_macros_and_each_value_is_rendered_once():
    environment, _ = env(MACRO)
    remembered = RememberedMacro(environment, "ui.html", "badge")
    failed, tricky = Badge("Failed", "danger", "cross"), Badge("<b>&", "info", "dot")
    assert str(remembered(failed)) == '<span class="tone-danger">Failed</span>'
    assert str(remembered(tricky)) == '<span class="tone-info">&lt;b&gt;&amp;</span>'
    assert remembered(failed) is remembered(Badge("Failed", "danger", "cross"))


def test_a_reloaded_template_is_rendered_again():
    environment, loader = env(MACRO, auto_reload=True)
    remembered = RememberedMacro(environment, "ui.html", "badge")
    failed = Badge("Failed", "danger", "cross")
    assert "tone-danger" in remembered(failed)
    loader.mapping["ui.html"] = MACRO.replace("tone-", "t-")
    environment.cache.clear()  # what a changed file does to an auto-reloading environment
    assert str(remembered(failed)) == '<span class="t-danger">Failed</span>'


def test_memory_is_bounded():
    environment, _ = env(MACRO)
    remembered = RememberedMacro(environment, "ui.html", "badge")
    for n in range(RememberedMacro.LIMIT * 2):
        remembered(Badge(f"label {n}", "info", "dot"))
        assert len(remembered._outputs) <= RememberedMacro.LIMIT


ROW = (
    "{% macro row(r, wide=True) %}<tr>{{ r.guidance }}"
    "{% if wide %}<td>w</td>{% endif %}</tr>{% endmacro %}"
)


class View:
    """Stands in for a RunView: equal when the sentence's text is, Markup or not."""

    def __init__(self, guidance):
        self.guidance = guidance

    def __eq__(self, other):
        return str(self.guidance) == str(other.guidance)

    def __hash__(self):
        return hash(str(self.guidance))


def test_a_row_is_remembered_per_view_width_and_escaping():
    from markupsafe import Markup

    from app.presenter.templating import _row_key

    environment, _ = env(ROW)
    remembered = RememberedMacro(environment, "ui.html", "row", limit=4, key=_row_key)
    text, markup = View("<b>late</b>"), View(Markup("<b>late</b>"))
    assert text == markup
    assert str(remembered(text)) == "<tr>&lt;b&gt;late&lt;/b&gt;<td>w</td></tr>"
    assert str(remembered(markup)) == "<tr><b>late</b><td>w</td></tr>"
    assert str(remembered(text, False)) == "<tr>&lt;b&gt;late&lt;/b&gt;</tr>"
    assert remembered(text) is remembered(View("<b>late</b>")), "one render per view"
    for n in range(10):
        remembered(View(f"row {n}"))
        assert len(remembered._outputs) <= 4
