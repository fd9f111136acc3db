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
