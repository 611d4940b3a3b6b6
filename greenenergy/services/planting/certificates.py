"""Certificates: issued at each planting confirmation, shown publicly, exchanged three for
one national voluntary tree-planting certificate.

A confirmation issues one certificate per holder of the tree (a co-planted tree: each
member with their share), numbered and hashed by the core (``planting.certificates``).
``certificate_hash`` covers every fact shown, including the hash of the ledger ``redeem``
transaction and the hash of the confirmation, so a reader can check the chain
energy -> tree -> confirmation from the certificate alone.

National exchange: the core chooses the three oldest eligible certificates of the year;
each planting certificate can be used by one national certificate only -- the primary key
of ``national_certificate_parts`` refuses a second use even when two requests race (the
loser retries and then finds the certificates used).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from greenenergy.db import planting_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.db.tables_planting import NationalCertificatePartRow, NationalCertificateRow
from greenenergy.errors import InvalidInput, NotFound
from greenenergy.ids import check_id
from greenenergy.periods import local_date
from greenenergy.planting import (
    CertificateFacts,
    certificate_hash,
    certificate_number,
    exchange_national,
    national_certificate_number,
    normalize_certificate_number,
)
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of

NATIONAL = NationalCertificateRow.__table__
PARTS = NationalCertificatePartRow.__table__
EXCHANGE_ATTEMPTS = 3


def certificate_rows(
    *,
    tree: planting_repo.TreeState,
    holders: list[tuple[str, int, int]],
    confirmation_id: str,
    confirmation_hash: str,
    planted_at: datetime,
    planting_no: int,
    now: datetime,
    tz: ZoneInfo,
) -> list[dict[str, object]]:
    """The certificate rows of one confirmation: one per ``(holder_id, shard, share_g)``."""
    issued_on = local_date(now, tz)
    rows = []
    for holder_id, shard, share_g in holders:
        facts = CertificateFacts(
            certificate_no=certificate_number(tree.tree_id, holder_id, issued_on, planting_no=planting_no),
            holder_id=holder_id,
            tree_id=tree.tree_id,
            species_id=tree.species_id,
            plot_id=tree.plot_id,
            partner_id=tree.partner_id,
            kind="planting" if tree.kind == "planting" else "conservation",
            quantity=tree.quantity,
            energy_g=tree.energy_g,
            share_g=share_g,
            redeemed_at=tree.redeemed_at,
            planted_at=planted_at,
            issued_on=issued_on,
            planting_no=planting_no,
            ledger_tx_hash=tree.redeem_tx_hash,
            confirmation_hash=confirmation_hash,
        )
        rows.append(
            {
                **{name: getattr(facts, name) for name in planting_repo.FACT_NAMES},
                "shard": shard,
                "confirmation_id": confirmation_id,
                "issued_at": now,
                "ledger_tx_id": tree.redeem_tx_id,
                "certificate_hash": certificate_hash(facts),
            }
        )
    return rows


def certificate_view(row: object, *, national_no: str | None = None) -> dict[str, object]:
    facts = planting_repo.certificate_facts(row)
    return {
        **{name: getattr(facts, name) for name in planting_repo.FACT_NAMES},
        "ledger_tx_id": row.ledger_tx_id,  # type: ignore[attr-defined]
        "confirmation_id": row.confirmation_id,  # type: ignore[attr-defined]
        "issued_at": row.issued_at,  # type: ignore[attr-defined]
        "certificate_hash": row.certificate_hash,  # type: ignore[attr-defined]
        "national_no": national_no,
    }


def get_certificate(runtime: Runtime, certificate_no: str) -> dict[str, object]:
    """A certificate and the hashes that prove it (``GET /v1/certificates/{no}``, public)."""
    number = normalize_certificate_number(certificate_no)
    with read_tx(runtime.engine) as connection:
        row = planting_repo.certificate_row(connection, number)
        if row is None:
            raise NotFound(f"no planting certificate {number}", code="certificate_not_found")
        national_no = connection.execute(
            select(PARTS.c.national_no).where(PARTS.c.certificate_no == number)
        ).scalar_one_or_none()
    view = certificate_view(row, national_no=national_no)
    current = planting_catalog.catalog(runtime)
    plot = current.plots.get(row.plot_id)
    partner = current.partners.get(row.partner_id)
    species = current.species.get(row.species_id)
    view["plot_name"] = plot.name.en if plot else None
    view["partner_name"] = partner.name.en if partner else None
    view["species_name"] = species.names.en if species else None
    # Recomputed here, so a reader sees at once whether the stored facts still match their hash.
    view["hash_verified"] = certificate_hash(planting_repo.certificate_facts(row)) == row.certificate_hash
    return view


def list_certificates(runtime: Runtime, user_id: str) -> list[dict[str, object]]:
    """The user's planting certificates, oldest first, with the national certificate that used each."""
    with read_tx(runtime.engine) as connection:
        rows = planting_repo.certificates_of_holder(connection, user_id)
        used = _used_by(connection, user_id)
    return [certificate_view(row, national_no=used.get(row.certificate_no)) for row in rows]


