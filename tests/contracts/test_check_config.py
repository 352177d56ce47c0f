"""``simwire check`` on a foreign code base driven by ``[tool.simwire]``: configuration, no
registry, bus conventions of real code, suppressions, baseline, JSON and SARIF."""

import json
import textwrap
from pathlib import Path

import pytest

from contracts.config import Config, ConfigError, find_config, glob_match, load_config
from sim.cli import main

PYPROJECT = """
[project]
name = "shop"

[tool.simwire]
paths = ["app"]
ports = ["app/clock.py"]
{extra}
[tool.simwire.per-path-ignores]
"app/legacy/**" = ["static.nondeterminism-source"]
"""

APP = {
    "app/__init__.py": "",
    "app/clock.py": """
        import datetime

        def now():
            return datetime.datetime.now(datetime.UTC)
    """,
    "app/legacy/old.py": """
        import time

        def stamp():
            return time.time()
    """,
    "app/bus.py": """
        class Bus:
            def __init__(self):
                self._handlers = {}

            async def subscribe(self, topic, handler):
                self._handlers.setdefault(topic, []).append(handler)

            async def publish(self, topic, payload):
                for handler in self._handlers.get(topic, []):
                    await handler(payload)
    """,
    "app/orders.py": """
        BASE = {"venue": "x"}


        def _order_fields(order_id, qty):
            return {"order_id": order_id, "qty": qty}


        class OrderBook:
            def __init__(self, bus):
                self.bus = bus

            async def start(self):
                await self.bus.subscribe("order_placed", self._on_placed)
                self.bus.subscribe("price", self._on_price)   # not awaited: real code does this

            async def place(self, order_id, qty):
                payload = {**BASE, **_order_fields(order_id, qty)}
                payload["side"] = "buy"
                await self.bus.publish("order_placed", payload)

            async def _on_placed(self, event):
                return event["order_id"], event["qty"], event["side"], event["venue"], event["price"]

            async def _on_price(self, event):
                return event["last"]
    """,
}


