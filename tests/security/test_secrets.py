"""Production refuses every secret shipped in the repository, naming the variable."""

import re
import secrets
import subprocess
from pathlib import Path

import pytest

from app import create_app
from config import KNOWN_PLACEHOLDERS, ConfigError, ProductionConfig, is_placeholder

ROOT = Path(__file__).resolve().parents[2]
SECRET_VARIABLES = ("SECRET_KEY", "METRICS_TOKEN")
ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Z_]+)\s*=\s*['\"]?([^'\"\s#]*)", re.M)


def example_files():
    """Every tracked file that is an example of configuration (env.example, *.sample...)."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    pattern = re.compile(r"(example|sample|template)[^/]*$|(^|/)\.env[^/]*$", re.I)
    return [ROOT / name for name in listed if pattern.search(name) and not name.endswith(".py")]


def shipped_secrets():
    """(file, variable, value) of every secret assignment in example files and the README."""
    found = []
    for path in [*example_files(), ROOT / "README.md"]:
        for name, value in ASSIGNMENT.findall(path.read_text(errors="replace")):
            if name in SECRET_VARIABLES and value and not value.startswith("$"):
                found.append((path.relative_to(ROOT).as_posix(), name, value))
    return found


# A literal given to SECRET_KEY or METRICS_TOKEN in code: `SECRET_KEY = "..."`,
# `SECRET_KEY="..."` (a keyword), `"SECRET_KEY": "..."`, `setenv("SECRET_KEY", "...")`.
LITERAL = re.compile(r"\b(SECRET_KEY|METRICS_TOKEN)[\"']?\s*[:=,]\s*[\"']([^\"'\n]*)[\"']")
TEXT_SUFFIXES = (".py", ".md", ".sh", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".conf", ".txt")


def literal_secrets():
    """(file:line, variable, value) of every literal secret in the repository's own text
    files: the benches, the tests and the code, not only the examples."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for name in listed:
        if not (name.endswith(TEXT_SUFFIXES) or name in ("Makefile", ".ci/run")):
            continue
        for number, line in enumerate((ROOT / name).read_text(errors="replace").splitlines()):
            for variable, value in LITERAL.findall(line):
                if re.fullmatch(r"[A-Z_]+", value):  # a tuple of names, not a value
                    continue
                found.append((f"{name}:{number + 1}", variable, value))
    return found


def env_example():
    pairs = ASSIGNMENT.findall((ROOT / "deploy/env.example").read_text())
    return dict(pairs)


def test_the_example_files_are_found():
    names = [path.relative_to(ROOT).as_posix() for path in example_files()]
    assert "deploy/env.example" in names
    variables = {name for _, name, _ in shipped_secrets()}
    assert variables == set(SECRET_VARIABLES)


def test_every_shipped_secret_is_a_known_placeholder():
    for where, name, value in shipped_secrets():
        assert value in KNOWN_PLACEHOLDERS, f"{where}: {name}={value} is not in KNOWN_PLACEHOLDERS"


@pytest.fixture
def production_env(monkeypatch):
    """The environment of deploy/env.example, on SQLite, with real secrets."""
    for name, value in env_example().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("METRICS_TOKEN", secrets.token_hex(16))
    return monkeypatch


def test_env_example_as_shipped_does_not_start(monkeypatch):
    for name, value in env_example().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        create_app()
    monkeypatch.setenv("METRICS_TOKEN", secrets.token_hex(16))
    assert create_app().config["PRODUCTION"] is True


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
@pytest.mark.parametrize("placeholder", sorted(KNOWN_PLACEHOLDERS))
def test_production_refuses_every_placeholder(production_env, variable, placeholder):
    production_env.setenv(variable, placeholder)
    with pytest.raises(ConfigError, match=variable):
        ProductionConfig()


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_a_placeholder_of_the_same_shape_is_refused_too(production_env, variable):
    production_env.setenv(variable, "replace-with-something-long-enough-to-pass-the-length")
    with pytest.raises(ConfigError, match=variable):
        ProductionConfig()


def test_short_keys_and_tokens_are_refused(production_env):
    production_env.setenv("METRICS_TOKEN", "x" * 15)
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        ProductionConfig()
    production_env.setenv("METRICS_TOKEN", "x" * 16)
    production_env.setenv("SECRET_KEY", "x" * 31)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        ProductionConfig()
    production_env.setenv("SECRET_KEY", "x" * 32)
    assert ProductionConfig().SECRET_KEY == "x" * 32


def test_no_metrics_token_is_allowed(production_env):
    production_env.delenv("METRICS_TOKEN")
    assert ProductionConfig().METRICS_TOKEN is None


def test_random_values_are_not_placeholders():
    assert not is_placeholder(secrets.token_hex(32))
    assert is_placeholder(" replace-with-a-random-token ")


def test_the_literal_scan_finds_the_forms_code_uses():
    lines = (
        'SECRET_KEY = "a"',
        'env.update(SECRET_KEY="b")',
        '{"METRICS_TOKEN": "c"}',
        "monkeypatch.setenv(\"SECRET_KEY\", 'd')",
    )
    assert [LITERAL.findall(line)[0][1] for line in lines] == ["a", "b", "c", "d"]
    assert literal_secrets(), "the scan found nothing: it no longer reads the repository"


def test_no_literal_secret_in_the_repository_would_start_production(production_env):
    """A bench or test key written into the repository (a fixed SECRET_KEY a bench starts a
    production-shaped server with, say) is as public as the examples: production refuses
    each, as a placeholder or as too short. Keys the benches and tests need are random."""
    for where, variable, value in literal_secrets():
        production_env.setenv(variable, value)
        with pytest.raises(ConfigError, match=variable):
            ProductionConfig()
            pytest.fail(f"{where}: {variable}={value!r} would start production")
        production_env.setenv(variable, secrets.token_hex(32))
