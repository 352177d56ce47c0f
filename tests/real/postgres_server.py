"""A throwaway PostgreSQL server for the real-database tests: initdb, pg_ctl, gone at the end.

PostgreSQL refuses to run as root, so as root every command runs as the ``postgres`` user
(``runuser``), in a fresh directory under the system temp dir that this user owns (pytest's
own temp dirs sit under a root-only parent).  The server listens on a free loopback port with
``trust`` authentication and ``fsync=off``: it holds nothing worth keeping.  The C locale
orders text by code point, as QuestDB does, whatever the machine's locale.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import anyio

SERVER_USER = "postgres"
_databases = itertools.count(1)


def find_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's layout."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for directory in reversed(candidates):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    return None


def unavailable_reason() -> str | None:
    """Why no server can be started here, or None when one can."""
    if find_binaries() is None:
        return ("PostgreSQL binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql/*/bin; "
                "install the Debian package `postgresql` (.ci/run does)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run the server as"
    return None


class PostgresServer:
    """``start()`` it, use ``dsn(database)``, ``stop()`` it (idempotent; removes every file)."""

    def __init__(self) -> None:
        self.binaries = find_binaries()
        if self.binaries is None:
            raise RuntimeError(unavailable_reason())
        self.root = Path(tempfile.mkdtemp(prefix="simwire-pg-"))
        self.port = _free_port()
        self._running = False

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", SERVER_USER, "-E", "UTF8", "--locale=C",
                  "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off " \
                  f"-c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-w", "-o", options, "start")
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                               f"\n{self.log()[-2000:]}")


def create_database(server: PostgresServer) -> str:
    """A new empty database on ``server``; returns its DSN."""
    name = f"simwire_test_{os.getpid()}_{next(_databases)}"
    anyio.run(_admin, server, f"CREATE DATABASE {name}")
    return server.dsn(name)


def drop_database(server: PostgresServer, dsn: str) -> None:
    anyio.run(_admin, server, f"DROP DATABASE {dsn.rsplit('/', 1)[1]} WITH (FORCE)")


async def _admin(server: PostgresServer, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server.dsn())
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
