"""The house rules, checked: import arrows in `autograd` run one way (downward), no import
hides inside a function to dodge a cycle, `nn` uses only the public engine, and neither
library imports the application."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom first: a module may import only modules listed before it.
LAYERS = [
    "backend", "cuda", "dtypes", "mode", "files", "random", "tensor", "anomaly", "ops.registry", "node",
    "ops.elementwise", "ops.shape", "ops.reductions", "ops.linalg", "ops.nn_ops", "ops.device", "ops",
    "engine", "operations", "inplace", "fused", "factories", "grad", "function", "functional",
    "testing.gradcheck", "testing.strategies", "testing",
    "viz.render", "viz.record", "viz.vertices", "viz.saved", "viz.build", "viz.modules", "viz.contract", "viz.fold",
    "viz.graph", "viz.text", "viz.layout", "viz.labeller", "viz.dot", "viz",
    "compile.trace", "compile.scope", "compile.plan", "compile.vjp", "compile", "demo", "",
]


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "autograd").with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _targets(path: Path, tree) -> list[tuple[str, int, bool]]:
    """(autograd module imported, line, at module level) for each import in the file."""
    pkg = _module_name(path).split(".") if path.name == "__init__.py" else _module_name(path).split(".")[:-1]
    top_level = {id(n) for n in tree.body}
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            if n.level:
                base = pkg[: len(pkg) - (n.level - 1)] if n.level > 1 else pkg
                mod = ".".join(base + ([n.module] if n.module else []))
                names = [mod] if n.module else [".".join(base + [a.name]) for a in n.names]
            elif n.module and (n.module == "autograd" or n.module.startswith("autograd.")):
                names = [n.module.removeprefix("autograd").lstrip(".")]
            else:
                continue
            for m in names:
                found.append((m, n.lineno, id(n) in top_level))
        elif isinstance(n, ast.Import):
            for a in n.names:
                if a.name.startswith("autograd"):
                    found.append((a.name.removeprefix("autograd").lstrip("."), n.lineno, id(n) in top_level))
    return found


def _layer(name: str) -> int:
    while name not in LAYERS:  # a name imported from a module: `from .ops import elementwise`
        name = name.rpartition(".")[0]
    return LAYERS.index(name)


FILES = sorted((ROOT / "autograd").rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_autograd_imports_only_downward_and_at_module_level(path):
    me = _module_name(path)
    assert me in LAYERS, f"{me}: add it to LAYERS in tests/test_layering.py at its place"
    tree = ast.parse(path.read_text())
    for target, line, top in _targets(path, tree):
        if target == me:
            continue
        assert top, f"{path.name}:{line}: import of autograd.{target} inside a function"
        if me in ("", "demo"):
            continue  # the package's __init__ gathers everything; the demo uses it as a user
        assert _layer(target) < _layer(me), (
            f"{path.name}:{line}: autograd.{me} imports autograd.{target}, which sits above it"
        )


def _imports(path):
    tree = ast.parse(path.read_text())
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and not n.level:
            yield n.module or "", [a.name for a in n.names], n.lineno
        elif isinstance(n, ast.Import):
            for a in n.names:
                yield a.name, [], n.lineno


PUBLIC = {"autograd", "autograd.mode", "autograd.random", "autograd.files", "autograd.testing"}


@pytest.mark.parametrize("path", sorted((ROOT / "nn").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_nn_uses_only_the_public_engine(path):
    for module, names, line in _imports(path):
        if module.startswith("autograd"):
            assert module in PUBLIC, f"{path.name}:{line}: nn imports {module}, not a public autograd module"
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{path.name}:{line}: nn imports private names {private} from {module}"
        assert not module.startswith("graphgrad_physics"), f"{path.name}:{line}: nn imports the application"
    text = path.read_text()
    for internal in ("engine._", "autograd.engine.", "autograd.node.", "._node", "._vc"):
        assert internal not in text, f"{path.name}: uses the engine internal {internal!r}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_autograd_never_imports_nn_or_the_application(path):
    for module, _, line in _imports(path):
        assert module.split(".")[0] not in ("nn", "graphgrad_physics"), f"{path.name}:{line}: imports {module}"


def test_no_builtins_shadowed_in_operations():
    tree = ast.parse((ROOT / "autograd" / "operations.py").read_text())
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    import builtins

    assert not defined & set(dir(builtins))
