"""A third-party cross-check: pymerkle (an RFC 9162 tree kept in memory) agrees with us.

pymerkle hashes leaves as SHA-256(0x00 ‖ data) and nodes as SHA-256(0x01 ‖ l ‖ r), so its
roots are RFC 6962 roots; its inclusion proof is the leaf hash followed by the audit path
(bottom-up), and it counts leaves from 1. Its consistency proofs use another layout, so
only roots and inclusion paths are compared here; our consistency proofs are checked
against the RFC's own definition in test_merkle.py.
"""

from __future__ import annotations

import random

from pymerkle import InmemoryTree

from greenenergy.audit.merkle import (
    CompactRange,
    inclusion_proof,
    root_at,
    verify_inclusion,
)


def test_roots_and_inclusion_paths_agree_with_pymerkle() -> None:
    rng = random.Random(2026)
    entries = [rng.randbytes(rng.randint(0, 40)) for _ in range(700)]
    tree = InmemoryTree(algorithm="sha256")
    for entry in entries:
        tree.append_entry(entry)
    leaf_hashes = [tree.get_leaf(position) for position in range(1, len(entries) + 1)]
    compact, nodes = CompactRange.empty().append(leaf_hashes)
    store = {(node.level, node.index): node.hash for node in nodes}

    assert compact.root() == tree.get_root()
    for size in [*range(70), *rng.sample(range(70, 701), 60)]:
        assert root_at(size, store) == tree.get_root(size), size
    for _ in range(300):
        size = rng.randint(1, 700)
        index = rng.randrange(size)
        theirs = tree.prove_inclusion(index + 1, size)
        ours = inclusion_proof(index, size, store)
        assert theirs.path[0] == leaf_hashes[index]
        assert ours == theirs.path[1:], (index, size)
        assert verify_inclusion(leaf_hashes[index], index, size, ours, tree.get_root(size))
