"""RFC 9162 Merkle tree: known roots, and every proof for every pair of sizes up to 33 checked both ways."""

from __future__ import annotations

import pytest

from redactor.ledger import merkle

# The leaves and the 8-leaf root of the Certificate Transparency reference test vectors (RFC 6962 / 9162 hashing).
CT_LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f"]]
CT_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]


def test_reference_vectors():
    hashed = [merkle.leaf_hash(x) for x in CT_LEAVES]
    assert merkle.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert merkle.root(hashed).hex() == CT_ROOT_8
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("n", range(1, 34))
def test_frontier_gives_the_same_root(n):
    ls = leaves(n)
    frontier: list[bytes] = []
    for i, leaf in enumerate(ls):
        frontier = merkle.frontier_append(frontier, i, leaf)
    assert merkle.frontier_root(frontier) == merkle.root(ls)
    assert len(frontier) == bin(n).count("1")


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 16, 17, 33])
def test_inclusion_proofs(n):
    ls = leaves(n)
    r = merkle.root(ls)
    for i in range(n):
        proof = merkle.inclusion_proof(i, ls)
        assert merkle.verify_inclusion(i, n, ls[i], proof, r)
        assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"forged"), proof, r)
        if n > 1:
            assert not merkle.verify_inclusion((i + 1) % n, n, ls[i], proof, r)
            assert not merkle.verify_inclusion(i, n, ls[i], proof[:-1], r)


def test_consistency_proofs_all_pairs():
    ls = leaves(33)
    for n in range(1, 34):
        new_root = merkle.root(ls[:n])
        for m in range(1, n + 1):
            old_root = merkle.root(ls[:m])
            proof = merkle.consistency_proof(m, ls[:n])
            assert merkle.verify_consistency(m, n, old_root, new_root, proof), (m, n)
            if m < n:
                forged_old = merkle.root([merkle.leaf_hash(b"x"), *ls[1:m]])
                assert not merkle.verify_consistency(m, n, forged_old, new_root, proof), (m, n)
                assert not merkle.verify_consistency(m, n, old_root, merkle.leaf_hash(b"y"), proof), (m, n)


def test_bad_arguments():
    with pytest.raises(ValueError):
        merkle.inclusion_proof(3, leaves(3))
    with pytest.raises(ValueError):
        merkle.consistency_proof(0, leaves(3))
    assert not merkle.verify_consistency(4, 3, b"", b"", [])
