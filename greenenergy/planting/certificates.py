"""Planting certificates: their numbers, their verifiable hash, and the national exchange.

Number: ``GE-<year>-XXXX-XXXX-XXXX-XXXX``, the year of issue (local) and the first 80 bits
of SHA-256 over the canonical bytes of ``{"holder_id", "planting_no", "tree_id"}``, in
Crockford base32 (digits and capitals without I, L, O, U, so it reads aloud and types
safely; ``normalize_certificate_number`` forgives lower case and O/I/L typos). One tree
gives one certificate per holder (a co-planting member each get their own) and per
planting (a replanted tree's new certificate has ``planting_no`` 2, ...). Numbers are
therefore distinct for distinct inputs up to an 80-bit hash collision (about 4e-7 for
10^9 certificates); the database keeps them under a unique constraint as well.

Hash: ``certificate_hash`` is SHA-256 of the canonical bytes (see ``canonical``) of every
field of ``CertificateFacts``, including the ledger transaction hash and the confirmation
hash that tie it to the energy spent and to the partner's evidence.

National exchange: three planting certificates issued to one holder in one calendar year
exchange for one national voluntary tree-planting certificate. Eligible: kind
``planting``, a whole tree (``share_g == energy_g``: co-planting shares do not count), the
first planting (``planting_no == 1``: a free replacement of a dead tree does not count),
issued that year, not used by an earlier exchange. The oldest eligible ones are used.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from greenenergy.periods import local_date
from greenenergy.planting.canonical import canonical_bytes, sha256_hex
from greenenergy.planting.errors import InvalidCertificateNumber, NotEnoughCertificates
from greenenergy.planting.records import Holder, TreeState
from greenenergy.units import shard_of

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 16  # 80 bits
CERTIFICATES_PER_NATIONAL = 3
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_NUMBER = re.compile(r"^(GE|GN)(\d{4})([0-9A-HJKMNP-TV-Z]{16})$")


def _code(payload: dict[str, object]) -> str:
    digest = int.from_bytes(hashlib.sha256(canonical_bytes(payload)).digest()[:10], "big")
    chars = [CROCKFORD[(digest >> (5 * shift)) & 31] for shift in reversed(range(CODE_CHARS))]
    return "-".join("".join(chars[i : i + 4]) for i in range(0, CODE_CHARS, 4))


def certificate_number(tree_id: str, holder_id: str, issued_on: date, *, planting_no: int = 1) -> str:
    """``GE-2026-7KQ2-M9XD-4H3P-WT6B``: deterministic from tree, holder and planting number."""
    code = _code({"tree_id": tree_id, "holder_id": holder_id, "planting_no": int(planting_no)})
    return f"GE-{issued_on.year:04d}-{code}"


def national_certificate_number(holder_id: str, year: int, certificate_nos: Iterable[str]) -> str:
    """``GN-<year>-...``: the national certificate made of these planting certificates."""
    used = ",".join(sorted(certificate_nos))
    return f"GN-{year:04d}-{_code({'holder_id': holder_id, 'year': int(year), 'certificates': used})}"


def normalize_certificate_number(text: str) -> str:
    """The canonical spelling of a typed certificate number, or ``InvalidCertificateNumber``."""
    compact = re.sub(r"[\s-]", "", text).upper() if isinstance(text, str) else ""
    match = _NUMBER.match(compact[:2] + compact[2:].translate(_CONFUSABLE))
    if match is None:
        raise InvalidCertificateNumber(f"{text!r} is not a certificate number like GE-2026-7KQ2-M9XD-4H3P-WT6B")
    prefix, year, code = match.groups()
    return f"{prefix}-{year}-" + "-".join(code[i : i + 4] for i in range(0, CODE_CHARS, 4))


@dataclass(frozen=True)
class CertificateFacts:
    """What a certificate states; all of it is covered by ``certificate_hash``."""

    certificate_no: str
    holder_id: str
    tree_id: str
    species_id: str
    plot_id: str
    partner_id: str
    kind: Literal["planting", "conservation"]
    quantity: int  # 1 tree, or the number of m2
    energy_g: int  # the whole redemption's price
    share_g: int  # the holder's part of it (== energy_g unless co-planted)
    redeemed_at: datetime
    planted_at: datetime
    issued_on: date  # local date of issue; its year is the certificate's year
    planting_no: int
    ledger_tx_hash: str
    confirmation_hash: str


def certificate_record(facts: CertificateFacts) -> dict[str, object]:
    return asdict(facts)


def certificate_hash(facts: CertificateFacts) -> str:
    """SHA-256 (hex) of the certificate's canonical bytes."""
    return sha256_hex(canonical_bytes(certificate_record(facts)))


