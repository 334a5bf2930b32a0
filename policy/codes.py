"""The public contract: step, note and treatment codes. The JSON output, the CLI and the Slack
app use exactly these names, and every template has text for each. An edition may only use
these."""

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
    "provision_after_term_end",
    "refuse_csp_to_csp",
    "escalate_not_covered",
    # edition 2026-11
    "send_indirect_reseller_invitation",
    "request_gdap_relationship",
    "ask_provider_to_purchase",
    "create_partner_transfer_request",
    "ask_provider_to_request_transfer",
    "purchase_azure_plan",
    "request_ea_billing_transfer",
    "move_azure_resources",
)

NOTE_CODES: tuple[str, ...] = (
    "cloud_not_covered",
    "policy_may_change",
    "no_azure_migration_path",
    "azure_services_may_be_missing",
    "direct_partner_holds_relationship",
    "relationship_gives_admin_only",
    "license_moves_at_term_end",
    "provider_places_orders",
    "azure_switch_needs_relationship",
    # edition 2026-11
    "dap_removed_from_invitations",
    "gdap_not_in_us_gov",
    "existing_subscriptions_unchanged",
    "transfer_needs_source_approval",
    "transfer_request_expires_30_days",
    "azure_transfer_no_rbac",
    "legacy_license_not_transferable",
    "ea_billing_transfer_eligibility",
    "azure_csp_coexists",
    "advisor_enrollment_closed",
    "open_license_ended",
    "cloud_germany_closed",
    "csp_to_csp_non_csp_tenant",
    "syndication_unconfirmed",
)

# What a subscription's outcome means for it (shown next to it instead of a bare "Supported").
TREATMENTS: tuple[str, ...] = (
    "support",  # support and provision through a relationship; billing stays with the seller
    "replace",  # a new CSP subscription replaces it; the old one is cancelled
    "switch",  # the Azure services move to another CSP partner (2017: manual, by ticket)
    "transfer",  # the new partner requests a partner-to-partner transfer; the current approves
    "billing_transfer",  # an eligible partner requests billing ownership (direct EA Azure)
    "not_now",  # not before the end of its term or a cancellation; then provision anew
)

# Steps after which the partner needs an invitation link (the Slack app offers "Create invitation").
INVITATION_STEPS: frozenset[str] = frozenset(
    {"send_invitation_to_customer", "send_invitation_via_reseller"}
)