EXPECTED = [
    ("static.topic-never-published", "app/orders.py:14"),   # nothing publishes 'price'
    ("static.unawaited-async", "app/orders.py:14"),         # so the subscription never happens
    ("static.handler-reads-unpublished", "app/orders.py:22"),   # 'price' is not in order_placed
]


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def project(tmp_path: Path, extra: str = "", files: dict[str, str] | None = None) -> Path:
    root = write(tmp_path / "shop", {**APP, **(files or {})})
    (root / "pyproject.toml").write_text(PYPROJECT.format(extra=extra))
    return root


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["check", *argv, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def found(report: dict) -> list[tuple[str, str]]:
    return [(v["rule"], v["location"]) for v in report["violations"]]


# -- the configuration file -------------------------------------------------------------------


def test_config_is_found_from_the_path_and_paths_are_relative_to_it(tmp_path, monkeypatch) -> None:
    root = project(tmp_path)
    assert find_config(root / "app" / "legacy") == root / "pyproject.toml"
    config = load_config(root / "pyproject.toml")
    assert config.root == root.resolve() and config.paths == (root.resolve() / "app",)
    assert config.is_port("app/clock.py") and not config.is_port("app/orders.py")
    assert config.ignored_at("app/legacy/old.py", "static.nondeterminism-source")
    assert not config.ignored_at("app/legacy/old.py", "static.unawaited-async")


def test_a_pyproject_without_the_table_ends_the_walk(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.simwire]\npaths = ["x"]\n')
    inner = tmp_path / "inner"
    (inner / "src").mkdir(parents=True)
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    assert find_config(inner / "src") is None


def test_simwire_toml_takes_top_level_keys(tmp_path) -> None:
    (tmp_path / "simwire.toml").write_text('paths = ["src"]\n[migrations]\npaths = ["db"]\ndialect = "postgres"\n'
                                           'exclude = ["*rollback*"]\n[bus]\npublish = ["emit"]\n')
    config = load_config(find_config(tmp_path))
    assert config.migrations is not None and config.migrations.dialect == "postgres"
    assert config.migrations.paths == (tmp_path.resolve() / "db",) and config.migrations.exclude == ("*rollback*",)
    assert config.bus.publish == ("emit",)


@pytest.mark.parametrize(("text", "message"), [
    ('[tool.simwire]\npath = ["app"]\n', "unknown key(s) path in [tool.simwire]"),
    ('[tool.simwire]\nignore = ["static.no-such-rule"]\n', "'static.no-such-rule' is no rule id"),
    ('[tool.simwire]\npaths = "app"\nselect = [1]\n', "select must be a list of strings"),
    ('[tool.simwire.migrations]\ndialect = "oracle"\n', "migrations.dialect = 'oracle'"),
    ('[tool.simwire]\npaths = [\n', "not valid TOML"),
    ('tool.simwire = 1\n', "tool.simwire must be a table"),
])
def test_bad_configuration_is_a_usage_error_naming_file_and_key(tmp_path, capsys, text, message) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    (tmp_path / "app").mkdir()
    with pytest.raises(ConfigError, match=r"pyproject\.toml"):
        load_config(tmp_path / "pyproject.toml")
    assert main(["check", "--config", str(tmp_path / "pyproject.toml")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_globs() -> None:
    assert glob_match("**/adapters/**", "x/adapters/clock.py")
    assert glob_match("app/adapters", "app/adapters/deep/clock.py")
    assert glob_match("tests/**", "tests/test_a.py")
    assert not glob_match("app/*.py", "app/sub/a.py")
    assert Config(root=Path("/"), select=("static",), ignore=("static.lock-order",)).rule_enabled("static.syntax-error")
    assert not Config(root=Path("/"), select=("sql",)).rule_enabled("static.syntax-error")


# -- a foreign code base with no registry -----------------------------------------------------


def test_no_registry_runs_registry_independent_rules_and_says_so(tmp_path, capsys) -> None:
    root = project(tmp_path)
    code, report = run_json(capsys, "--path", str(root / "app"))
    assert code == 1
    assert report["registry"] is None
    assert any("only registry-independent rules ran" in note for note in report["notes"])
    assert found(report) == EXPECTED
    assert report["waived"]["configured"] == 1   # app/legacy/old.py, per-path ignore
    assert main(["check", "--path", str(root / "app")]) == 1
    out = capsys.readouterr().out
    assert "registry none (registry-independent rules only)" in out
    assert "1 waived by the configuration" in out


def test_run_from_the_project_directory_uses_the_configured_paths(tmp_path, capsys, monkeypatch) -> None:
    root = project(tmp_path)
    monkeypatch.chdir(root)
    code, report = run_json(capsys)
    assert code == 1 and report["files"] == 5
    assert {v["location"].split(":")[0] for v in report["violations"]} == {"app/orders.py"}


REGISTRY = """
from contracts.registry import Consumer, Field, Registry, Topic

def _topic(name, fields, producers, consumers, required=()):
    return Topic(name, tuple(Field(f, ("str", "int", "float")) for f in fields), producers,
                 tuple(Consumer(c, r) for c, r in consumers), {"live": required})

REGISTRY = Registry(name="shop", modes=("live",), topics={
    "order_placed": _topic("order_placed", ("order_id", "qty", "side", "venue"), ("OrderBook",),
                           (("OrderBook", "book"),), ("book",)),
    "price": _topic("price", ("last",), ("Feed",), (("OrderBook", "pricing"),)),
})
"""


def test_the_configured_registry_judges_roles_from_its_consumer_entries(tmp_path, capsys) -> None:
    root = project(tmp_path, extra='registry = "shop_contracts:REGISTRY"\n',
                   files={"shop_contracts.py": REGISTRY})
    code, report = run_json(capsys, "--config", str(root / "pyproject.toml"))
    assert report["registry"] == "shop"
    # Roles come from the registry; nothing is 'unnamed'; the payload built from a ** merge of
    # a constant and a helper plus a later key assignment is read completely.
    assert found(report) == EXPECTED
    assert code == 1


# -- suppressions, baseline, formats ----------------------------------------------------------


def test_inline_suppressions_on_the_line_and_on_the_definition(tmp_path, capsys) -> None:
    root = project(tmp_path)
    orders = root / "app" / "orders.py"
    text = orders.read_text()
    text = text.replace('self.bus.subscribe("price", self._on_price)',
                        'self.bus.subscribe("price", self._on_price)  # simwire: ignore[static.topic-never-published, '
                        'static.unawaited-async] the feed lives in another service')
    text = text.replace("    async def _on_placed(self, event):",
                        "    async def _on_placed(self, event):  # simwire: ignore[static] reads a legacy key")
    orders.write_text(text)
    code, report = run_json(capsys, "--path", str(root / "app"))
    assert (code, found(report), report["waived"]["suppressed"]) == (0, [], 3)


def test_baseline_accepts_todays_findings_and_fails_only_on_new_ones(tmp_path, capsys) -> None:
    root = project(tmp_path, extra='baseline = ".simwire-baseline.json"\n')
    assert main(["check", "--path", str(root / "app"), "--baseline-write"]) == 0
    baseline = json.loads((root / ".simwire-baseline.json").read_text())
    assert sorted(e["rule"] for e in baseline["findings"]) == sorted(rule for rule, _ in EXPECTED)
    capsys.readouterr()
    # Lines move: the fingerprints do not.
    orders = root / "app" / "orders.py"
    orders.write_text("# a new header comment\n\n" + orders.read_text())
    code, report = run_json(capsys, "--path", str(root / "app"))
    assert (code, found(report), report["waived"]["baselined"]) == (0, [], 3)
    # A new finding fails alone.
    orders.write_text(orders.read_text().replace('event["venue"], event["price"]',
                                                 'event["venue"], event["price"], event["fee"]'))
    code, report = run_json(capsys, "--path", str(root / "app"))
    assert code == 1 and [(v["rule"], v["seen"]) for v in report["violations"]] == [
        ("static.handler-reads-unpublished", "fee")]


def test_missing_baseline_is_a_usage_error(tmp_path, capsys) -> None:
    root = project(tmp_path)
    assert main(["check", "--path", str(root / "app"), "--baseline", str(tmp_path / "none.json")]) == 2
    assert "create it with --baseline-write" in capsys.readouterr().err


def test_sarif_output_links_every_rule_to_its_documentation(tmp_path, capsys) -> None:
    root = project(tmp_path)
    assert main(["check", "--path", str(root / "app"), "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0"
    [run] = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(rule for rule, _ in EXPECTED)
    assert all(r["helpUri"].endswith("docs/rules.md#" + r["id"].replace(".", "")) for r in rules)
    last = run["results"][-1]
    assert last["ruleId"] == "static.handler-reads-unpublished" and last["level"] == "error"
    assert rules[last["ruleIndex"]]["id"] == last["ruleId"]
    assert last["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/orders.py"
    assert last["locations"][0]["physicalLocation"]["region"]["startLine"] == 22
    assert len(last["partialFingerprints"]["simwire/v1"]) == 16
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any("only registry-independent rules ran" in note for note in notes)


def test_repository_default_is_unchanged(capsys) -> None:
    """No configuration inside this repository: system/ against the trading registry."""
    assert main(["check", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["registry"] == "trading" and report["violations"] == []


def test_two_projects_with_same_named_registry_modules_in_one_process(tmp_path, capsys) -> None:
    first = project(tmp_path / "one", extra='registry = "simwire_registry:REGISTRY"\n',
                    files={"simwire_registry.py": REGISTRY})
    second = project(tmp_path / "two", extra='registry = "simwire_registry:REGISTRY"\n',
                     files={"simwire_registry.py": REGISTRY.replace('name="shop"', 'name="other"')})
    for root, name in ((first, "shop"), (second, "other")):
        run_json(capsys, "--path", str(root / "app"))
        _, report = run_json(capsys, "--path", str(root / "app"))
        assert report["registry"] == name


def test_select_and_ignore_filter_rules(tmp_path, capsys) -> None:
    root = project(tmp_path, extra='select = ["static"]\n'
                                   'ignore = ["static.unawaited-async", "static.topic-never-published"]\n')
    code, report = run_json(capsys, "--path", str(root / "app"))
    assert code == 1
    assert found(report) == [("static.handler-reads-unpublished", "app/orders.py:22")]
    assert report["waived"]["configured"] == 3


def test_a_registry_module_that_raises_is_a_usage_error(tmp_path, capsys) -> None:
    root = project(tmp_path, extra='registry = "shop_contracts:REGISTRY"\n',
                   files={"shop_contracts.py": "REGISTRY = undefined_name\n"})
    assert main(["check", "--path", str(root / "app")]) == 2
    err = capsys.readouterr().err
    assert "is not defined (at " in err and "shop_contracts.py:1" in err and "Traceback" not in err


def test_naming_this_repositorys_system_keeps_the_trading_registry(capsys) -> None:
    from tests.contracts.helpers import REPO

    code, report = run_json(capsys, "--path", str(REPO / "system"))
    assert (code, report["registry"], report["violations"]) == (0, "trading", [])


def test_findings_in_migrations_are_fingerprinted_by_project_relative_path(tmp_path) -> None:
    from contracts.findings import SourceIndex, place
    from contracts.rules import violation

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "001_a.sql").write_text("CREATE TABLE t (x INT);\n")
    index = SourceIndex(tmp_path)
    absolute = place(violation("schema.migration-error", "bad", location=f"{tmp_path / 'm' / '001_a.sql'}:1"), index)
    relative = place(violation("schema.migration-error", "bad", location="m/001_a.sql:1"), index)
    assert (absolute.file, absolute.fingerprint) == ("m/001_a.sql", relative.fingerprint)
