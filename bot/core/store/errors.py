"""Storage errors. Each has a machine-readable `code` (the Slack app picks its template by it)
and a plain English message for logs and the CLI."""

from __future__ import annotations

from dataclasses import dataclass


class StoreError(Exception):
    code: str = "store_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFoundError(StoreError):
    """Codes: `invitation_not_found`, `organization_not_found`."""

    code = "not_found"


class NotAllowedError(StoreError):
    """The acting organization may not do this. Codes: `not_allowed`, `not_your_provider`,
    `not_a_provider`, `not_a_reseller`, `direct_partner_has_no_resellers`."""

    code = "not_allowed"


class TransitionError(StoreError):
    """The lifecycle does not allow `old` → `new`."""

    code = "invalid_transition"

    def __init__(self, old: str, new: str) -> None:
        super().__init__(
            f"an invitation cannot go from {old!r} to {new!r}; "
            "see bot.core.store.lifecycle.TRANSITIONS for the allowed moves"
        )
        self.old = old
        self.new = new


class ConflictError(StoreError):
    """Someone else changed the invitation first (two people clicking at once): reload it,
    show its current state and let the user decide again."""

    code = "conflict"

    def __init__(
        self,
        invitation_id: int,
        *,
        expected_version: int | None,
        current_state: str,
        current_version: int,
    ) -> None:
        super().__init__(
            f"invitation {invitation_id} changed meanwhile (expected version {expected_version}, "
            f"now version {current_version} in state {current_state!r}); reload it and retry"
        )
        self.invitation_id = invitation_id
        self.expected_version = expected_version
        self.current_state = current_state
        self.current_version = current_version


@dataclass(frozen=True)
class DirectoryIssue:
    """One problem in a partner directory file: which organization, which field, what."""

    org: str
    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.org}: {self.field}: {self.message}"


class DirectoryError(StoreError):
    """The partner directory file is unreadable or invalid; nothing was imported."""

    code = "invalid_directory"

    def __init__(self, issues: list[DirectoryIssue]) -> None:
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"the partner directory has {len(issues)} problem(s):\n{lines}")
        self.issues = issues


class SetupError(StoreError):
    """The installation is incomplete (e.g. the migrations package cannot be found) or the
    database schema is not at the version this code expects."""

    code = "setup_error"
