"""Reading planting certificates, and loading and storing the national-certificate exchange.

A planting certificate is read back as ``planting.certificates.Certificate`` (its facts, the
stored hash, where it came from). The exchange loads one holder's certificates and the ones
their earlier national certificates used; ``store_national`` writes the national certificate
and its parts, whose primary key (a planting certificate is used at most once) refuses a
concurrent exchange of the same certificates -- ``in_write_tx`` then runs the loser again,
and its fresh load finds them used.
"""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import Connection, Row, select

from greenenergy.db.tables_planting import NationalCertificatePartRow, NationalCertificateRow, PlantingCertificateRow
from greenenergy.planting.certificates import Certificate, CertificateFacts, NationalCertificate

CERTIFICATES = PlantingCertificateRow.__table__
NATIONAL = NationalCertificateRow.__table__
PARTS = NationalCertificatePartRow.__table__
FACT_NAMES = tuple(f.name for f in fields(CertificateFacts))


def _certificate(row: Row) -> Certificate:
    facts = CertificateFacts(**{name: getattr(row, name) for name in FACT_NAMES})
    return Certificate(facts, row.shard, row.confirmation_id, row.issued_at, row.ledger_tx_id, row.certificate_hash)


def certificate(connection: Connection, certificate_no: str) -> tuple[Certificate, str | None] | None:
    """One certificate and the national certificate that used it (None: no such number)."""
    query = (
        select(CERTIFICATES, PARTS.c.national_no)
        .outerjoin(PARTS, PARTS.c.certificate_no == CERTIFICATES.c.certificate_no)
        .where(CERTIFICATES.c.certificate_no == certificate_no)
    )
    row = connection.execute(query).first()
    return None if row is None else (_certificate(row), row.national_no)


def certificates_of_holder(connection: Connection, holder_id: str) -> list[tuple[Certificate, str | None]]:
    """The holder's certificates, oldest first, each with the national certificate that used it."""
    query = (
        select(CERTIFICATES, PARTS.c.national_no)
        .outerjoin(PARTS, PARTS.c.certificate_no == CERTIFICATES.c.certificate_no)
        .where(CERTIFICATES.c.holder_id == holder_id)
        .order_by(CERTIFICATES.c.issued_at, CERTIFICATES.c.certificate_no)
    )
    return [(_certificate(row), row.national_no) for row in connection.execute(query)]


def load_exchange(connection: Connection, holder_id: str) -> tuple[list[CertificateFacts], set[str]]:
    """For ``planting.certificates.decide_national``: the holder's certificates, and those
    already used by a national certificate."""
    mine = certificates_of_holder(connection, holder_id)
    return [c.facts for c, _ in mine], {c.facts.certificate_no for c, used in mine if used is not None}


def store_national(connection: Connection, national: NationalCertificate) -> None:
    connection.execute(
        NATIONAL.insert(),
        [{"national_no": national.national_no, "holder_id": national.holder_id, "shard": national.shard,
          "year": national.year, "issued_at": national.issued_at}],
    )  # fmt: skip
    connection.execute(
        PARTS.insert(), [{"certificate_no": no, "national_no": national.national_no} for no in national.certificates]
    )


def national_of_holder(connection: Connection, holder_id: str) -> list[NationalCertificate]:
    """The holder's national certificates, oldest first, each with its planting certificates
    in the order they were issued (a view)."""
    nationals = list(
        connection.execute(
            select(NATIONAL)
            .where(NATIONAL.c.holder_id == holder_id)
            .order_by(NATIONAL.c.issued_at, NATIONAL.c.national_no)
        )
    )
    parts: dict[str, list[str]] = {n.national_no: [] for n in nationals}
    if nationals:
        query = (
            select(PARTS.c.national_no, PARTS.c.certificate_no)
            .join(CERTIFICATES, CERTIFICATES.c.certificate_no == PARTS.c.certificate_no)
            .where(PARTS.c.national_no.in_(list(parts)))
            .order_by(CERTIFICATES.c.issued_on, CERTIFICATES.c.planted_at, PARTS.c.certificate_no)
        )
        for row in connection.execute(query):
            parts[row.national_no].append(row.certificate_no)
    return [
        NationalCertificate(n.national_no, n.holder_id, n.year, n.issued_at, parts[n.national_no]) for n in nationals
    ]
