"""The repository's copy of the W3C SPARQL 1.1 Protocol tests is the original, byte for byte."""

from __future__ import annotations

import hashlib

from web_support import W3C_PROTOCOL, W3C_SHARED

#: sha256 of each file as copied from ../shared/w3c/protocol/ (rdf-tests commit ad541a5f).
COPIED = {
    "README.md": "31cb62f8181cbae96627a8ec03d92cef448146fefcd80d10e786b8c43d3f7fed",
    "data1.nt": "8618db9cfc01ccae1e4bd407894678e908f7b7a5dc57786a223449931d85b50a",
    "data2.nt": "2ce0ca2ec949e399bfda674a3fa12c62221e6b358fe035a4a489abde0f869d66",
    "data3.nt": "9cd7c826cab4924993193391ee57c09e9a018ff6d302239e3705a3f99e9d3dd4",
    "manifest.ttl": "08d2fa7d6ed57cab739798903e8cea5e13065625a2a9d567a7cfb9319315ef17",
}


def test_the_copy_is_whole_and_unchanged() -> None:
    found = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in W3C_PROTOCOL.iterdir()}
    assert found == COPIED


def test_the_copy_matches_the_original_where_it_is_beside() -> None:
    """Beside ../shared (as in the project's workspace) the original is compared directly;
    in a clone elsewhere there is none, and the hashes above hold the copy."""
    if not W3C_SHARED.is_dir():
        assert not W3C_SHARED.exists()
        return
    for name in COPIED:
        assert (W3C_SHARED / name).read_bytes() == (W3C_PROTOCOL / name).read_bytes(), name