def eligible_for_national(facts: CertificateFacts, year: int) -> bool:
    return (
        facts.kind == "planting"
        and facts.share_g == facts.energy_g
        and facts.planting_no == 1
        and facts.issued_on.year == year
    )


def exchange_national(certificates: Iterable[CertificateFacts], year: int, already_used: set[str]) -> list[str]:
    """The three certificate numbers one national certificate of ``year`` consumes.

    ``certificates`` are one holder's; ``already_used`` holds numbers spent by earlier
    exchanges. Raises ``NotEnoughCertificates`` when fewer than three are eligible.
    """
    chosen: dict[str, CertificateFacts] = {}
    holders: set[str] = set()
    for facts in certificates:
        holders.add(facts.holder_id)
        if facts.certificate_no not in already_used and eligible_for_national(facts, year):
            chosen.setdefault(facts.certificate_no, facts)
    if len(holders) > 1:
        raise ValueError("exchange_national takes the certificates of one holder")
    oldest = sorted(chosen.values(), key=lambda f: (f.issued_on, f.planted_at, f.certificate_no))
    if len(oldest) < CERTIFICATES_PER_NATIONAL:
        raise NotEnoughCertificates(
            f"{len(oldest)} unused planting certificates of {year}; "
            f"{CERTIFICATES_PER_NATIONAL} whole-tree planting certificates of one year are needed",
            available=len(oldest),
        )
    return [facts.certificate_no for facts in oldest[:CERTIFICATES_PER_NATIONAL]]


@dataclass(frozen=True, slots=True)
class Certificate:
    """A stored planting certificate: its facts, their hash, and where it came from."""

    facts: CertificateFacts
    shard: int  # the holder's
    confirmation_id: str
    issued_at: datetime
    ledger_tx_id: str
    certificate_hash: str

    @property
    def verified(self) -> bool:
        """Whether the stored facts still match their stored hash."""
        return certificate_hash(self.facts) == self.certificate_hash


def issue_certificates(
    tree: TreeState,
    holders: Sequence[Holder],
    *,
    confirmation_id: str,
    confirmation_hash: str,
    planted_at: datetime,
    planting_no: int,
    now: datetime,
    tz: ZoneInfo,
) -> list[Certificate]:
    """The certificates one planting confirmation issues: one per holder of the tree (a
    co-planted tree: each member with their share), dated the local day of ``now``."""
    issued_on = local_date(now, tz)
    issued = []
    for holder in holders:
        facts = CertificateFacts(
            certificate_no=certificate_number(tree.tree_id, holder.holder_id, issued_on, planting_no=planting_no),
            holder_id=holder.holder_id,
            tree_id=tree.tree_id,
            species_id=tree.species_id,
            plot_id=tree.plot_id,
            partner_id=tree.partner_id,
            kind="planting" if tree.kind == "planting" else "conservation",
            quantity=tree.quantity,
            energy_g=tree.energy_g,
            share_g=holder.share_g,
            redeemed_at=tree.redeemed_at,
            planted_at=planted_at,
            issued_on=issued_on,
            planting_no=planting_no,
            ledger_tx_hash=tree.redeem_tx_hash,
            confirmation_hash=confirmation_hash,
        )
        issued.append(
            Certificate(facts, holder.shard, confirmation_id, now, tree.redeem_tx_id, certificate_hash(facts))
        )
    return issued


@dataclass(frozen=True, slots=True)
class NationalCertificate:
    """A national voluntary tree-planting certificate and the planting certificates it used."""

    national_no: str
    holder_id: str
    year: int
    issued_at: datetime
    certificates: list[str]

    @property
    def shard(self) -> int:
        return shard_of(self.holder_id)


def decide_national(
    holder_id: str, year: int, certificates: Iterable[CertificateFacts], already_used: set[str], *, now: datetime
) -> NationalCertificate:
    """The national certificate of ``year`` that ``holder_id``'s oldest three eligible
    planting certificates exchange for (``exchange_national``); ``NotEnoughCertificates``."""
    chosen = exchange_national(certificates, year, already_used)
    return NationalCertificate(national_certificate_number(holder_id, year, chosen), holder_id, year, now, chosen)
