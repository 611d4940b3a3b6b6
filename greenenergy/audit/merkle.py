"""The tamper-evident log's Merkle tree: RFC 6962 / RFC 9162 hashing, appends and proofs.

Hashes (RFC 9162 §2.1.1): a leaf is SHA-256(0x00 ‖ data), an inner node SHA-256(0x01 ‖
left ‖ right), the empty tree SHA-256(""). The tree of n leaves splits at k, the largest
power of two below n, so its shape depends on n alone.

Storage model. The log keeps only **perfect subtrees**, addressed as nodes ``(level,
index)``: node (l, i) covers the leaves [i·2^l, (i+1)·2^l), level 0 being the leaf hashes.
A perfect subtree never changes once its last leaf is appended, so a stored node stays
valid for every later tree size; nothing is ever rewritten. The tree of size n is the
perfect subtrees named by the set bits of n (its *compact range*, or right border, at
most 64 nodes): the root is their hash folded from the right.

Invariants this module keeps:
- appending k leaves to a tree of size n hashes k + (number of carries) ≤ 2k nodes and
  needs only the O(log n) border nodes of the old tree (``nodes_needed_for_append``);
- every node an append returns is a perfect subtree, returned exactly once, in the order
  it becomes complete, so a repository can insert the rows as they come;
- a root, an inclusion proof or a consistency proof reads O(log n) nodes, all of them
  listed up front by ``nodes_for_*`` so a repository fetches them in one query;
- proofs are RFC 9162 §2.1.3.1 PATH and §2.1.4.1 PROOF exactly (they are unique for a
  size, so any RFC 6962 verifier accepts them), and ``verify_*`` are §2.1.3.2 / §2.1.4.2.

Bad sizes, indexes or node hashes raise ``ProofError``; a proof that does not verify is
``False``, never an exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from greenenergy.errors import ProofError

HASH_SIZE_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_TREE_SIZE = 2**63 - 1  # a checkpoint's size is a uint64 elsewhere; stay well inside it

NodeKey = tuple[int, int]  # (level, index)
NodeSource = Callable[[int, int], bytes] | Mapping[NodeKey, bytes]

_sha256 = hashlib.sha256


class Node(NamedTuple):
    """One perfect subtree, as a repository stores it: covers leaves [index·2^level, (index+1)·2^level)."""

    level: int
    index: int
    hash: bytes


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 ‖ data)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 inner node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return _sha256(b"\x01" + left + right).digest()


def hash_to_hex(value: bytes) -> str:
    """Lowercase hex of a 32-byte hash, as the JSON API writes it."""
    _check_hash(value, "hash")
    return value.hex()


def hash_from_hex(text: str) -> bytes:
    """The 32-byte hash written as 64 hex digits; ``ProofError`` for anything else."""
    if not isinstance(text, str) or len(text) != 2 * HASH_SIZE_BYTES:
        raise ProofError(f"a hash is {2 * HASH_SIZE_BYTES} hex digits, got {text!r}")
    try:
        return bytes.fromhex(text)
    except ValueError as error:
        raise ProofError(f"a hash is {2 * HASH_SIZE_BYTES} hex digits, got {text!r}") from error


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes (RFC 9162 §2.1.1), in O(n) hashing."""
    return CompactRange.empty().append(leaf_hashes)[0].root()


# -- compact ranges and appends -------------------------------------------------------


