"""How long ``simwire check`` takes on a code base of the seed report's size (about 200 files).

    python bench/check_scale.py [--files 200]

Writes a synthetic project to a temporary directory (services with a bus, positional awaited
subscribes, dict payloads built in steps, typed collaborators, locks, SQL through a pool, a
clock adapter, QuestDB migrations) and runs the whole check on it through the CLI entry,
configuration included, as a user would.  Prints the files, findings and seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import textwrap
import time
from pathlib import Path

SERVICE = '''
import asyncio

from app.adapters.clock import Clock
from app.service_{prev} import Service{prev}

INSERT = "INSERT INTO events_{n} (event_id, kind, amount, timestamp) VALUES ($1, $2, $3, $4)"


class Service{n}:
    def __init__(self, bus, pool, clock: Clock, upstream: Service{prev}):
        self.bus = bus
        self.pool = pool
        self.clock = clock
        self.upstream = upstream
        self._lock = asyncio.Lock()
        self._state = {{}}

    async def start(self):
        await self.bus.subscribe("topic_{prev}", self._on_event)

    def _common(self):
        return {{"source": "service_{n}", "at": self.clock.now()}}

    async def _on_event(self, event):
        async with self._lock:
            seen = self._state.get(event["event_id"])
            if seen is None:
                self._state[event["event_id"]] = event["amount"]
        payload = {{**self._common(), "event_id": event["event_id"]}}
        payload["amount"] = event["amount"] * 2
        payload["kind"] = event.get("kind", "x")
        await self._store(payload)
        await self.bus.publish("topic_{n}", payload)

    async def _store(self, payload):
        async with self.pool.acquire() as conn:
            await conn.execute(INSERT, payload["event_id"], payload["kind"], payload["amount"], payload["at"])

    async def stop(self):
        await self.upstream.stop_child()

    async def stop_child(self):
        async with self._lock:
            self._state.clear()
'''


def write_project(root: Path, files: int) -> None:
    app = root / "app"
    (app / "adapters").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "adapters" / "__init__.py").write_text("")
    (app / "adapters" / "clock.py").write_text(textwrap.dedent('''
        import datetime

        class Clock:
            def now(self):
                return datetime.datetime.now(datetime.UTC)
    '''))
    services = files - 3
    for n in range(services):
        (app / f"service_{n}.py").write_text(SERVICE.format(n=n, prev=(n - 1) % services))
    migrations = root / "migrations"
    migrations.mkdir()
    ddl = "\n".join(f"CREATE TABLE events_{n} (event_id SYMBOL, kind SYMBOL, amount DOUBLE, timestamp TIMESTAMP) "
                    f"timestamp(timestamp) PARTITION BY DAY WAL;" for n in range(services))
    (migrations / "001_events.sql").write_text(ddl + "\n")
    (root / "pyproject.toml").write_text('[tool.simwire]\npaths = ["app"]\n\n[tool.simwire.migrations]\n'
                                         'paths = ["migrations"]\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    from sim.cli import main as simwire

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(root, args.files)
        out = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = simwire(["check", "--config", str(root / "pyproject.toml"), "--format", "json"])
        seconds = time.perf_counter() - started
        report = json.loads(out.getvalue())
        rules = sorted({v["rule"] for v in report["violations"]})
        print(f"files={report['files']} findings={len(report['violations'])} exit={code} "
              f"check_seconds={report['seconds']:.2f} wall_seconds={seconds:.2f} rules={rules}")


if __name__ == "__main__":
    main()
