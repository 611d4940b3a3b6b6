"""Certificates: issued at each planting confirmation (``planting.reports``), shown publicly,
exchanged three for one national voluntary tree-planting certificate.

``certificate_hash`` covers every fact shown, including the hash of the ledger ``redeem``
transaction and the hash of the confirmation, so a reader can check the chain energy ->
tree -> confirmation from the certificate alone.

National exchange, load -> decide -> store in one commit (``planting_certificates_repo``,
``planting.certificates.decide_national``): the core chooses the three oldest eligible
certificates of the year; each planting certificate can be used by one national certificate
only -- the primary key of ``national_certificate_parts`` refuses a second use even when two
requests race, and ``in_write_tx`` runs the loser again, which then finds them used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from greenenergy.db import planting_certificates_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.errors import InvalidInput, NotFound
from greenenergy.ids import check_id
from greenenergy.planting import normalize_certificate_number
from greenenergy.planting.certificates import Certificate, NationalCertificate, decide_national
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.runtime import Runtime


@dataclass(frozen=True)
class CertificateView:
    """A certificate and the hashes that prove it; names and ``hash_verified`` on the public page."""

    certificate_no: str
    holder_id: str
    tree_id: str
    species_id: str
    plot_id: str
    partner_id: str
    kind: str
    quantity: int
    energy_g: int
    share_g: int
    redeemed_at: datetime
    planted_at: datetime
    issued_on: date
    issued_at: datetime
    planting_no: int
    ledger_tx_id: str
    ledger_tx_hash: str
    confirmation_id: str
    confirmation_hash: str
    certificate_hash: str
    national_no: str | None
    species_name: str | None = None
    plot_name: str | None = None
    partner_name: str | None = None
    hash_verified: bool | None = None


def certificate_view(certificate: Certificate, national_no: str | None, **page: object) -> CertificateView:
    facts = certificate.facts
    return CertificateView(
        certificate_no=facts.certificate_no,
        holder_id=facts.holder_id,
        tree_id=facts.tree_id,
        species_id=facts.species_id,
        plot_id=facts.plot_id,
        partner_id=facts.partner_id,
        kind=facts.kind,
        quantity=facts.quantity,
        energy_g=facts.energy_g,
        share_g=facts.share_g,
        redeemed_at=facts.redeemed_at,
        planted_at=facts.planted_at,
        issued_on=facts.issued_on,
        issued_at=certificate.issued_at,
        planting_no=facts.planting_no,
        ledger_tx_id=certificate.ledger_tx_id,
        ledger_tx_hash=facts.ledger_tx_hash,
        confirmation_id=certificate.confirmation_id,
        confirmation_hash=facts.confirmation_hash,
        certificate_hash=certificate.certificate_hash,
        national_no=national_no,
        **page,  # type: ignore[arg-type]
    )


def get_certificate(runtime: Runtime, certificate_no: str) -> CertificateView:
    """A certificate and the hashes that prove it (``GET /v1/certificates/{no}``, public)."""
    number = normalize_certificate_number(certificate_no)
    with read_tx(runtime.engine) as connection:
        found = planting_certificates_repo.certificate(connection, number)
    if found is None:
        raise NotFound(f"no planting certificate {number}", code="certificate_not_found")
    certificate, national_no = found
    current = planting_catalog.catalog(runtime)
    plot = current.plots.get(certificate.facts.plot_id)
    partner = current.partners.get(certificate.facts.partner_id)
    species = current.species.get(certificate.facts.species_id)
    return certificate_view(
        certificate,
        national_no,
        plot_name=plot.name.en if plot else None,
        partner_name=partner.name.en if partner else None,
        species_name=species.names.en if species else None,
        # Recomputed here, so a reader sees at once whether the stored facts still match their hash.
        hash_verified=certificate.verified,
    )


def list_certificates(runtime: Runtime, user_id: str) -> list[CertificateView]:
    """The user's planting certificates, oldest first, with the national certificate that used each."""
    with read_tx(runtime.engine) as connection:
        mine = planting_certificates_repo.certificates_of_holder(connection, user_id)
    return [certificate_view(certificate, national_no) for certificate, national_no in mine]


def exchange(runtime: Runtime, user_id: str, year: int) -> NationalCertificate:
    """Use three unused whole-tree planting certificates of ``year`` for one national certificate."""
    check_id(user_id, what="user_id")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 9999:
        raise InvalidInput(f"year must be a calendar year such as 2026, got {year!r}", code="invalid_year")
    now = runtime.clock.now()

    def work(connection: Tx) -> NationalCertificate:
        certificates, used = planting_certificates_repo.load_exchange(connection, user_id)
        national = decide_national(user_id, year, certificates, used, now=now)
        planting_certificates_repo.store_national(connection, national)
        return national

    return in_write_tx(runtime.engine, work)


def list_national(runtime: Runtime, user_id: str) -> list[NationalCertificate]:
    with read_tx(runtime.engine) as connection:
        return planting_certificates_repo.national_of_holder(connection, user_id)