def nodes_needed_for_append(size: int) -> list[NodeKey]:
    """The border of the tree of ``size`` leaves, highest level (leftmost) first.

    These are all an append, or the root at ``size``, needs: one node per set bit of size.
    """
    _check_size(size, "size")
    return [(level, (size >> level) - 1) for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


@dataclass(frozen=True)
class CompactRange:
    """The right border of a tree: its size and the hashes of ``nodes_needed_for_append(size)``."""

    size: int
    hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        _check_size(self.size, "size")
        if len(self.hashes) != self.size.bit_count():
            raise ProofError(
                f"a tree of {self.size} leaves has {self.size.bit_count()} border nodes "
                f"{nodes_needed_for_append(self.size)}, got {len(self.hashes)} hashes"
            )
        for value in self.hashes:
            _check_hash(value, "border node")

    @classmethod
    def empty(cls) -> CompactRange:
        return cls(0, ())

    @classmethod
    def load(cls, size: int, nodes: NodeSource) -> CompactRange:
        """The border of the tree of ``size`` leaves, read from stored nodes (O(log n) reads)."""
        get = _getter(nodes)
        return cls(size, tuple(get(level, index) for level, index in nodes_needed_for_append(size)))

    def keys(self) -> list[NodeKey]:
        return nodes_needed_for_append(self.size)

    def root(self) -> bytes:
        """The tree's root: the border hashes folded from the right; ``EMPTY_ROOT`` when empty."""
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            result = _sha256(b"\x01" + left + result).digest()
        return result

    def append(self, leaf_hashes: Iterable[bytes]) -> tuple[CompactRange, list[Node]]:
        """Append leaf hashes: the new border and every node that became complete.

        The nodes come in the order they complete, each leaf (level 0) followed by the
        parents it completes; the new leaf indexes start at ``self.size``.
        """
        border = list(self.hashes)
        size = self.size
        completed: list[Node] = []
        emit = completed.append
        for value in leaf_hashes:
            if type(value) is not bytes or len(value) != HASH_SIZE_BYTES:
                _check_hash(value, f"leaf hash {size}")
            emit(Node(0, size, value))
            # A leaf completes one parent per trailing 1-bit of its index.
            index, level = size, 0
            while index & 1:
                value = _sha256(b"\x01" + border.pop() + value).digest()
                index >>= 1
                level += 1
                emit(Node(level, index, value))
            border.append(value)
            size += 1
        if size > MAX_TREE_SIZE:
            raise ProofError(f"a tree holds at most {MAX_TREE_SIZE} leaves")
        return CompactRange(size, tuple(border)), completed


def root_at(size: int, nodes: NodeSource) -> bytes:
    """The root of the tree of ``size`` leaves from stored nodes (reads ``nodes_needed_for_append(size)``)."""
    return CompactRange.load(size, nodes).root()


# -- proofs ---------------------------------------------------------------------------


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PATH(index, D[0:size]), leaf's sibling first."""
    _check_size(size, "size")
    _check_size(index, "leaf index")
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of {size} leaves (indexes 0..{size - 1})")
    ranges = []
    low, high = 0, size
    while high - low > 1:
        split = low + _largest_power_of_two_below(high - low)
        if index < split:
            ranges.append((split, high))
            high = split
        else:
            ranges.append((low, split))
            low = split
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PROOF(old_size, D[0:new_size]); empty when no proof is needed."""
    _check_size(old_size, "old size")
    _check_size(new_size, "new size")
    if old_size > new_size:
        raise ProofError(f"a tree of {new_size} leaves cannot extend one of {old_size}: the old size is larger")
    if old_size in (0, new_size):
        return []
    ranges = []
    low, high = 0, new_size
    old_tree_is_whole_subtree = True  # SUBPROOF's b: never went right of a split
    while old_size != high:
        split = low + _largest_power_of_two_below(high - low)
        if old_size <= split:
            ranges.append((split, high))
            high = split
        else:
            ranges.append((low, split))
            low = split
            old_tree_is_whole_subtree = False
    if not old_tree_is_whole_subtree:
        ranges.append((low, high))
    ranges.reverse()
    return ranges


def _range_keys(start: int, end: int) -> list[NodeKey]:
    """The perfect subtrees that make up the leaves [start, end), left to right.

    For the ranges a proof asks for (start aligned to the range's size rounded up to a
    power of two) these are decreasing in size, so MTH(D[start:end]) is their hashes
    folded from the right.
    """
    keys = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def _fold(hashes: list[bytes]) -> bytes:
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = _sha256(b"\x01" + left + result).digest()
    return result


def _proof(ranges: list[tuple[int, int]], nodes: NodeSource) -> list[bytes]:
    get = _getter(nodes)
    return [_fold([get(level, index) for level, index in _range_keys(start, end)]) for start, end in ranges]


def nodes_for_inclusion(index: int, size: int) -> list[NodeKey]:
    """Every node ``inclusion_proof(index, size, ...)`` reads: O(log size), no duplicates."""
    return [key for start, end in _inclusion_ranges(index, size) for key in _range_keys(start, end)]


def inclusion_proof(index: int, size: int, nodes: NodeSource) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]) from stored perfect-subtree nodes."""
    return _proof(_inclusion_ranges(index, size), nodes)


def nodes_for_consistency(old_size: int, new_size: int) -> list[NodeKey]:
    """Every node ``consistency_proof(old_size, new_size, ...)`` reads: O(log new_size)."""
    return [key for start, end in _consistency_ranges(old_size, new_size) for key in _range_keys(start, end)]


def consistency_proof(old_size: int, new_size: int, nodes: NodeSource) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]); ``[]`` when old_size is 0 or new_size."""
    return _proof(_consistency_ranges(old_size, new_size), nodes)


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """How many hashes the consistency proof between these sizes has (0 when none is needed)."""
    return len(_consistency_ranges(old_size, new_size))


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2, step by step) ------------------------


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows the leaf ``leaf_hash`` at ``index`` in the tree of ``size`` with ``root``."""
    _check_size(index, "leaf index")
    _check_size(size, "size")
    if not _all_hashes([leaf_hash, root, *proof]):
        return False
    # 1. leaf_index must be below tree_size.
    if index >= size:
        return False
    # 2.-3.
    fn, sn, r = index, size - 1, leaf_hash
    # 4.
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 5.
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree (new_size, new_root) extends (old_size, old_root).

    RFC 9162 defines the check for 0 < old_size < new_size. Outside it: equal sizes need
    equal roots and an empty proof; the empty tree (whose root must be ``EMPTY_ROOT``)
    is extended by every tree, with an empty proof; a smaller new tree never verifies.
    """
    _check_size(old_size, "old size")
    _check_size(new_size, "new size")
    if not _all_hashes([old_root, new_root, *proof]):
        return False
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    # 1.
    if not proof:
        return False
    path = list(proof)
    # 2.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3.
    fn, sn = old_size - 1, new_size - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    return fr == old_root and sr == new_root and sn == 0


# -- checks ---------------------------------------------------------------------------


def _check_size(value: int, what: str) -> None:
    if type(value) is not int or not 0 <= value <= MAX_TREE_SIZE:
        raise ProofError(f"{what} must be an int from 0 to {MAX_TREE_SIZE}, got {value!r}")


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE_BYTES:
        shown = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
        raise ProofError(f"{what} must be {HASH_SIZE_BYTES} bytes of SHA-256, got {shown}")


def _all_hashes(values: Iterable[object]) -> bool:
    return all(isinstance(value, bytes) and len(value) == HASH_SIZE_BYTES for value in values)


def _getter(nodes: NodeSource) -> Callable[[int, int], bytes]:
    """Read one node from a mapping keyed by (level, index) or a ``get(level, index)`` callable."""

    def get(level: int, index: int) -> bytes:
        try:
            value = nodes[level, index] if isinstance(nodes, Mapping) else nodes(level, index)
        except KeyError as error:
            raise ProofError(
                f"node ({level}, {index}) was not loaded; load the keys that "
                f"nodes_for_inclusion / nodes_for_consistency / nodes_needed_for_append list",
                level=level,
                index=index,
            ) from error
        _check_hash(value, f"node ({level}, {index})")
        return value

    return get
