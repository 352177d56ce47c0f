"""Where users already are: the pytest plugin through the ``pytest11`` entry point (printed
repro lines work where pytest was started) and ``--target mod:fn`` importing from the current
directory like ``python -m``."""

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from tests.contracts.helpers import REPO


def test_the_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"simwire": "sim.pytest_plugin"}


def test_conftest_adds_the_plugin_only_when_it_is_not_installed() -> None:
    import importlib.metadata

    import conftest

    installed = any(ep.value == "sim.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11"))
    assert conftest.pytest_plugins == ([] if installed else ["sim.pytest_plugin"])


def test_a_failure_prints_a_repro_line_that_works_from_where_pytest_ran(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    tests = tmp_path / "suite"
    tests.mkdir()
    (tests / "test_lost.py").write_text(textwrap.dedent("""
        async def lost():
            raise RuntimeError("always")

        def test_lost(sim_run):
            sim_run(lost)
    """))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:looptime_plugin",
            "--sim-seeds", "1"]
    plugin = [] if _installed() else ["-p", "sim.pytest_plugin"]
    first = subprocess.run([*argv, *plugin, "test_lost.py"], cwd=tests, env=env, capture_output=True, text=True)
    assert first.returncode == 1
    repro = next(line for line in first.stdout.splitlines() if "reproduce with: pytest" in line)
    assert "pytest 'test_lost.py::test_lost' --sim-seed 0" in repro
    again = subprocess.run([*argv[:-2], *plugin, "test_lost.py::test_lost", "--sim-seed", "0"], cwd=tests,
                           env=env, capture_output=True, text=True)
    assert again.returncode == 1 and "1 failed" in again.stdout


def _installed() -> bool:
    import importlib.metadata

    return any(ep.value == "sim.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11"))


def test_targets_import_from_the_current_directory(tmp_path, monkeypatch) -> None:
    from sim.harness.targets import resolve

    (tmp_path / "onboard_target_mod.py").write_text("async def main():\n    return 42\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    factory = resolve("onboard_target_mod:main")
    assert factory().__name__ == "main"
    sys.modules.pop("onboard_target_mod", None)
    assert Path(factory().__code__.co_filename).parent == tmp_path
