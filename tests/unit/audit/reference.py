"""An independent RFC 6962 / RFC 9162 reference, written for the tests only.

Nothing here is imported from greenenergy.audit. The tree hash, PATH and PROOF follow the
RFC's recursive definitions over the whole leaf list (§2.1.1, §2.1.3.1, §2.1.4.1), and the
verifiers recompute roots by splitting the proof into an "inner" part (levels where the
path has siblings inside a perfect subtree) and a "border" part (the ragged right edge),
a different formulation from the RFC's fn/sn loop that greenenergy.audit.merkle follows.
"""

from __future__ import annotations

import hashlib


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(data: bytes) -> bytes:
    return sha(b"\x00" + data)


def parent(left: bytes, right: bytes) -> bytes:
    return sha(b"\x01" + left + right)


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, by the recursive definition."""
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return parent(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    if len(leaves) <= 1:
        return []
    k = split_point(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m < n."""
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def all_perfect_nodes(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every perfect subtree (level, index) -> hash, built level by level."""
    nodes = {(0, i): h for i, h in enumerate(leaves)}
    level, row = 0, list(leaves)
    while len(row) > 1:
        row = [parent(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        level += 1
        nodes.update({(level, i): h for i, h in enumerate(row)})
    return nodes


def _inner_and_border(index: int, size: int) -> tuple[int, int]:
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def root_from_inclusion(index: int, size: int, leaf_hash: bytes, audit_path: list[bytes]) -> bytes | None:
    """The root an inclusion proof leads to, or None if it cannot be one for (index, size)."""
    if not 0 <= index < size:
        return None
    inner, border = _inner_and_border(index, size)
    if len(audit_path) != inner + border:
        return None
    node = leaf_hash
    for level, sibling in enumerate(audit_path[:inner]):
        node = parent(node, sibling) if (index >> level) & 1 == 0 else parent(sibling, node)
    for sibling in audit_path[inner:]:
        node = parent(sibling, node)
    return node


def consistent(size1: int, size2: int, root1: bytes, root2: bytes, consistency: list[bytes]) -> bool:
    """Whether the proof links (size1, root1) to (size2, root2)."""
    if size1 > size2:
        return False
    if size1 == size2:
        return not consistency and root1 == root2
    if size1 == 0:
        return not consistency
    if not consistency:
        return False
    inner, border = _inner_and_border(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    if size1 == 1 << shift:
        seed, rest = root1, consistency
    else:
        seed, rest = consistency[0], consistency[1:]
    if len(rest) != inner + border:
        return False
    mask = (size1 - 1) >> shift
    old, new = seed, seed
    for level, sibling in enumerate(rest[:inner]):
        if (mask >> level) & 1:
            old = parent(sibling, old)
            new = parent(sibling, new)
        else:
            new = parent(new, sibling)
    for sibling in rest[inner:]:
        old = parent(sibling, old)
        new = parent(sibling, new)
    return old == root1 and new == root2
