"""Storing and reading ledger transactions.

Appending is load -> decide -> store: ``lock_for_append`` locks and reads the chain heads
and guarded balances some drafts need, ``greenenergy.ledger.append`` (pure) decides the rows,
hashes and new balances, ``store_write`` writes them -- all on the caller's connection, in the
caller's commit. ``post_transactions`` is the three in one, for callers whose drafts are
known before anything is read. There is no update or delete path for transactions or
postings.

Locking (PostgreSQL): the shard heads touched are locked first, in shard order, then the
guarded balance rows, in (account, shard) order, each in a single statement; every writer
takes locks in that one global order, so writers cannot deadlock, and writers of different
shards never wait on each other. SQLite: the caller's ``BEGIN IMMEDIATE`` serialises writers.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import Connection, Row, func, select

from greenenergy.db.bulk import db_instant, insert_tuples
from greenenergy.db.chains import lock_heads, store_heads
from greenenergy.db.driver import Sql
from greenenergy.db.tables import LedgerBalance, LedgerPosting, LedgerTransaction
from greenenergy.ledger.accounts import is_guarded
from greenenergy.ledger.append import BalanceKey, LedgerWrite, append, needs
from greenenergy.ledger.chain import ChainRecord, refs_json
from greenenergy.ledger.transactions import PostedTransaction, Posting, TransactionDraft

TX = LedgerTransaction.__table__
POSTINGS = LedgerPosting.__table__
BALANCES = LedgerBalance.__table__
LEDGER_CHAIN = "ledger"
_TX_COLUMNS = ("id", "shard", "seq", "kind", "created_at", "idempotency_key", "reverses", "refs", "prev_hash", "hash")
_POSTING_COLUMNS = ("transaction_id", "idx", "account", "shard", "energy_g", "created_at")


def new_transaction_ids(count: int) -> list[str]:
    """``count`` ids of 32 hex characters: 16 of nanoseconds since the epoch, then 16 random.

    Roughly time-ordered, so new rows land at the right edge of the primary-key index
    instead of all over it (random UUIDs make every insert touch a random page)."""
    stamp = f"{time.time_ns():016x}"
    noise = secrets.token_hex(8 * count)
    return [stamp + noise[16 * i : 16 * i + 16] for i in range(count)]


def lock_for_append(
    connection: Connection, shards: Iterable[int], keys: Iterable[BalanceKey]
) -> tuple[dict[int, tuple[int, str]], dict[BalanceKey, int]]:
    """Lock and read the ledger heads of ``shards`` and the guarded balances ``keys`` (the
    global lock order: heads, then balances); what ``ledger.append`` needs."""
    heads = lock_heads(connection, LEDGER_CHAIN, sorted(set(shards)))
    wanted = sorted({key for key in keys if is_guarded(key[0])})
    return heads, (_lock_balances(connection, wanted) if wanted else {})


def store_write(connection: Connection, write: LedgerWrite, *, now: datetime) -> None:
    """Insert the transactions and postings of ``write``, advance its heads, write its balances."""
    if not write.transactions:
        return
    stored_now = db_instant(connection, now)
    tx_rows = [
        (tx.id, tx.shard, tx.seq, tx.kind, stored_now, tx.idempotency_key, tx.reverses, refs_json(tx.refs),
         tx.prev_hash, tx.hash)
        for tx in write.transactions
    ]  # fmt: skip
    posting_rows = [(*row, stored_now) for row in write.postings]
    if len(tx_rows) > 16:  # a batch (expiry, bulk): COPY on PostgreSQL
        insert_tuples(connection, TX, _TX_COLUMNS, tx_rows)
        insert_tuples(connection, POSTINGS, _POSTING_COLUMNS, posting_rows)
    else:  # an interactive call: one or two rows, straight to the driver
        sql = Sql(connection)
        sql.many(f"INSERT INTO ledger_transactions ({', '.join(_TX_COLUMNS)}) VALUES ({', '.join('?' * 10)})", tx_rows)
        sql.many(f"INSERT INTO ledger_postings ({', '.join(_POSTING_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)", posting_rows)
    store_heads(connection, LEDGER_CHAIN, write.heads)
    if write.balances:
        # PostgreSQL: the rows exist (_lock_balances created them); SQLite: created here if new.
        Sql(connection).many(
            "INSERT INTO ledger_balances (account, shard, balance_g) VALUES (?, ?, ?) ON CONFLICT (account, shard) "
            "DO UPDATE SET balance_g = excluded.balance_g",
            [(*key, grams) for key, grams in write.balances.items()],
        )


def post_transactions(
    connection: Connection,
    drafts: Sequence[TransactionDraft],
    *,
    now: datetime,
) -> list[PostedTransaction]:
    """Append ``drafts`` in order; return one stored transaction per draft.

    A draft whose idempotency key is already stored (or repeated earlier in ``drafts``)
    returns the first transaction with that key and changes nothing. Raises
    ``InsufficientEnergy`` (and the caller's transaction must roll back) if any guarded
    balance would go below zero at any point in the sequence.
    """
    existing = _existing_by_key(connection, [d.idempotency_key for d in drafts if d.idempotency_key])
    fresh: list[TransactionDraft] = []
    seen: set[str] = set()
    for draft in drafts:
        key = draft.idempotency_key
        if key is None or (key not in existing and key not in seen):
            fresh.append(draft)
            if key is not None:
                seen.add(key)
    shards, keys = needs(fresh)
    heads, balances = lock_for_append(connection, shards, keys) if fresh else ({}, {})
    write = append(fresh, heads=heads, balances=balances, now=now, ids=new_transaction_ids(len(fresh)))
    store_write(connection, write, now=now)
    posted = iter(write.transactions)
    by_key = dict(existing)
    results = []
    for draft in drafts:
        key = draft.idempotency_key
        if key is not None and key in by_key:
            results.append(by_key[key])
            continue
        tx = next(posted)
        if key is not None:
            by_key[key] = tx
        results.append(tx)
    return results


def _lock_balances(connection: Connection, keys: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Current balances of ``keys`` (missing rows count 0), locked against other writers.

    PostgreSQL: one upsert over the sorted keys (one JSON parameter) whose conflict branch
    rewrites the same value locks every row in (account, shard) order -- creating missing
    rows at 0 -- and returns the balances. (A plain upsert of the delta cannot be used: the CHECK on the proposed row
    would reject a negative delta before the conflict is even seen.) SQLite: the caller's
    BEGIN IMMEDIATE already excludes other writers, so a plain read suffices.
    """
    current = dict.fromkeys(keys, 0)
    sql = Sql(connection)
    if sql.postgres:
        # The conflict branch rewrites the same value: it locks each row in the order the
        # (sorted) arrays give them, creating missing rows at 0.
        rows = sql.all(
            "INSERT INTO ledger_balances (account, shard, balance_g) "
            "SELECT k->>0, (k->>1)::smallint, 0 FROM json_array_elements(?::json) AS x(k) "
            "ON CONFLICT (account, shard) DO UPDATE SET balance_g = ledger_balances.balance_g "
            "RETURNING account, shard, balance_g",
            (json.dumps(keys),),
        )
    else:
        rows = []
        for start in range(0, len(keys), _LOCK_CHUNK):
            chunk = [account for account, _shard in keys[start : start + _LOCK_CHUNK]]
            rows.extend(sql.all(
                f"SELECT account, shard, balance_g FROM ledger_balances WHERE account IN ({', '.join('?' * len(chunk))})",
                chunk,
            ))  # fmt: skip
    for account, shard, balance in rows:
        if (account, shard) in current:
            current[(account, shard)] = int(balance)
    return current


_LOCK_CHUNK = 900  # keys per statement: under SQLite's 999 host parameters


def _existing_by_key(connection: Connection, keys: list[str]) -> dict[str, PostedTransaction]:
    if not keys:
        return {}
    rows = connection.execute(select(TX).where(TX.c.idempotency_key.in_(sorted(set(keys))))).all()
    return {tx.idempotency_key: tx for tx in _with_postings(connection, rows)}


def _with_postings(connection: Connection, tx_rows: Sequence[Row]) -> list[PostedTransaction]:
    if not tx_rows:
        return []
    ids = [row.id for row in tx_rows]
    postings: dict[str, list[Posting]] = {i: [] for i in ids}
    query = (
        select(POSTINGS.c.transaction_id, POSTINGS.c.account, POSTINGS.c.energy_g)
        .where(POSTINGS.c.transaction_id.in_(ids))
        .order_by(POSTINGS.c.transaction_id, POSTINGS.c.idx)
    )
    for row in connection.execute(query):
        postings[row.transaction_id].append(Posting(row.account, row.energy_g))
    return [
        PostedTransaction(
            id=row.id,
            shard=row.shard,
            seq=row.seq,
            kind=row.kind,
            created_at=row.created_at,
            postings=tuple(postings[row.id]),
            refs=MappingProxyType(json.loads(row.refs)),
            idempotency_key=row.idempotency_key,
            reverses=row.reverses,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
        for row in tx_rows
    ]


def get_transaction(connection: Connection, transaction_id: str) -> PostedTransaction | None:
    rows = connection.execute(select(TX).where(TX.c.id == transaction_id)).all()
    found = _with_postings(connection, rows)
    return found[0] if found else None


def guarded_balance(connection: Connection, account: str, shard: int) -> int:
    value = connection.execute(
        select(BALANCES.c.balance_g).where(BALANCES.c.account == account, BALANCES.c.shard == shard)
    ).scalar_one_or_none()
    return int(value or 0)


def account_total(connection: Connection, account: str) -> int:
    """Balance of any account: the cached row for guarded ones, the postings' sum otherwise."""
    if is_guarded(account):
        value = connection.execute(
            select(func.coalesce(func.sum(BALANCES.c.balance_g), 0)).where(BALANCES.c.account == account)
        ).scalar_one()
    else:
        value = connection.execute(
            select(func.coalesce(func.sum(POSTINGS.c.energy_g), 0)).where(POSTINGS.c.account == account)
        ).scalar_one()
    return int(value)


def chain_records(connection: Connection, shard: int) -> Iterable[ChainRecord]:
    """Stream one shard's transactions in seq order, with their postings, as chain records."""
    tx_query = select(TX).where(TX.c.shard == shard).order_by(TX.c.seq)
    posting_query = (
        select(POSTINGS.c.transaction_id, POSTINGS.c.account, POSTINGS.c.shard, POSTINGS.c.energy_g)
        .join(TX, TX.c.id == POSTINGS.c.transaction_id)
        .where(TX.c.shard == shard)
        .order_by(TX.c.seq, POSTINGS.c.idx)
    )
    postings: dict[str, list[tuple[str, int, int]]] = {}
    for row in connection.execute(posting_query):
        postings.setdefault(row.transaction_id, []).append((row.account, row.shard, row.energy_g))
    for row in connection.execute(tx_query):
        yield ChainRecord(
            id=row.id,
            shard=row.shard,
            seq=row.seq,
            kind=row.kind,
            created_at=row.created_at,
            idempotency_key=row.idempotency_key,
            reverses=row.reverses,
            refs=_stored_refs(row.refs),
            postings=tuple(postings.get(row.id, ())),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


def _stored_refs(text: str) -> MappingProxyType:
    """Parse stored refs; unparseable text (a tampered row) yields refs that cannot hash right."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return MappingProxyType({"unparseable_refs": text})
    if not isinstance(value, dict):
        return MappingProxyType({"unparseable_refs": text})
    return MappingProxyType({str(k): str(v) for k, v in value.items()})


def history(
    connection: Connection,
    accounts: Sequence[str],
    *,
    limit: int,
    before: tuple[datetime, str] | None = None,
) -> list[tuple[PostedTransaction, list[tuple[int, Posting]]]]:
    """The newest ``limit`` transactions touching ``accounts``, newest first, with the
    postings (index, posting) that touch them; ``before`` = (created_at, id) of a cursor."""
    touching = (
        select(POSTINGS.c.transaction_id, POSTINGS.c.created_at)
        .where(POSTINGS.c.account.in_(list(accounts)))
        .group_by(POSTINGS.c.transaction_id, POSTINGS.c.created_at)
    )
    if before is not None:
        created_at, transaction_id = before
        touching = touching.where(
            (POSTINGS.c.created_at < created_at)
            | ((POSTINGS.c.created_at == created_at) & (POSTINGS.c.transaction_id < transaction_id))
        )
    touching = touching.order_by(POSTINGS.c.created_at.desc(), POSTINGS.c.transaction_id.desc()).limit(limit)
    ids = [row.transaction_id for row in connection.execute(touching)]
    if not ids:
        return []
    transactions = {
        tx.id: tx for tx in _with_postings(connection, connection.execute(select(TX).where(TX.c.id.in_(ids))).all())
    }
    wanted = set(accounts)
    out = []
    for transaction_id in ids:
        tx = transactions[transaction_id]
        out.append((tx, [(i, p) for i, p in enumerate(tx.postings) if p.account in wanted]))
    return out
