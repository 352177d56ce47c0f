"""``simwire init``: a draft registry and configuration from the code's facts, which
``simwire check`` then loads and uses."""

import json

from sim.cli import main
from tests.contracts.test_check_config import APP, write


def make(tmp_path, pyproject: bool = True):
    root = write(tmp_path / "shop", {
        **APP,
        "migrations/001_init.sql": "CREATE TABLE orders (id SERIAL PRIMARY KEY, note TEXT);\n",
        "migrations/001_init_rollback.sql": "DROP TABLE orders;\n",
        "tests/test_orders.py": "import time\n",
    })
    if pyproject:
        (root / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    return root


def test_init_drafts_registry_and_config_from_the_sites(tmp_path, capsys) -> None:
    root = make(tmp_path)
    assert main(["init", "--path", str(root)]) == 0
    registry = (root / "simwire_registry.py").read_text()
    assert "# published by OrderBook at app/orders.py:19\n" in registry
    assert "# read by OrderBook._on_placed at app/orders.py:13\n" in registry
    assert "# TODO: handlers read price, which no publisher sends" in registry
    assert 'fields=fields("order_id", "qty", "side", "venue"),' in registry   # not 'price': that would hide it
    assert 'fields=fields(optional=("last",)),' in registry   # 'price' topic: only read, published elsewhere
    assert 'consumers=(Consumer("OrderBook", "order_book"),),' in registry
    config = (root / "pyproject.toml").read_text()
    assert config.startswith('[project]\nname = "shop"\n')
    for line in ('[tool.simwire]', 'paths = ["app"]', 'registry = "simwire_registry:REGISTRY"',
                 '    # "app/clock.py",', 'dialect = "postgres"', 'exclude = ["*rollback*", "*down*"]',
                 '"tests/**" = ["static.nondeterminism-source"]'):
        assert line in config
    lines = len([line for line in registry.splitlines() + config.splitlines()[3:] if line.strip()])
    assert lines <= 80
    capsys.readouterr()

    # The drafted registry loads and judges: the topic's fields and roles come from it.
    assert main(["check", "--path", str(root / "app"), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["registry"] == "shop"
    rules = {(v["rule"], v["location"]) for v in report["violations"]}
    assert ("static.handler-reads-unpublished", "app/orders.py:22") in rules
    assert not any(rule in ("static.undeclared-consumer", "static.undeclared-producer", "static.unknown-topic")
                   for rule, _ in rules)


def test_init_writes_simwire_toml_without_a_pyproject_and_never_overwrites(tmp_path, capsys) -> None:
    root = make(tmp_path, pyproject=False)
    assert main(["init", "--path", str(root)]) == 0
    text = (root / "simwire.toml").read_text()
    assert "[tool.simwire]" not in text and 'paths = ["app"]' in text and "[migrations]" in text
    assert main(["init", "--path", str(root)]) == 2
    assert "exists (pass --force to overwrite)" in capsys.readouterr().err
    assert main(["init", "--path", str(root), "--force"]) == 0


def test_init_refuses_a_pyproject_that_already_has_the_section(tmp_path, capsys) -> None:
    root = make(tmp_path)
    (root / "pyproject.toml").write_text('[tool.simwire]\npaths = ["app"]\n')
    assert main(["init", "--path", str(root)]) == 2
    assert "already has a [tool.simwire] section" in capsys.readouterr().err
    assert main(["init", "--path", str(root), "--force"]) == 0
    text = (root / "pyproject.toml").read_text()
    assert text.count("[tool.simwire]") == 1 and "drafted by `simwire init`" in text
    assert main(["init", "--path", str(tmp_path / "missing")]) == 2


def test_init_reads_the_bus_method_names_the_code_uses(tmp_path, capsys) -> None:
    root = write(tmp_path / "relay", {"relay/app.py": """
        async def on_msg(msg):
            return msg["body"]

        async def main(bus):
            bus.on("msg", on_msg)
            await bus.emit("msg", {"body": 1})
    """})
    assert main(["init", "--path", str(root)]) == 0
    config = (root / "simwire.toml").read_text()
    assert 'publish = ["emit"]' in config and 'subscribe = ["on"]' in config
    registry = (root / "simwire_registry.py").read_text()
    assert "# published by module:relay.app at relay/app.py:6\n" in registry
    capsys.readouterr()
    assert main(["check", "--path", str(root), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["violations"] == []


def test_the_drafted_registry_is_clean_python(tmp_path) -> None:
    import subprocess
    import sys

    root = make(tmp_path)
    assert main(["init", "--path", str(root)]) == 0
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--line-length", "120",
                           "--select", "E,F,W,I", str(root / "simwire_registry.py")], capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout


def test_init_on_a_copy_of_the_trading_system_drafts_what_the_registry_says(tmp_path, capsys) -> None:
    """The draft of system/ finds every topic of the hand-written trading registry, with the
    topic constants module, the relayed event tuples and the roles the code names."""
    import shutil

    from contracts.registry import load_registry
    from tests.contracts.helpers import REPO

    shutil.copytree(REPO / "system", tmp_path / "system", ignore=shutil.ignore_patterns("__pycache__"))
    assert main(["init", "--path", str(tmp_path)]) == 0
    config = (tmp_path / "simwire.toml").read_text()
    assert 'topic-constants = ["system/topics.py"]' in config and 'paths = ["system/migrations"]' in config
    drafted = load_registry(str(tmp_path / "simwire_registry.py"))
    trading = load_registry()
    assert set(drafted.topics) == set(trading.topics)
    for name, topic in trading.topics.items():
        assert {c.role for c in topic.consumers} <= {c.role for c in drafted.topics[name].consumers}, name
