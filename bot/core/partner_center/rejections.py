"""Why a webhook delivery was refused: one machine-readable reason per check."""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    BODY_TOO_LARGE = "body_too_large"
    MISSING_SIGNATURE = "missing_signature"
    BAD_SIGNATURE_ENCODING = "bad_signature_encoding"
    MISSING_ALGORITHM = "missing_algorithm"
    BAD_ALGORITHM = "bad_algorithm"
    MISSING_CERTIFICATE_URL = "missing_certificate_url"
    CERTIFICATE_URL_INVALID = "certificate_url_invalid"
    CERTIFICATE_URL_NOT_HTTPS = "certificate_url_not_https"
    CERTIFICATE_URL_HAS_USERINFO = "certificate_url_has_userinfo"
    CERTIFICATE_HOST_NOT_ALLOWED = "certificate_host_not_allowed"
    CERTIFICATE_FETCH_FAILED = "certificate_fetch_failed"
    CERTIFICATE_REDIRECT = "certificate_redirect"
    CERTIFICATE_TOO_LARGE = "certificate_too_large"
    CERTIFICATE_UNPARSEABLE = "certificate_unparseable"
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_WRONG_SUBJECT = "certificate_wrong_subject"
    CERTIFICATE_WRONG_ORGANIZATION = "certificate_wrong_organization"
    CERTIFICATE_UNTRUSTED = "certificate_untrusted"
    CERTIFICATE_BAD_KEY = "certificate_bad_key"
    BAD_SIGNATURE = "bad_signature"


# Failures that may succeed on a later delivery (Partner Center retries up to 10 times).
TRANSIENT_REASONS = frozenset({RejectReason.CERTIFICATE_FETCH_FAILED})


class WebhookRejected(Exception):
    """A delivery failed a check. `reason` is machine-readable; `detail` is for logs only."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail

    @property
    def transient(self) -> bool:
        """True when the failure is ours or the network's, not the sender's."""
        return self.reason in TRANSIENT_REASONS

    @property
    def http_status(self) -> int:
        """The status to answer Partner Center with."""
        if self.reason is RejectReason.BODY_TOO_LARGE:
            return 413
        if self.transient:
            return 503
        return 401
