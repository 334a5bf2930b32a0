from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from bot.core.partner_center.trust import (
    TrustStoreError,
    default_trust_roots_path,
    load_intermediates,
    load_pem_bundle,
)
from bot.testkit.pki import stand_in_pki


def _pem() -> bytes:
    return stand_in_pki().root.certificate.public_bytes(serialization.Encoding.PEM)


def test_bundle_with_a_broken_entry_keeps_the_good_ones(tmp_path: Path) -> None:
    broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    path = tmp_path / "bundle.pem"
    path.write_bytes(b"# comment\n" + broken + _pem() + _pem())
    assert len(load_pem_bundle(path)) == 2


def test_empty_bundle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.pem"
    path.write_bytes(b"nothing here")
    with pytest.raises(TrustStoreError):
        load_pem_bundle(path)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError):
        load_pem_bundle(tmp_path / "absent.pem")


def test_system_store_is_found_and_loads() -> None:
    assert len(load_pem_bundle(default_trust_roots_path())) > 10


def test_no_intermediates_by_default() -> None:
    assert load_intermediates(None) == []
