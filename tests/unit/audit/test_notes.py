"""Signed notes, keys, checkpoints and cosignatures: published vectors, round trips, refusals.

Vectors: golang.org/x/mod/sumdb/note (its examples and tests: PeterNeumann's keys and
signed note, EnochRoot's key generated from an all-zero seed), c2sp.org/signed-note
(example.com/foo), c2sp.org/tlog-cosignature (the example cosignature line and its
timestamp) and transparency-dev/formats (a real cosigner vkey, type 0x04).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from greenenergy.audit.notes import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Checkpoint,
    SignerKey,
    VerifierKey,
    cosign,
    cosignature_message,
    format_checkpoint,
    generate_signer_key,
    open_note,
    parse_checkpoint,
    parse_signer_key,
    parse_vkey,
    sign_note,
    verify_cosignature,
)
from greenenergy.errors import NoteError

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
ROOT = hashlib.sha256(b"root").digest()


def codes(call: Callable[[], object]) -> str:
    with pytest.raises(NoteError) as caught:
        call()
    return caught.value.code


# -- published vectors ----------------------------------------------------------------


def test_golang_note_vectors_sign_and_open() -> None:
    peter = parse_signer_key(PETER_SKEY)
    assert peter.verifier.vkey == PETER_VKEY
    assert peter.private_key == PETER_SKEY
    assert sign_note(TEXT, peter) == TEXT + "\n" + PETER_SIG  # Ed25519 is deterministic

    opened = open_note(TEXT + "\n" + PETER_SIG, [PETER_VKEY])
    assert opened.body == TEXT
    assert [(s.name, s.key_id.hex()) for s in opened.signatures] == [("PeterNeumann", "c74f20a3")]
    assert opened.unknown_lines == ()


def test_golang_enoch_root_key_from_an_all_zero_seed() -> None:
    # ExampleSign_add_signatures generates EnochRoot's key with a reader of zeros.
    enoch = SignerKey("EnochRoot", ALG_ED25519, bytes(32))
    assert enoch.verifier.vkey == ENOCH_VKEY
    assert sign_note(TEXT, parse_signer_key(PETER_SKEY), enoch) == TEXT + "\n" + PETER_SIG + ENOCH_SIG
    both = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [PETER_VKEY, ENOCH_VKEY])
    assert [s.name for s in both.signatures] == ["PeterNeumann", "EnochRoot"]
    one = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [PETER_VKEY])
    assert one.unknown_lines == (ENOCH_SIG[:-1],)


def test_c2sp_signed_note_example_verifies() -> None:
    vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    note = (
        "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONn"
        "cAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
    )
    assert open_note(note, [vkey]).body == "This is an example message.\n"
    assert codes(lambda: open_note(note.replace("example message", "example massage"), [vkey])) == ("invalid_signature")


def test_a_real_cosigner_vkey_has_the_type_0x04_key_id() -> None:
    witness = parse_vkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
    assert witness.algorithm == ALG_COSIGNATURE_V1
    # The same key bytes as an Ed25519 note key would have another key id.
    assert VerifierKey(witness.name, ALG_ED25519, witness.public_key).key_id.hex() != "da77ade7"


def test_c2sp_cosignature_example_line_layout() -> None:
    # tlog-cosignature's example: key id ‖ 8-byte big-endian timestamp ‖ 64-byte signature;
    # its example signed message says "time 1679315147".
    raw = base64.b64decode(
        "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    )
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == 1679315147
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cosignature_message(body, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


# -- keys -----------------------------------------------------------------------------


def test_mangled_keys_are_refused_like_golang() -> None:
    for text in (PETER_VKEY, PETER_SKEY):
        parse = parse_signer_key if text.startswith("PRIVATE") else parse_vkey
        for start in range(len(text) + 1):
            for end in range(start + 1, len(text) + 1):
                if (start, end) != (0, len(text)):
                    with pytest.raises(NoteError):
                        parse(text[start:end])
        for position in range(len(text)):
            bumped = text[:position] + chr(ord(text[position]) + 1) + text[position + 1 :]
            with pytest.raises(NoteError):
                parse(bumped)
    # golang's own: a key of the wrong length and an unknown type, each with a matching key id.
    assert codes(lambda: parse_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")) == (
        "invalid_key"
    )
    assert codes(lambda: parse_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")) == (
        "invalid_key"
    )


def test_generated_keys_round_trip_and_hide_the_seed() -> None:
    for algorithm in (ALG_ED25519, ALG_COSIGNATURE_V1):
        key = generate_signer_key("witness.example/w1", algorithm)
        assert parse_signer_key(key.private_key) == key
        assert parse_vkey(key.verifier.vkey) == key.verifier
        assert key.seed.hex() not in repr(key) and str(key.seed) not in repr(key)
    assert codes(lambda: SignerKey("bad name", ALG_ED25519, bytes(32))) == "invalid_key"
    assert codes(lambda: SignerKey("a+b", ALG_ED25519, bytes(32))) == "invalid_key"
    assert codes(lambda: SignerKey("x", 0x02, bytes(32))) == "invalid_key"


# -- notes ----------------------------------------------------------------------------


def test_a_changed_note_is_refused() -> None:
    log = generate_signer_key("greenenergy.example/log")
    note = sign_note("hello\nworld\n", log)
    assert open_note(note, [log.verifier]).body == "hello\nworld\n"

    assert codes(lambda: open_note(note.replace("world", "World"), [log.verifier])) == "invalid_signature"
    line = note.splitlines()[-1]
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    for position in (4, 40, len(raw) - 1):  # a byte of the signature itself
        changed = bytearray(raw)
        changed[position] ^= 0x01
        tampered = note.replace(line.split(" ")[2], base64.b64encode(bytes(changed)).decode())
        assert codes(lambda text=tampered: open_note(text, [log.verifier])) == "invalid_signature"
    other = generate_signer_key("greenenergy.example/log")  # same name, another key
    assert codes(lambda: open_note(note, [other.verifier])) == "unverified_note"
    assert codes(lambda: open_note(note, [])) == "unverified_note"


def test_malformed_notes_are_refused_like_golang() -> None:
    peter = parse_vkey(PETER_VKEY)
    bad = [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6"
        "KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
        TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG,
    ]
    for text in bad:
        assert codes(lambda text=text: open_note(text, [peter])) == "malformed_note", text
    assert codes(lambda: open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [peter])) == "malformed_note"
    assert codes(lambda: sign_note("no final newline", generate_signer_key("x"))) == "malformed_note"
    assert codes(lambda: sign_note("tab\tinside\n", generate_signer_key("x"))) == "malformed_note"


def test_repeated_signatures_are_kept_once_and_a_broken_duplicate_is_ignored() -> None:
    # golang TestOpen: the first verified line of a key counts, later ones are skipped.
    broken_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    opened = open_note(TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + broken_enoch, [PETER_VKEY])
    assert len(opened.signatures) == 1
    assert opened.unknown_lines == (ENOCH_SIG[:-1], broken_enoch[:-1])
    assert codes(lambda: open_note(TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], [PETER_VKEY])) == (
        "invalid_signature"
    )


def test_one_key_listed_twice_is_one_key_but_two_keys_with_one_id_are_refused() -> None:
    enoch = parse_vkey(ENOCH_VKEY)
    assert open_note(TEXT + "\n" + ENOCH_SIG, [enoch, parse_vkey(ENOCH_VKEY)]).body == TEXT

    class Colliding(VerifierKey):  # stands for a key id collision, which SHA-256 makes rare
        @property
        def key_id(self) -> bytes:
            return enoch.key_id

    impostor = Colliding(enoch.name, ALG_ED25519, parse_vkey(PETER_VKEY).public_key)
    assert codes(lambda: open_note(TEXT + "\n" + ENOCH_SIG, [enoch, impostor])) == "invalid_key"
    assert open_note(TEXT + "\n" + PETER_SIG, [enoch, impostor, PETER_VKEY]).body == TEXT  # unused


# -- checkpoints ----------------------------------------------------------------------


def test_checkpoints_round_trip() -> None:
    body = format_checkpoint("greenenergy.example/log", 20852163, ROOT)
    assert body == f"greenenergy.example/log\n20852163\n{base64.b64encode(ROOT).decode()}\n"
    assert parse_checkpoint(body) == Checkpoint("greenenergy.example/log", 20852163, ROOT)
    with_time = format_checkpoint("o", 0, ROOT, ["time 2026-12-07T23:00:00Z"])
    assert parse_checkpoint(with_time).extensions == ("time 2026-12-07T23:00:00Z",)
    assert parse_checkpoint(with_time).body == with_time


def test_malformed_checkpoints_are_refused() -> None:
    root64 = base64.b64encode(ROOT).decode()
    bad = [
        f"o\n5\n{root64}",  # no final newline
        "o\n5\n",  # no root line
        f"\n5\n{root64}\n",  # empty origin
        f"o\n05\n{root64}\n",  # leading zero
        f"o\n+5\n{root64}\n",
        f"o\n 5\n{root64}\n",
        f"o\n٥\n{root64}\n",  # a non-ASCII digit
        f"o\n{2**63}\n{root64}\n",
        f"o\n5\n{root64[:-1]}\n",
        f"o\n5\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"o\n5\n{root64}\n\n",  # an empty extension line
    ]
    for body in bad:
        assert codes(lambda body=body: parse_checkpoint(body)) == "malformed_note", body
    for call in (
        lambda: format_checkpoint("", 1, ROOT),
        lambda: format_checkpoint("o\nx", 1, ROOT),
        lambda: format_checkpoint("o", -1, ROOT),
        lambda: format_checkpoint("o", 1, ROOT[:5]),
        lambda: format_checkpoint("o", 1, ROOT, [""]),
    ):
        assert codes(call) == "malformed_note"


# -- cosignatures ---------------------------------------------------------------------


def test_cosignatures_round_trip_and_match_the_spec_message() -> None:
    witness = generate_signer_key("witness.example/w1", ALG_COSIGNATURE_V1)
    body = format_checkpoint("greenenergy.example/log", 42, ROOT, ["extension"])
    line = cosign(body, witness, 1_796_684_400)
    assert verify_cosignature(line, body, witness.verifier) == 1_796_684_400
    assert verify_cosignature(line + "\n", body, witness.verifier.vkey) == 1_796_684_400

    # Checked by hand from the spec, with cryptography directly: key id, time, signature.
    name, encoded = line.removeprefix("— ").split(" ")
    raw = base64.b64decode(encoded)
    assert name == "witness.example/w1"
    assert raw[:4] == hashlib.sha256(b"witness.example/w1\n\x04" + witness.public_key).digest()[:4]
    assert raw[4:12] == (1_796_684_400).to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1796684400\n" + body.encode()
    Ed25519PublicKey.from_public_bytes(witness.public_key).verify(raw[12:], message)

    # The log's signature and the witness's cosignature side by side in one note.
    log = generate_signer_key("greenenergy.example/log")
    note = sign_note(body, log) + line + "\n"
    opened = open_note(note, [log.verifier, witness.verifier])
    assert [(s.name, s.timestamp_s) for s in opened.signatures] == [
        ("greenenergy.example/log", None),
        ("witness.example/w1", 1_796_684_400),
    ]


def test_spoiled_cosignatures_are_refused() -> None:
    witness = generate_signer_key("witness.example/w1", ALG_COSIGNATURE_V1)
    body = format_checkpoint("greenenergy.example/log", 42, ROOT)
    line = cosign(body, witness, 1_796_684_400)
    other_body = format_checkpoint("greenenergy.example/log", 43, ROOT)
    assert codes(lambda: verify_cosignature(line, other_body, witness.verifier)) == "invalid_signature"

    name, encoded = line.removeprefix("— ").split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[11] ^= 0x01  # the timestamp: the witness did not sign that time
    later = f"— {name} {base64.b64encode(bytes(raw)).decode()}"
    assert codes(lambda: verify_cosignature(later, body, witness.verifier)) == "invalid_signature"

    stranger = generate_signer_key("witness.example/w1", ALG_COSIGNATURE_V1)
    assert codes(lambda: verify_cosignature(line, body, stranger.verifier)) == "unknown_key"
    note_key = SignerKey(witness.name, ALG_ED25519, witness.seed)  # same key, other type
    assert codes(lambda: verify_cosignature(line, body, note_key.verifier)) == "invalid_key"
    assert codes(lambda: cosign(body, note_key, 1)) == "invalid_key"
    assert codes(lambda: cosign(body, witness, -1)) == "malformed_note"
    assert codes(lambda: cosign("not a checkpoint\n", witness, 1)) == "malformed_note"
    assert codes(lambda: sign_note(body, witness)) == "invalid_key"  # cosigners sign with cosign()
