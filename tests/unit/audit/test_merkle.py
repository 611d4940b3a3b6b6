"""The Merkle tree: known answers, proofs checked against an independent reference, appends.

``reference`` (in this folder) is a second implementation written from the RFC's
recursive definitions; the module under test builds proofs from stored perfect subtrees
and verifies with the RFC 9162 loops. Every proof must equal the reference's, verify under
both, and stop verifying under both once anything about it is changed.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenenergy.audit import merkle
from greenenergy.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    Node,
    consistency_proof,
    consistency_proof_length,
    inclusion_proof,
    nodes_for_consistency,
    nodes_for_inclusion,
    nodes_needed_for_append,
    root_at,
    verify_consistency,
    verify_inclusion,
)
from greenenergy.errors import ProofError
from tests.unit.audit import reference


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def leaves_of(n: int, salt: bytes = b"") -> list[bytes]:
    return [reference.leaf(salt + i.to_bytes(4, "big")) for i in range(n)]


def store_of(leaf_hashes: list[bytes]) -> dict[tuple[int, int], bytes]:
    _, nodes = CompactRange.empty().append(leaf_hashes)
    return {(node.level, node.index): node.hash for node in nodes}


# The 8-leaf reference tree of Certificate Transparency, as transparency-dev/merkle's
# testonly package and testdata/ publish it (inputs, roots at every size, two proofs).
CT_INPUTS = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS_HEX = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_hashes_are_rfc6962_on_the_ct_reference_tree() -> None:
    leaf_hashes = [merkle.leaf_hash(data) for data in CT_INPUTS]
    assert merkle.EMPTY_ROOT.hex() == CT_ROOTS_HEX[0]
    assert leaf_hashes[1].hex() == "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
    store = store_of(leaf_hashes)
    assert store[3, 0].hex() == CT_ROOTS_HEX[8]
    assert store[1, 3].hex() == "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
    for size, want in enumerate(CT_ROOTS_HEX):
        assert merkle.root(leaf_hashes[:size]).hex() == want
        assert root_at(size, store).hex() == want


def test_published_proofs_of_the_ct_reference_tree() -> None:
    store = store_of([merkle.leaf_hash(data) for data in CT_INPUTS])
    # testdata/inclusion/1/happy-path.json: leaf 0 of 8.
    want_path = [
        b64("lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c="),
        b64("Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4="),
        b64("a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="),
    ]
    assert inclusion_proof(0, 8, store) == want_path
    assert verify_inclusion(
        b64("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="),
        0,
        8,
        want_path,
        b64("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="),
    )
    # testdata/consistency/2/happy-path.json: 6 -> 8.
    want_proof = [
        b64("DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o="),
        b64("yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA="),
        b64("037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="),
    ]
    assert consistency_proof(6, 8, store) == want_proof
    assert verify_consistency(
        6,
        8,
        b64("duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8="),
        b64("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="),
        want_proof,
    )


def test_the_nodes_a_proof_reads_match_transparency_dev_for_a_ragged_tree() -> None:
    # proof_test.go: size 95, index 81 -> 80, 41, 21 | 94, 46, 22 rehashed | (4,4), (6,0).
    assert sorted(nodes_for_inclusion(81, 95)) == sorted(
        [(0, 80), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)]
    )
    assert nodes_needed_for_append(7) == [(2, 0), (1, 2), (0, 6)]
    assert nodes_needed_for_append(0) == []


def check_all_proofs(
    leaf_hashes: list[bytes], store: dict[tuple[int, int], bytes], size: int, index: int, old_size: int
) -> None:
    tree = leaf_hashes[:size]
    root = reference.mth(tree)
    path = inclusion_proof(index, size, store)
    assert path == reference.path(index, tree)
    assert verify_inclusion(leaf_hashes[index], index, size, path, root)
    assert reference.root_from_inclusion(index, size, leaf_hashes[index], path) == root

    old_root = reference.mth(tree[:old_size])
    proof = consistency_proof(old_size, size, store)
    want = reference.proof(old_size, tree) if 0 < old_size < size else []
    assert proof == want
    assert len(proof) == consistency_proof_length(old_size, size)
    assert verify_consistency(old_size, size, old_root, root, proof)
    assert reference.consistent(old_size, size, old_root, root, proof)


def test_every_proof_up_to_64_leaves_matches_the_reference() -> None:
    leaf_hashes = leaves_of(64)
    store = store_of(leaf_hashes)
    for size in range(1, 65):
        for index in range(size):
            check_all_proofs(leaf_hashes, store, size, index, old_size=index)
        for old_size in (0, size):
            check_all_proofs(leaf_hashes, store, size, size - 1, old_size)


def test_random_proofs_up_to_a_few_thousand_leaves_match_the_reference() -> None:
    rng = random.Random(6962)
    leaf_hashes = leaves_of(3000)
    store = store_of(leaf_hashes)
    for _ in range(150):
        size = rng.randint(1, 3000)
        check_all_proofs(leaf_hashes, store, size, rng.randrange(size), rng.randint(0, size))


def mutations(proof: list[bytes]) -> list[list[bytes]]:
    """Ways to spoil a proof: drop, add, reorder, flip a bit of any hash."""
    changed = [proof[:-1], [*proof, proof[-1] if proof else EMPTY_ROOT], [EMPTY_ROOT, *proof]]
    if len(proof) > 1:
        changed.append(proof[::-1])
    for position in range(len(proof)):
        flipped = bytearray(proof[position])
        flipped[position % 32] ^= 0x01
        changed.append([*proof[:position], bytes(flipped), *proof[position + 1 :]])
    return [candidate for candidate in changed if candidate != proof]


def test_spoiled_inclusion_proofs_are_refused_by_both_verifiers() -> None:
    leaf_hashes = leaves_of(40)
    store = store_of(leaf_hashes)
    for size in (1, 2, 3, 7, 8, 9, 31, 40):
        root = reference.mth(leaf_hashes[:size])
        for index in range(size):
            path = inclusion_proof(index, size, store)
            leaf = leaf_hashes[index]
            must_refuse = [
                (leaf_hashes[(index + 1) % 40], index, size, path, root),  # another leaf
                (leaf, index, size, path, reference.mth(leaves_of(size, salt=b"other"))),  # another root
                (leaf, index + 1, size, path, root),  # the next index
                *((leaf, index, size, spoiled, root) for spoiled in mutations(path)),
            ]
            for args in must_refuse:
                assert not verify_inclusion(*args), args[1:3]
                assert reference.root_from_inclusion(args[1], args[2], args[0], args[3]) != args[4]
            # Another index or size: the two verifiers must agree. Most are refused, but a
            # path can also fit a larger size whose right edge has the same shape (a tree of 3
            # read as one of 4 whose right subtree hash is leaf 2's): the root then claims a
            # tree nobody can build without a hash preimage, so it proves nothing false.
            for claimed_index, claimed_size in ((index - 1, size), (index, size + 1), (index, 2 * size)):
                if claimed_index >= 0:
                    ours = verify_inclusion(leaf, claimed_index, claimed_size, path, root)
                    theirs = reference.root_from_inclusion(claimed_index, claimed_size, leaf, path) == root
                    assert ours == theirs, (index, size, claimed_index, claimed_size)


def test_spoiled_consistency_proofs_are_refused_by_both_verifiers() -> None:
    leaf_hashes = leaves_of(40)
    store = store_of(leaf_hashes)
    for size in (2, 3, 7, 8, 9, 16, 31, 40):
        root = reference.mth(leaf_hashes[:size])
        other_history = reference.mth(leaves_of(size, salt=b"fork"))
        for old_size in range(1, size):
            old_root = reference.mth(leaf_hashes[:old_size])
            proof = consistency_proof(old_size, size, store)
            must_refuse = [
                (old_size, size, old_root, other_history, proof),  # a fork after old_size
                (old_size, size, reference.mth(leaves_of(old_size, salt=b"fork")), root, proof),
                (old_size, size, root, old_root, proof),  # swapped roots
                (size, old_size, root, old_root, proof),  # backwards
                *((old_size, size, old_root, root, spoiled) for spoiled in mutations(proof)),
            ]
            for args in must_refuse:
                assert not verify_consistency(*args), args[:2]
                assert not reference.consistent(*args)
            # Other sizes: as for inclusion, both verifiers must agree (see above).
            for claimed_old, claimed_new in ((old_size - 1, size), (old_size + 1, size), (old_size, size + 1)):
                args = (claimed_old, claimed_new, old_root, root, proof)
                assert verify_consistency(*args) == reference.consistent(*args), (old_size, size, args[:2])


def test_trivial_consistency_cases() -> None:
    a, b = leaves_of(2)
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, a, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, a, [])
    assert not verify_consistency(0, 5, a, b, [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, a, [b])
    assert verify_consistency(3, 3, a, a, [])
    assert not verify_consistency(3, 3, a, b, [])
    assert not verify_consistency(3, 3, a, a, [a])
    assert not verify_consistency(3, 5, a, b, [])
    assert not verify_consistency(3, 5, a, b, [b"short"])
    assert not verify_inclusion(a, 0, 1, [], b)
    assert verify_inclusion(a, 0, 1, [], a)
    assert not verify_inclusion(a, 0, 0, [], a)


def test_bad_sizes_and_indexes_raise_proof_error() -> None:
    store = store_of(leaves_of(8))
    for call in (
        lambda: inclusion_proof(8, 8, store),
        lambda: inclusion_proof(0, 0, store),
        lambda: inclusion_proof(-1, 8, store),
        lambda: consistency_proof(9, 8, store),
        lambda: nodes_for_consistency(-1, 3),
        lambda: nodes_needed_for_append(-2),
        lambda: verify_inclusion(EMPTY_ROOT, -1, 3, [], EMPTY_ROOT),
        lambda: root_at(9, store),
        lambda: inclusion_proof(0, 1.5, store),  # type: ignore[arg-type]
        lambda: CompactRange(3, (EMPTY_ROOT,)),
        lambda: CompactRange.empty().append([b"x"]),
        lambda: merkle.hash_from_hex("zz" * 32),
        lambda: merkle.hash_from_hex("ab"),
    ):
        with pytest.raises(ProofError):
            call()
    assert isinstance(ProofError("x"), ValueError)


def test_proofs_read_only_the_listed_nodes_and_few_of_them() -> None:
    leaf_hashes = leaves_of(1000)
    store = store_of(leaf_hashes)
    rng = random.Random(9162)
    for _ in range(100):
        size = rng.randint(1, 1000)
        index, old_size = rng.randrange(size), rng.randint(0, size)
        cases = [
            (nodes_for_inclusion(index, size), partial(inclusion_proof, index, size)),
            (nodes_for_consistency(old_size, size), partial(consistency_proof, old_size, size)),
            (nodes_needed_for_append(size), partial(root_at, size)),
        ]
        for listed, build in cases:
            read: list[tuple[int, int]] = []
            build(lambda level, i, read=read: read.append((level, i)) or store[level, i])
            assert sorted(read) == sorted(listed)
            assert len(set(listed)) == len(listed) <= 2 * size.bit_length() + 2
            assert all((i + 1) << level <= size for level, i in listed)  # perfect in the tree of `size`
            assert build({key: store[key] for key in listed}) == build(store)


def test_a_missing_node_names_what_to_load() -> None:
    with pytest.raises(ProofError, match=r"node \(0, 1\) was not loaded"):
        inclusion_proof(0, 2, {})


def test_hex_round_trip() -> None:
    value = hashlib.sha256(b"x").digest()
    assert merkle.hash_from_hex(merkle.hash_to_hex(value)) == value


@settings(max_examples=60)
@given(total=st.integers(0, 300), chunks=st.lists(st.integers(1, 40), max_size=40))
def test_appending_in_chunks_equals_building_at_once(total: int, chunks: list[int]) -> None:
    leaf_hashes = leaves_of(total)
    at_once, at_once_nodes = CompactRange.empty().append(leaf_hashes)

    compact, stored, start = CompactRange.empty(), [], 0
    for size in [*chunks, total]:
        end = min(total, start + size)
        # The shell loads the border of the stored tree, then appends.
        compact = CompactRange.load(start, {(n.level, n.index): n.hash for n in stored})
        compact, new_nodes = compact.append(leaf_hashes[start:end])
        stored.extend(new_nodes)
        start = end
        assert compact.size == end
        assert compact.root() == reference.mth(leaf_hashes[:end])
    assert start == total

    assert stored == at_once_nodes
    assert compact == at_once
    assert {(n.level, n.index): n.hash for n in stored} == reference.all_perfect_nodes(leaf_hashes)
    assert len({(n.level, n.index) for n in stored}) == len(stored)  # each node once
    assert at_once.root() == merkle.root(leaf_hashes) == reference.mth(leaf_hashes)


def test_an_append_returns_leaves_then_the_parents_they_complete() -> None:
    compact, nodes = CompactRange.empty().append(leaves_of(3))
    assert [(n.level, n.index) for n in nodes] == [(0, 0), (0, 1), (1, 0), (0, 2)]
    compact, nodes = compact.append(leaves_of(1, salt=b"4th"))
    assert [(n.level, n.index) for n in nodes] == [(0, 3), (1, 1), (2, 0)]
    assert isinstance(nodes[0], Node) and compact.keys() == [(2, 0)]


def test_performance_of_a_million_leaf_append(capsys: pytest.CaptureFixture[str]) -> None:
    """Printed, not asserted: the figure depends on the machine."""
    leaf_hashes = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(1_000_000)]
    started = time.perf_counter()
    compact = CompactRange.empty()
    stored = 0
    for start in range(0, len(leaf_hashes), 10_000):
        compact, nodes = compact.append(leaf_hashes[start : start + 10_000])
        stored += len(nodes)
    elapsed_s = time.perf_counter() - started
    started = time.perf_counter()
    border = dict(zip(compact.keys(), compact.hashes, strict=True))
    root_at(compact.size, border)
    root_ms = (time.perf_counter() - started) * 1e3
    with capsys.disabled():
        print(
            f"\nappend 1,000,000 leaves in batches of 10,000: {elapsed_s:.2f} s, "
            f"{stored:,} nodes to store; root from the border: {root_ms:.2f} ms"
        )
    assert compact.size == 1_000_000
    assert stored == 2 * 1_000_000 - (1_000_000).bit_count()