def _used_by(connection: Connection, holder_id: str) -> dict[str, str]:
    query = (
        select(PARTS.c.certificate_no, PARTS.c.national_no)
        .join(NATIONAL, NATIONAL.c.national_no == PARTS.c.national_no)
        .where(NATIONAL.c.holder_id == holder_id)
    )
    return {row.certificate_no: row.national_no for row in connection.execute(query)}


def exchange(runtime: Runtime, user_id: str, year: int) -> dict[str, object]:
    """Use three unused whole-tree planting certificates of ``year`` for one national certificate."""
    check_id(user_id, what="user_id")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 9999:
        raise InvalidInput(f"year must be a calendar year such as 2026, got {year!r}", code="invalid_year")
    for attempt in range(EXCHANGE_ATTEMPTS):
        try:
            with write_tx(runtime.engine) as connection:
                return _exchange_in_tx(connection, user_id, year, runtime.clock.now())
        except IntegrityError:
            # Another exchange used one of these certificates first: choose again.
            if attempt == EXCHANGE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _exchange_in_tx(connection: Connection, user_id: str, year: int, now: datetime) -> dict[str, object]:
    rows = planting_repo.certificates_of_holder(connection, user_id)
    used = set(_used_by(connection, user_id))
    chosen = exchange_national([planting_repo.certificate_facts(row) for row in rows], year, used)
    national_no = national_certificate_number(user_id, year, chosen)
    connection.execute(
        NATIONAL.insert(),
        [
            {
                "national_no": national_no,
                "holder_id": user_id,
                "shard": shard_of(user_id),
                "year": year,
                "issued_at": now,
            }
        ],
    )
    connection.execute(PARTS.insert(), [{"certificate_no": no, "national_no": national_no} for no in chosen])
    return {"national_no": national_no, "holder_id": user_id, "year": year, "issued_at": now, "certificates": chosen}


def list_national(runtime: Runtime, user_id: str) -> list[dict[str, object]]:
    with read_tx(runtime.engine) as connection:
        nationals = list(
            connection.execute(
                select(NATIONAL)
                .where(NATIONAL.c.holder_id == user_id)
                .order_by(NATIONAL.c.issued_at, NATIONAL.c.national_no)
            )
        )
        parts: dict[str, list[str]] = {}
        if nationals:
            certificates = planting_repo.CERTIFICATES
            query = (
                select(PARTS.c.national_no, PARTS.c.certificate_no)
                .join(certificates, certificates.c.certificate_no == PARTS.c.certificate_no)
                .where(PARTS.c.national_no.in_([n.national_no for n in nationals]))
                .order_by(certificates.c.issued_on, certificates.c.planted_at, PARTS.c.certificate_no)
            )
            for row in connection.execute(query):
                parts.setdefault(row.national_no, []).append(row.certificate_no)
    return [
        {
            "national_no": n.national_no,
            "holder_id": n.holder_id,
            "year": n.year,
            "issued_at": n.issued_at,
            "certificates": parts.get(n.national_no, []),
        }
        for n in nationals
    ]
