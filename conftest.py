"""The simwire pytest plugin for this repository's own tests.

An installed simwire registers it through the ``pytest11`` entry point; registering it here as
well would make pytest refuse the second registration, so it is added only when the installed
distribution does not provide it (a checkout run with PYTHONPATH, or an older install)."""

from importlib.metadata import entry_points


def _installed() -> bool:
    return any(ep.value == "sim.pytest_plugin" for ep in entry_points(group="pytest11"))


pytest_plugins = [] if _installed() else ["sim.pytest_plugin"]
