"""Reading SQL the way QuestDB's PG wire does: sqlglot's postgres grammar, QuestDB's refusals.

QuestDB rejects some PostgreSQL that sqlglot happily parses (``OFFSET``, ``DELETE``,
``ON CONFLICT``, ``::timestamptz``).  Those are found on the token stream, before parsing,
and raised with the server's own message and the 1-based character position of the
offending token, as QuestDB reports it in the error's ``position`` field.

sqlglot's postgres tokenizer reads ``$`` as the start of a dollar-quoted string, which
breaks ``VALUES ($1,$2)``; QuestDB has no dollar quoting, so this dialect reads ``$`` as the
parameter sigil only.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from system.adapters.asyncpg_database import DollarParameters as QuestDialect
from system.ports import QueryError


def tokens(query: str) -> list[Token]:
    try:
        return QuestDialect().tokenize(query)
    except TokenError as error:
        raise QueryError(f"cannot tokenize: {error}", query=query, position=1) from error


def check_supported(query: str, words: list[Token]) -> None:
    """Raise QuestDB's error for SQL it refuses even though it is valid PostgreSQL."""
    for at, token in enumerate(words):
        kind = token.token_type
        if kind == TokenType.OFFSET:
            raise _refused("unexpected token [OFFSET]", query, token)
        if kind == TokenType.DELETE:
            follower = words[at + 1] if at + 1 < len(words) else token
            raise _refused(f"unexpected token [{follower.text.upper()}]", query, follower)
        if kind == TokenType.ON and at + 1 < len(words) and words[at + 1].text.upper() == "CONFLICT":
            raise _refused("',' expected", query, token)
        if kind == TokenType.DCOLON and at + 1 < len(words) and words[at + 1].text.upper() == "TIMESTAMPTZ":
            raise _refused("invalid type: timestamptz", query, words[at + 1])


@functools.lru_cache(maxsize=1024)
def parse(query: str, *, questdb: bool = True) -> exp.Expression:
    """One statement, or QueryError naming where the parser gave up.  ``questdb=False`` reads
    it as PostgreSQL (the simulated PostgreSQL, ``sim.world.postgres``): same grammar and
    parameters, without QuestDB's refusals.

    Kept per text for the process (a refusal is raised afresh each time): every run of an
    exploration compiles the same statements, and the tree is only read by the plans."""
    words = tokens(query)
    if questdb:
        check_supported(query, words)
    try:
        statements = [s for s in sqlglot.parse(query, read=QuestDialect) if s is not None]
    except ParseError as error:
        detail = error.errors[0] if error.errors else {}
        position = offset_of(query, detail.get("line", 1), detail.get("col", 1))
        raise QueryError(detail.get("description", str(error)), query=query, position=position) from error
    if len(statements) != 1:
        raise QueryError(f"expected one statement, found {len(statements)}", query=query, position=1)
    return statements[0]


def offset_of(query: str, line: int, col: int) -> int:
    """1-based character position of (line, col), both 1-based as sqlglot reports them."""
    lines = query.split("\n")
    return sum(len(text) + 1 for text in lines[: max(line - 1, 0)]) + max(col, 1)


def position_of(query: str, node: exp.Expression) -> int:
    """1-based position of the first identifier in ``node`` (sqlglot records their offsets)."""
    identifier = node if isinstance(node, exp.Identifier) else node.find(exp.Identifier)
    if identifier is not None and "start" in identifier.meta:
        return identifier.meta["start"] + 1
    return 1


def _refused(message: str, query: str, token: Token) -> QueryError:
    return QueryError(message, query=query, position=token.start + 1)
