"""Loading the certificates the webhook signing certificate is checked against."""

from __future__ import annotations

import logging
import re
import ssl
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is imported when the first webhook is verified
    from cryptography import x509

log = logging.getLogger(__name__)

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\s.+?\s-----END CERTIFICATE-----", re.DOTALL)


class TrustStoreError(Exception):
    """The configured trust roots or intermediates cannot be used."""


def load_pem_bundle(path: Path) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle. Unparseable entries are skipped and logged, so one
    odd root in a system bundle does not disable verification; an empty result is an error."""
    from cryptography import x509
    from cryptography.utils import CryptographyDeprecationWarning

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrustStoreError(f"cannot read {path}: {exc}") from exc
    certificates: list[x509.Certificate] = []
    for block in _PEM_BLOCK.findall(data):
        with warnings.catch_warnings():
            # Some system bundles carry legacy roots with non-positive serial numbers.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            try:
                certificates.append(x509.load_pem_x509_certificate(block))
            except ValueError as exc:
                log.warning("skipping unparseable certificate in %s: %s", path, exc)
    if not certificates:
        raise TrustStoreError(f"no certificates in {path}")
    return certificates


def default_trust_roots_path() -> Path:
    """The system trust store's CA bundle, else certifi's bundle."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    try:
        import certifi
    except ImportError as exc:
        raise TrustStoreError(
            "no system CA bundle found and certifi is not installed: set PC_WEBHOOK_TRUST_ROOTS"
        ) from exc
    return Path(certifi.where())


def load_trust_roots(path: Path | None) -> list[x509.Certificate]:
    return load_pem_bundle(path if path is not None else default_trust_roots_path())


def load_intermediates(path: Path | None) -> list[x509.Certificate]:
    return [] if path is None else load_pem_bundle(path)
