"""The layout is the architecture: one package per stage, and no stage imports a higher one (nor a sibling of
its own stage), every import counted, the lazy ones inside functions too. The MkDocs hooks import only the
stages a site build needs."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

#: The stages, lowest first: a module may import its own package and any lower stage.
STAGES = {
    "doclab.errors": -1,  # the error family, below everything: the settings raise one too
    "doclab.settings": 0,
    "doclab.page": 1, "doclab.lesson": 1, "doclab.daemon": 1,
    "doclab.lab": 2,
    "doclab.run": 3,
    "doclab.capture": 4,
    "doclab.render": 5,
    "doclab.tools": 6,
    "doclab.__main__": 7, "doclab.extension": 7, "doclab.doctests": 7,
}
#: What a site build needs: the hooks reach nothing else (no lab control, no page run, no tools).
HOOKS_MAY_IMPORT = {"doclab.capture", "doclab.errors", "doclab.daemon", "doclab.lesson", "doclab.page", "doclab.render",
                    "doclab.settings"}


def unit_of(module: str) -> str:
    if module == "doclab":
        return "doclab.errors"  # the package's own __init__: a docstring, stage 0
    units = [unit for unit in STAGES if module == unit or module.startswith(unit + ".")]
    assert units, f"{module} belongs to no stage: put it in a stage's package, or add it to STAGES"
    return max(units, key=len)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def doclab_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == "doclab":
            found.add(node.module if node.module != "doclab" else f"doclab.{node.names[0].name}")
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: a relative import; doclab imports by full name, so a move shows in the import")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "doclab")
    return found


def test_every_module_belongs_to_a_stage_and_imports_only_lower_stages():
    modules = sorted((ROOT / "doclab").rglob("*.py"))
    assert len(modules) >= 30
    wrong = []
    for path in modules:
        own = unit_of(module_name(path))
        for target in sorted(doclab_imports(path)):
            unit = unit_of(target)
            if unit != own and STAGES[unit] >= STAGES[own]:
                wrong.append(f"{module_name(path)} (stage {STAGES[own]}) imports {target} (stage {STAGES[unit]})")
    assert wrong == []


def test_every_package_says_what_it_owns_and_what_it_may_import():
    for package in sorted((ROOT / "doclab").glob("*/__init__.py")):
        text = ast.get_docstring(ast.parse(package.read_text())) or ""
        assert text.startswith("Stage ") and "mport" in text, f"{package}: its docstring names its stage and its imports"


def test_the_hooks_import_only_what_a_site_build_needs():
    for hook in sorted((ROOT / "hooks").glob("*.py")):
        outside = sorted(target for target in doclab_imports(hook) if unit_of(target) not in HOOKS_MAY_IMPORT)
        assert outside == [], f"{hook.name} imports {outside}"


#: A class longer than this does more than one thing: split it (as ``Lab`` became folder, services, daemons, pool).
LONGEST_CLASS = 155


def test_no_class_is_longer_than_it_can_be_read_at_once():
    long = []
    for path in sorted((ROOT / "doclab").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > LONGEST_CLASS:
                long.append(f"{path.relative_to(ROOT)}: {node.name} has {node.end_lineno - node.lineno + 1} lines")
    assert not long, f"classes over {LONGEST_CLASS} lines: " + "; ".join(long)
