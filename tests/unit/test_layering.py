"""The import graph of app/ and reconciler/: no cycle, and the domain never imports upwards.

Every import counts, at module level or inside a function: a deferred import is still an
arrow. ``from a.b import c`` is an arrow to ``a.b.c`` when that is a module, else to ``a.b``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "reconciler")
DOMAIN = ("app.operations", "app.models", "reconciler")
UPPER = ("app.presenter", "app.blueprints")


def _modules(root):
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _target(name, modules):
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported(node, module, is_package):
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module
    return [f"{base}.{alias.name}" for alias in node.names]


def import_graph(root=ROOT):
    """{module: set of the project modules it imports}."""
    modules = _modules(root)
    graph = {}
    for module, path in modules.items():
        arrows = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported(node, module, path.name == "__init__.py"):
                    arrows.add(_target(name, modules))
        graph[module] = arrows - {None, module}
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = {node}
            while (member := stack.pop()) != node:
                on_stack.discard(member)
                component.add(member)
            on_stack.discard(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def upward_arrows(graph):
    """(domain module, presenter or blueprint module) for every forbidden import."""
    return sorted(
        (module, target)
        for module, targets in graph.items()
        if module.startswith(DOMAIN)
        for target in targets
        if target.startswith(UPPER)
    )


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_the_domain_never_imports_the_presenter_or_the_blueprints():
    assert upward_arrows(import_graph()) == []


def test_models_do_not_read_the_clock():
    graph = import_graph()
    assert [
        m
        for m, targets in graph.items()
        if m.startswith("app.models") and "app.operations.clock" in targets
    ] == []


@pytest.fixture
def tree(tmp_path):
    def write(files):
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (tmp_path / "reconciler").mkdir(exist_ok=True)
        return import_graph(tmp_path)

    return write


def test_a_deferred_import_still_closes_a_cycle(tree):
    graph = tree(
        {
            "app/__init__.py": "def f():\n    from reconciler.loop import x\n",
            "reconciler/__init__.py": "",
            "reconciler/loop.py": "def g():\n    from app import create_app\n",
        }
    )
    assert cycles(graph) == [["app", "reconciler.loop"]]


def test_a_package_importing_its_own_views_is_a_cycle(tree):
    graph = tree(
        {
            "app/__init__.py": "",
            "app/blueprints/__init__.py": "",
            "app/blueprints/auth/__init__.py": "bp = 1\nfrom app.blueprints.auth import routes\n",
            "app/blueprints/auth/routes.py": "from . import bp\n",
        }
    )
    assert cycles(graph) == [["app.blueprints.auth", "app.blueprints.auth.routes"]]


def test_an_upward_arrow_is_found(tree):
    graph = tree(
        {
            "app/__init__.py": "",
            "app/operations/__init__.py": "",
            "app/operations/status.py": "from app.presenter.formatting import duration\n",
            "app/presenter/__init__.py": "",
            "app/presenter/formatting.py": "",
            "reconciler/__init__.py": "",
            "reconciler/reconcile.py": "import app.blueprints.api\n",
            "app/blueprints/__init__.py": "",
            "app/blueprints/api/__init__.py": "",
        }
    )
    assert cycles(graph) == []
    assert upward_arrows(graph) == [
        ("app.operations.status", "app.presenter.formatting"),
        ("reconciler.reconcile", "app.blueprints.api"),
    ]


def test_tests_import_fixtures_and_helpers_not_other_test_modules():
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(name.rpartition(".")[2].startswith("test_") for name in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# Where statements over runs may be built: the table's own package, the read and write
# interfaces, and the SQL form of the freshness truth (clauses the interfaces compose).
RUN_INTERFACES = (
    "app.models",
    "app.operations.reads",
    "app.operations.store",
    "app.operations.freshness",
)
# Still building their own run statements, and moving behind RunReads: none.
RUN_STATEMENTS_MOVING = set()
# What a module needs to build a statement over runs: the mapped class, its table (as the
# interfaces name it), or the table's name in SQL.
RUN_NAMES = {"OperationRun", "RUNS"}
RUN_TABLE = "operation_runs"


def run_statement_builders(root=ROOT):
    """The modules outside RUN_INTERFACES that name the runs table in any of its forms."""
    found = set()
    for module, path in _modules(root).items():
        if module.startswith(RUN_INTERFACES):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                (isinstance(node, ast.ImportFrom) and {a.name for a in node.names} & RUN_NAMES)
                or (isinstance(node, ast.Attribute) and node.attr in RUN_NAMES)
                or (isinstance(node, ast.Constant) and RUN_TABLE in str(node.value))
            ):
                found.add(module)
    return found


def test_only_the_read_and_write_interfaces_build_run_statements():
    assert run_statement_builders() == RUN_STATEMENTS_MOVING


def test_a_run_statement_outside_the_interfaces_is_found(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/models/__init__.py": "class OperationRun: ...\n",
        "app/operations/__init__.py": "",
        "app/operations/reads/__init__.py": "from app.models import OperationRun\n",
        "app/operations/store/rules.py": "RUNS = 1\n",
        "app/operations/clean.py": "from app.operations.reads import RunReads\n",
        "app/pages/orm.py": "from app.models import OperationRun as Run\n",
        "app/pages/dotted.py": "import app.models\nq = app.models.OperationRun.id\n",
        "app/pages/table.py": "from app.operations.store.rules import RUNS\n",
        "app/pages/text.py": "SQL = 'SELECT id FROM operation_runs WHERE id = :run_id'\n",
        "reconciler/rows.py": "import app.models.runs as runs\nt = runs.OperationRun.__table__\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert run_statement_builders(tmp_path) == {
        "app.pages.orm",
        "app.pages.dotted",
        "app.pages.table",
        "app.pages.text",
        "reconciler.rows",
    }
