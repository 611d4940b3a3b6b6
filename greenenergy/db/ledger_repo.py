"""Storing and reading ledger transactions.

``post_transactions`` is the write path for the ledger: it appends transactions to their
shard's hash chain, inserts their postings and updates the cached balances of guarded
accounts, all on the caller's connection (the caller owns the commit). ``post_mints`` is
the same append (one ``_append`` loop) for the ingestion hot path's mint transactions,
without a draft object per event. There is no update or delete path for transactions or
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
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from types import MappingProxyType

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from greenenergy.db.bulk import db_instant, insert_tuples, update_tuples, upsert_tuples
from greenenergy.db.chains import lock_heads, store_heads
from greenenergy.db.tables import LedgerBalance, LedgerPosting, LedgerTransaction
from greenenergy.errors import InsufficientEnergy
from greenenergy.ledger.accounts import is_guarded
from greenenergy.ledger.chain import ChainRecord, format_instant, refs_json, sha256_hex, transaction_canonical_bytes
from greenenergy.ledger.transactions import Mint, PostedTransaction, Posting, TransactionDraft, validate_mint

TX = LedgerTransaction.__table__
POSTINGS = LedgerPosting.__table__
BALANCES = LedgerBalance.__table__
LEDGER_CHAIN = "ledger"
_TX_COLUMNS = ("id", "shard", "seq", "kind", "created_at", "idempotency_key", "reverses", "refs", "prev_hash", "hash")
_POSTING_COLUMNS = ("transaction_id", "idx", "account", "shard", "energy_g", "created_at")


def new_transaction_id() -> str:
    """32 hex characters: 16 of nanoseconds since the epoch, then 16 random.

    Roughly time-ordered, so new rows land at the right edge of the primary-key index
    instead of all over it (random UUIDs make every insert touch a random page)."""
    return new_transaction_ids(1)[0]


def new_transaction_ids(count: int) -> list[str]:
    """``count`` ids as ``new_transaction_id``, with one read of the OS random source."""
    stamp = f"{time.time_ns():016x}"
    noise = secrets.token_hex(8 * count)
    return [stamp + noise[16 * i : 16 * i + 16] for i in range(count)]


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
    fresh: list[tuple[int, TransactionDraft]] = []
    seen_keys: dict[str, int] = {}
    for index, draft in enumerate(drafts):
        key = draft.idempotency_key
        if key is not None and (key in existing or key in seen_keys):
            continue
        if key is not None:
            seen_keys[key] = index
        fresh.append((index, draft))

    results: list[PostedTransaction | None] = [None] * len(drafts)
    if fresh:
        entries = [
            (
                draft.kind,
                draft.shard,
                draft.idempotency_key,
                draft.reverses,
                refs_json(draft.refs),
                tuple(
                    (p.account, posting_shard, p.energy_g)
                    for p, posting_shard in zip(draft.postings, draft.posting_shards, strict=True)
                ),
            )
            for _, draft in fresh
        ]
        appended = _append(
            connection, entries, now, before_rows=lambda: _apply_guarded_balances(connection, [d for _, d in fresh])
        )
        for (index, draft), (tx_id, seq, prev_hash, digest) in zip(fresh, appended, strict=True):
            results[index] = PostedTransaction(
                id=tx_id,
                shard=draft.shard,
                seq=seq,
                kind=draft.kind,
                created_at=now,
                postings=draft.postings,
                refs=draft.refs,
                idempotency_key=draft.idempotency_key,
                reverses=draft.reverses,
                prev_hash=prev_hash,
                hash=digest,
            )

    by_key = dict(existing)
    for index, draft in enumerate(drafts):
        if results[index] is None:
            key = draft.idempotency_key
            assert key is not None  # only keyed drafts are skipped above
            first = by_key.get(key) or results[seen_keys[key]]
            assert first is not None
            results[index] = first
        elif draft.idempotency_key is not None:
            by_key.setdefault(draft.idempotency_key, results[index])  # type: ignore[arg-type]
    return [r for r in results if r is not None]


def post_mints(connection: Connection, mints: Sequence[Mint], *, now: datetime) -> list[str]:
    """Append one mint transaction per ``Mint``, in order; return their transaction ids.

    Exactly the rows, chain links and balance changes of ``post_transactions`` with
    ``mint_draft(m)`` for each mint (a test compares them byte for byte), without a draft
    object per event: the ingestion hot path. A mint only credits a guarded account (the
    user's pending energy), so it can never overdraw one.
    """
    if not mints:
        return []
    credits: dict[tuple[str, int], int] = {}
    entries = []
    for mint in mints:
        validate_mint(mint)
        user_pending = "user:" + mint.user_id + ":pending"
        grams = mint.energy_g
        shard = mint.shard
        key = (user_pending, shard)
        credits[key] = credits.get(key, 0) + grams
        refs_text = (
            '{"ball":'
            + encode_basestring(mint.ball_id)
            + ',"event":'
            + encode_basestring(mint.event_ref)
            + ',"rule":'
            + encode_basestring(mint.rule_ref)
            + "}"
        )  # refs_json of the three refs
        entries.append(
            (
                "mint",
                shard,
                None,
                None,
                refs_text,
                (("mint:" + mint.rule_id, shard, -grams), (user_pending, shard, grams)),
            )
        )
    appended = _append(connection, entries, now, before_rows=lambda: _add_credits(connection, credits))
    return [tx_id for tx_id, _seq, _prev, _digest in appended]


def _append(
    connection: Connection,
    entries: Sequence[tuple[str, int, str | None, str | None, str, tuple[tuple[str, int, int], ...]]],
    now: datetime,
    before_rows: Callable[[], None] | None = None,
) -> list[tuple[str, int, str, str]]:
    """Chain and insert ``entries`` (kind, shard, idempotency key, reverses, refs text,
    postings as (account, storage shard, grams)); return (id, seq, prev_hash, hash) of each.

    Locks the ledger heads of the entries' shards first (the global lock order), then runs
    ``before_rows`` (the balance updates), then writes transactions, postings and heads.
    """
    heads = lock_heads(connection, LEDGER_CHAIN, sorted({entry[1] for entry in entries}))
    if before_rows is not None:
        before_rows()
    created_text = format_instant(now)
    stored_now = db_instant(connection, now)
    tx_rows, posting_rows, out = [], [], []
    for (kind, shard, idempotency_key, reverses, refs_text, postings), tx_id in zip(
        entries, new_transaction_ids(len(entries)), strict=True
    ):
        seq, prev_hash = heads[shard]
        seq += 1
        digest = sha256_hex(
            transaction_canonical_bytes(
                id=tx_id,
                shard=shard,
                seq=seq,
                kind=kind,
                created_text=created_text,
                idempotency_key=idempotency_key,
                reverses=reverses,
                refs_text=refs_text,
                postings=postings,
                prev_hash=prev_hash,
            )
        )
        heads[shard] = (seq, digest)
        tx_rows.append((tx_id, shard, seq, kind, stored_now, idempotency_key, reverses, refs_text, prev_hash, digest))
        for idx, (account, posting_shard, grams) in enumerate(postings):
            posting_rows.append((tx_id, idx, account, posting_shard, grams, stored_now))
        out.append((tx_id, seq, prev_hash, digest))
    insert_tuples(connection, TX, _TX_COLUMNS, tx_rows)
    insert_tuples(connection, POSTINGS, _POSTING_COLUMNS, posting_rows)
    store_heads(connection, LEDGER_CHAIN, heads)
    return out


def _add_credits(connection: Connection, credits: dict[tuple[str, int], int]) -> None:
    """Add positive amounts to guarded balances: one upsert that increments, no read.

    A credit can never overdraw, so the replay of ``_apply_deltas`` is not needed; the
    upsert locks the rows in (account, shard) order, the global order of balance locks.
    """
    if any(grams <= 0 for grams in credits.values()):
        raise ValueError("credits must be positive amounts")
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    rows = [(account, shard, grams) for (account, shard), grams in sorted(credits.items())]
    sql = (
        f"INSERT INTO ledger_balances (account, shard, balance_g) VALUES ({mark}, {mark}, {mark}) "
        "ON CONFLICT (account, shard) DO UPDATE SET balance_g = ledger_balances.balance_g + excluded.balance_g"
    )
    if connection.dialect.name == "postgresql":
        sql = (
            "INSERT INTO ledger_balances (account, shard, balance_g) SELECT k->>0, (k->>1)::smallint, "
            "(k->>2)::bigint FROM json_array_elements(%s::json) AS x(k) ON CONFLICT (account, shard) "
            "DO UPDATE SET balance_g = ledger_balances.balance_g + excluded.balance_g"
        )
        connection.exec_driver_sql(sql, (json.dumps(rows),))
    else:
        connection.exec_driver_sql(sql, rows)


def _apply_guarded_balances(connection: Connection, drafts: Sequence[TransactionDraft]) -> None:
    """Apply the drafts to guarded balances; refuse any overdraft, even a transient one."""
    _apply_deltas(connection, [{k: v for k, v in d.deltas().items() if is_guarded(k[0])} for d in drafts])


def _apply_deltas(connection: Connection, per_item: Sequence[dict[tuple[str, int], int]]) -> None:
    """Apply guarded (account, shard) deltas, item after item; refuse any overdraft, even a transient one.

    The touched balance rows are locked and read (``_lock_balances``), the sequence is
    replayed in Python from those values, and the new values are written back.
    """
    keys = sorted({key for deltas in per_item for key in deltas})
    if not keys:
        return
    running = _lock_balances(connection, keys)
    for deltas in per_item:
        for key, delta in deltas.items():
            if running[key] + delta < 0:
                raise _overdraft([key[0]], running[key], -delta)
            running[key] += delta
    try:
        # The replayed values: the rows exist (PostgreSQL: created and locked by
        # _lock_balances) or are created here (SQLite, whose writers are serialised anyway).
        if connection.dialect.name == "postgresql":
            update_tuples(
                connection, BALANCES, ("balance_g",), ("account", "shard"), [(running[key], *key) for key in keys]
            )
        else:
            upsert_tuples(
                connection,
                BALANCES,
                ("account", "shard", "balance_g"),
                ("account", "shard"),
                [(*key, running[key]) for key in keys],
            )
    except IntegrityError as error:  # the CHECK (balance_g >= 0): cannot happen after the replay above
        raise _overdraft([k[0] for k in keys], None, None) from error


def _lock_balances(connection: Connection, keys: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Current balances of ``keys`` (missing rows count 0), locked against other writers.

    PostgreSQL: one upsert over the sorted keys (one JSON parameter) whose conflict branch
    rewrites the same value locks every row in (account, shard) order -- creating missing
    rows at 0 -- and returns the balances. (A plain upsert of the delta cannot be used: the CHECK on the proposed row
    would reject a negative delta before the conflict is even seen.) SQLite: the caller's
    BEGIN IMMEDIATE already excludes other writers, so a plain read suffices.
    """
    current = dict.fromkeys(keys, 0)
    if connection.dialect.name == "postgresql":
        # The conflict branch rewrites the same value: it locks each row in the order the
        # (sorted) arrays give them, creating missing rows at 0.
        sql = (
            "INSERT INTO ledger_balances (account, shard, balance_g) "
            "SELECT k->>0, (k->>1)::smallint, 0 FROM json_array_elements(%s::json) AS x(k) "
            "ON CONFLICT (account, shard) DO UPDATE SET balance_g = ledger_balances.balance_g "
            "RETURNING account, shard, balance_g"
        )
        rows = connection.exec_driver_sql(sql, (json.dumps(keys),))
    else:
        rows = (
            row
            for start in range(0, len(keys), _LOCK_CHUNK)
            for row in connection.exec_driver_sql(
                "SELECT account, shard, balance_g FROM ledger_balances WHERE account IN ("
                + ", ".join(["?"] * len(keys[start : start + _LOCK_CHUNK]))
                + ")",
                tuple(account for account, _shard in keys[start : start + _LOCK_CHUNK]),
            )
        )
    for account, shard, balance in rows:
        if (account, shard) in current:
            current[(account, shard)] = int(balance)
    return current


_LOCK_CHUNK = 900  # keys per statement: under SQLite's 999 host parameters


def _overdraft(accounts: list[str], balance_g: int | None, needed_g: int | None) -> InsufficientEnergy:
    names = ", ".join(accounts) or "a guarded account"
    if balance_g is not None and needed_g is not None:
        return InsufficientEnergy(
            f"{names} holds {balance_g} g; {needed_g} g are needed",
            accounts=accounts,
            balance_g=balance_g,
            needed_g=needed_g,
        )
    return InsufficientEnergy(f"not enough energy in {names}", accounts=accounts)


def _existing_by_key(connection: Connection, keys: list[str]) -> dict[str, PostedTransaction]:
    if not keys:
        return {}
    rows = connection.execute(select(TX).where(TX.c.idempotency_key.in_(sorted(set(keys))))).all()
    return {tx.idempotency_key: tx for tx in _with_postings(connection, rows)}


def _with_postings(connection: Connection, tx_rows: Sequence) -> list[PostedTransaction]:
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
