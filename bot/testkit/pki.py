"""A throw-away PKI standing in for Microsoft's: a root, an issuing CA, the signing certificate
Partner Center uses (and its broken variants), and a TLS certificate for 127.0.0.1.

Generated once per process (`stand_in_pki()`); for tests and benchmarks only.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SIGNING_SUBJECT = "pcnotifications-dispatch.microsoft.com"
SIGNING_ORGANIZATION = "Microsoft Corporation"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CertVariant(StrEnum):
    """Which signing certificate a delivery points at."""

    GOOD = "good"
    UNTRUSTED = "untrusted"  # issued by a CA the verifier does not trust
    WRONG_ORGANIZATION = "wrong-organization"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    WRONG_SUBJECT = "wrong-subject"
    EC_KEY = "ec-key"  # a trusted certificate whose key is not RSA


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: PrivateKey


@dataclass(frozen=True)
class StandInPKI:
    root: Issued
    intermediate: Issued
    untrusted_root: Issued
    leaves: dict[CertVariant, Issued]
    tls: Issued  # serves https://127.0.0.1:PORT, issued by `root`
    stranger_key: rsa.RSAPrivateKey  # matches no certificate


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca(
    common_name: str, issuer: Issued | None, now: dt.datetime, path_length: int | None
) -> Issued:
    key = _rsa()
    subject = _name(common_name, "Multichannel Test PKI")
    signing_key = issuer.key if issuer is not None else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            _authority_key_identifier(issuer),
            critical=False,
        )
    return Issued(builder.sign(signing_key, hashes.SHA256()), key)


def _leaf(
    issuer: Issued,
    *,
    names: list[x509.GeneralName],
    common_name: str,
    organization: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
    key: PrivateKey | None = None,
) -> Issued:
    key = key if key is not None else _rsa()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            _authority_key_identifier(issuer),
            critical=False,
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(certificate, key)


def _authority_key_identifier(issuer: Issued) -> x509.AuthorityKeyIdentifier:
    ski = issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


@functools.cache
def stand_in_pki() -> StandInPKI:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    root = _ca("Multichannel Test Root CA", None, now, path_length=1)
    intermediate = _ca("Multichannel Test Issuing CA", root, now, path_length=0)
    untrusted_root = _ca("Untrusted Test Root CA", None, now, path_length=1)
    not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=365)

    def signing(
        issuer: Issued,
        *,
        subject: str = SIGNING_SUBJECT,
        organization: str = SIGNING_ORGANIZATION,
        valid_from: dt.datetime = not_before,
        valid_to: dt.datetime = not_after,
        key: PrivateKey | None = None,
    ) -> Issued:
        return _leaf(
            issuer,
            names=[x509.DNSName(subject)],
            common_name=subject,
            organization=organization,
            not_before=valid_from,
            not_after=valid_to,
            key=key,
        )

    leaves = {
        CertVariant.GOOD: signing(intermediate),
        CertVariant.UNTRUSTED: signing(untrusted_root),
        CertVariant.WRONG_ORGANIZATION: signing(intermediate, organization="Contoso Ltd"),
        CertVariant.EXPIRED: signing(
            intermediate,
            valid_from=now - dt.timedelta(days=400),
            valid_to=now - dt.timedelta(days=30),
        ),
        CertVariant.NOT_YET_VALID: signing(
            intermediate,
            valid_from=now + dt.timedelta(days=30),
            valid_to=now + dt.timedelta(days=400),
        ),
        CertVariant.WRONG_SUBJECT: signing(intermediate, subject="attacker.example.com"),
        CertVariant.EC_KEY: signing(intermediate, key=ec.generate_private_key(ec.SECP256R1())),
    }
    tls = _leaf(
        root,
        names=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
        common_name="127.0.0.1",
        organization="Multichannel Test PKI",
        not_before=not_before,
        not_after=not_after,
    )
    return StandInPKI(root, intermediate, untrusted_root, leaves, tls, _rsa())
