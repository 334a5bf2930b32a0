"""The public contract: step and note codes. The JSON output, the CLI and the Slack app use
exactly these names, and every template has text for each. An edition may only use these."""

from __future__ import annotations

STEP_CODES: tuple[str, ...] = (
    "request_relationship",
    "send_invitation_to_customer",
    "send_invitation_via_reseller",
    "get_invitation_from_direct_partner",
    "forward_invitation_to_customer",
    "request_delegated_admin_for_reseller",
    "create_csp_azure_subscription",
    "migrate_azure_manually",
    "cancel_old_azure_services",
    "check_azure_service_availability",
    "switch_azure_partner",
    "wait_for_term_end_or_cancel",
    "refuse_csp_to_csp",
    "escalate_not_covered",
)

NOTE_CODES: tuple[str, ...] = (
    "cloud_not_covered",
    "policy_may_change",
    "no_azure_migration_path",
    "azure_services_may_be_missing",
    "direct_partner_holds_relationship",
)

# Steps after which the partner needs an invitation link (the Slack app offers "Create invitation").
INVITATION_STEPS: frozenset[str] = frozenset(
    {"send_invitation_to_customer", "send_invitation_via_reseller"}
)
