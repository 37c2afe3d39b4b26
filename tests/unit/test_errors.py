"""One error family: every error doclab raises is a DoclabError, so each front door catches it once."""

import importlib
import inspect
import pkgutil

import doclab
from doclab.errors import DoclabError

#: Control flow inside one function, never raised out of it.
INTERNAL = {"doclab.tools.serve._Interrupted"}


def doclab_exceptions() -> dict[str, type]:
    found = {}
    for module in pkgutil.walk_packages(doclab.__path__, "doclab."):
        if module.name.endswith("__main__"):
            continue  # importing one runs its command line
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.name:
                found[f"{module.name}.{name}"] = value
    return found


def test_every_error_doclab_defines_is_a_doclab_error():
    errors = doclab_exceptions()
    assert len(errors) >= 12
    outside = sorted(name for name, error in errors.items() if not issubclass(error, DoclabError) and name not in INTERNAL)
    assert outside == []


def test_an_error_shows_where_and_how_to_reproduce():
    error = DoclabError("the block ended with exit code 1", file="docs/mini-project.md", line=219,
                        reproduce="python -m doclab run docs/mini-project.md")
    assert str(error) == ("docs/mini-project.md:219: the block ended with exit code 1\n--- reproduce ---\n"
                          "python -m doclab run docs/mini-project.md")
    assert str(DoclabError("docs/a.md: said already", file="docs/a.md")) == "docs/a.md: said already"
    assert str(DoclabError("plain")) == "plain"


def test_the_serve_front_door_reports_a_minirootfs_error_without_a_traceback(monkeypatch, capsys):
    from doclab.tools import serve
    from doclab.lab.rootfs import RootfsError

    def no_rootfs(*args, **kwargs):
        raise RootfsError("DOCLAB_ALPINE_ROOTFS points at /nowhere.tar.gz, which does not exist: set it to the minirootfs")

    monkeypatch.setattr(serve, "run_command", no_rootfs)
    monkeypatch.setattr(serve, "facts_where", lambda environ: None)
    code = serve.main(["--recorded", "--", "true"])
    assert code == 2
    assert "the lab did not start: DOCLAB_ALPINE_ROOTFS points at /nowhere.tar.gz" in capsys.readouterr().err


def test_doclab_raises_no_bare_builtin_error():
    """Every error that reaches a front door is a DoclabError (with file and line where it has one), never a bare
    ValueError or OSError that surfaces as a traceback. The lab's forwarder, a process of its own, keeps its errno."""
    import ast
    from pathlib import Path

    builtins = {"ValueError", "OSError", "RuntimeError", "FileNotFoundError", "KeyError", "TypeError", "Exception"}
    found = []
    for path in sorted(Path(doclab.__file__).parent.rglob("*.py")):
        if path.name == "forward.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and getattr(node.exc.func, "id", "") in builtins:
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
