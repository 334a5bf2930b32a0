"""Read a submitted modal into typed values, or into per-block error codes. Pure."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.core.store.directory_file import PARTNER_ID_RE
from bot.core.ui.commands import CONTROL_CHARACTERS, UsageError, parse_subscription
from policy import Cloud, Facts, Role, Subscription
from policy.links import LinkInputError, normalize_tenant_id

CUSTOMER_MAX = 100


class AssessForm(BaseModel):
    model_config = ConfigDict(frozen=True)

    facts: Facts
    customer: str | None = None


class FormErrors(ValueError):
    """Per input block: an error code (templates/slack/modal_errors.json.j2 words it)."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(str(errors))


def _element(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    block = values.get(block_id) or {}
    element = block.get(block_id)  # our action_id equals the block_id
    return element if isinstance(element, dict) else {}


def _selected(values: dict[str, Any], block_id: str) -> str | None:
    option = _element(values, block_id).get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


def _selected_many(values: dict[str, Any], block_id: str) -> list[str]:
    options = _element(values, block_id).get("selected_options") or []
    return [o.get("value", "") for o in options if isinstance(o, dict)]


def read_assess_form(values: dict[str, Any]) -> AssessForm:
    """`values` is `view.state.values`. Raises FormErrors keyed by input block id."""
    errors: dict[str, str] = {}

    role_value = _selected(values, "role")
    role = None
    if role_value is not None:
        if role_value in Role.__members__:
            role = Role(role_value)
        else:
            errors["role"] = "unknown_value"

    subscriptions: list[Subscription] = []
    chosen = _selected_many(values, "subscriptions")
    if not chosen:
        errors["subscriptions"] = "no_subscription"
    for value in chosen:  # SOURCE:KIND[:COMMERCE], as typed after /multichannel assess
        try:
            subscriptions.append(parse_subscription(value))
        except UsageError:
            errors["subscriptions"] = "unknown_value"
            break

    cloud_value = _selected(values, "cloud") or Cloud.global_.value
    if cloud_value not in {c.value for c in Cloud}:
        errors["cloud"] = "unknown_value"

    csp = _selected_many(values, "csp_partner")
    if any(v not in ("yes", "non_csp_tenant") for v in csp):
        errors["csp_partner"] = "unknown_value"
    elif "non_csp_tenant" in csp and "yes" not in csp:
        errors["csp_partner"] = "non_csp_tenant_needs_csp_partner"

    ea = _selected_many(values, "ea_transfer")
    if any(v != "yes" for v in ea):
        errors["ea_transfer"] = "unknown_value"

    raw_customer = _element(values, "customer").get("value")
    customer = None
    if isinstance(raw_customer, str) and raw_customer != "":
        customer = " ".join(raw_customer.split())
        if problem := _customer_problem(customer):
            errors["customer"] = problem

    if errors:
        raise FormErrors(errors)
    return AssessForm(
        facts=Facts(
            role=role,
            cloud=Cloud(cloud_value),
            customer_is_csp_partner="yes" in csp,
            customer_non_csp_tenant="non_csp_tenant" in csp,
            ea_transfer_eligible=bool(ea),
            subscriptions=tuple(subscriptions),
        ),
        customer=customer,
    )


def _customer_problem(customer: str) -> str | None:
    """The error code for a customer name (whitespace already collapsed), or None."""
    if CONTROL_CHARACTERS.search(customer):
        return "control_character"
    if not customer:
        return "blank"
    if len(customer) > CUSTOMER_MAX:
        return "too_long"
    return None


class InviteForm(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer: str
    customer_domain: str | None = None
    customer_tenant_id: str | None = None
    reseller_key: str | None = None
    provider_key: str | None = None
    delegated_admin: bool = False


_DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def read_invite_form(
    values: dict[str, Any], *, allowed_keys: set[str], key_block: str
) -> InviteForm:
    """The create-invitation modal (`key_block` "reseller") or the request modal ("provider").
    `allowed_keys` are the organization keys the user may choose from."""
    errors: dict[str, str] = {}
    raw = _element(values, "customer").get("value")
    customer = " ".join(raw.split()) if isinstance(raw, str) else ""
    if problem := _customer_problem(customer):
        errors["customer"] = problem

    domain = _element(values, "domain").get("value")
    domain = domain.strip().lower() if isinstance(domain, str) and domain.strip() else None
    if domain is not None and not _DOMAIN.match(domain):
        errors["domain"] = "bad_domain"

    tenant = _element(values, "tenant").get("value")
    tenant = tenant.strip() if isinstance(tenant, str) and tenant.strip() else None
    if tenant is not None:
        try:
            tenant = normalize_tenant_id(tenant)
        except LinkInputError:
            errors["tenant"] = "bad_tenant"

    key = _selected(values, key_block)
    if key is not None and key not in allowed_keys:
        errors[key_block] = "unknown_value"
    if key_block == "provider" and key is None:
        errors[key_block] = "no_provider"

    admin = _selected_many(values, "delegated_admin")
    if any(v != "yes" for v in admin):
        errors["delegated_admin"] = "unknown_value"
    if errors:
        raise FormErrors(errors)
    return InviteForm(
        customer=customer,
        customer_domain=domain,
        customer_tenant_id=tenant,
        delegated_admin=bool(admin),
        **({"reseller_key": key} if key_block == "reseller" else {"provider_key": key}),
    )


class SetupForm(BaseModel):
    """The "Set up your organization" modal, read and checked field by field."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    tenant_id: str
    partner_id: str | None = None
    notification_channel: str | None = None
    join_code: str | None = None  # an indirect reseller's: its provider's one-time code


ORG_NAME_MAX = 200  # OrganizationEntry.name's max_length
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,30}$")


def _read_org_fields(
    values: dict[str, Any], errors: dict[str, str], role: Role | None = None
) -> tuple[str, Role | None, str, str | None]:
    """The name, role, tenant id and partner id blocks shared by the set-up, the
    organization details and the shared-channel reseller modals (`role` given: the form has
    no role block); problems go to `errors`."""
    raw_name = _element(values, "org_name").get("value")
    name = " ".join(raw_name.split()) if isinstance(raw_name, str) else ""
    if CONTROL_CHARACTERS.search(name):
        errors["org_name"] = "control_character"
    elif not name:
        errors["org_name"] = "required"
    elif len(name) > ORG_NAME_MAX:
        errors["org_name"] = "too_long_name"

    role_value = role.value if role is not None else _selected(values, "org_role")
    if role_value is None:
        errors["org_role"] = "required"
    elif role_value in Role.__members__:
        role = Role(role_value)
    else:
        errors["org_role"] = "unknown_value"

    raw_tenant = _element(values, "org_tenant").get("value")
    tenant = ""
    try:
        tenant = normalize_tenant_id(raw_tenant.strip() if isinstance(raw_tenant, str) else "")
    except LinkInputError:
        errors["org_tenant"] = "bad_tenant"

    raw_partner = _element(values, "org_partner_id").get("value")
    partner = raw_partner.strip() if isinstance(raw_partner, str) and raw_partner.strip() else None
    if partner is not None and not PARTNER_ID_RE.match(partner):
        errors["org_partner_id"] = "bad_partner_id"
    elif partner is None and role is Role.indirect_reseller:
        errors["org_partner_id"] = "partner_id_required"
    return name, role, tenant, partner


def read_setup_form(values: dict[str, Any]) -> SetupForm:
    """`values` is `view.state.values`. The same rules as the partner directory file
    (bot/core/store/directory_file.py): a name of 1-200 characters, a known role, a tenant
    GUID, a partner id of digits (required for an indirect reseller), a channel id.
    Raises FormErrors keyed by input block id."""
    errors: dict[str, str] = {}
    name, role, tenant, partner = _read_org_fields(values, errors)
    element = _element(values, "org_channel")
    channel = element.get("selected_conversation") or element.get("selected_channel")
    if channel is not None and (not isinstance(channel, str) or not _CHANNEL.match(channel)):
        errors["org_channel"] = "unknown_value"
    join_code = _read_code(values, "org_join_code", errors)
    if join_code is None and role is Role.indirect_reseller and "org_join_code" not in errors:
        errors["org_join_code"] = "join_code_required"
    if errors or role is None:
        raise FormErrors(errors)
    return SetupForm(
        name=name,
        role=role,
        tenant_id=tenant,
        partner_id=partner,
        notification_channel=channel,
        join_code=join_code if role is Role.indirect_reseller else None,
    )


def _read_code(values: dict[str, Any], block_id: str, errors: dict[str, str]) -> str | None:
    raw = _element(values, block_id).get("value")
    code = raw.strip() if isinstance(raw, str) and raw.strip() else None
    if code is not None and (len(code) > 40 or CONTROL_CHARACTERS.search(code)):
        errors[block_id] = "join_code_unknown"
    return code


class OrgDetailsForm(BaseModel):
    """A directory admin's "Organization details" modal: the fields an import states."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    tenant_id: str
    partner_id: str | None = None


def read_org_details_form(values: dict[str, Any]) -> OrgDetailsForm:
    """`values` is `view.state.values`: the set-up modal's rules for the same blocks.
    Raises FormErrors keyed by input block id."""
    errors: dict[str, str] = {}
    name, role, tenant, partner = _read_org_fields(values, errors)
    if errors or role is None:
        raise FormErrors(errors)
    return OrgDetailsForm(name=name, role=role, tenant_id=tenant, partner_id=partner)


class SharedResellerForm(BaseModel):
    """An indirect provider's admin adds a reseller it reaches through a Slack Connect channel
    (the reseller never installs the app): the reseller's entry and that channel."""

    model_config = ConfigDict(frozen=True)

    name: str
    tenant_id: str
    partner_id: str
    channel: str


def read_shared_reseller_form(values: dict[str, Any]) -> SharedResellerForm:
    """The set-up modal's rules for the name, tenant and partner id blocks (an indirect
    reseller: its partner id is required) and a channel. Raises FormErrors keyed by block."""
    errors: dict[str, str] = {}
    name, _role, tenant, partner = _read_org_fields(values, errors, Role.indirect_reseller)
    element = _element(values, "org_channel")
    channel = element.get("selected_conversation") or element.get("selected_channel")
    if channel is None:
        errors["org_channel"] = "required"
    elif not isinstance(channel, str) or not _CHANNEL.match(channel):
        errors["org_channel"] = "unknown_value"
    if errors or partner is None or not isinstance(channel, str):
        raise FormErrors(errors)
    return SharedResellerForm(name=name, tenant_id=tenant, partner_id=partner, channel=channel)


def read_code_form(values: dict[str, Any], block_id: str) -> str:
    """A one-time code typed in a modal's `block_id` input (a join or workspace code).
    Raises FormErrors keyed by that block."""
    errors: dict[str, str] = {}
    code = _read_code(values, block_id, errors)
    if code is None and not errors:
        errors[block_id] = "required"
    if errors or code is None:
        raise FormErrors(errors)
    return code


class OrgSettingsForm(BaseModel):
    """The directory admin's "Notification channel and admins" modal."""

    model_config = ConfigDict(frozen=True)

    notification_channel: str | None
    admins: tuple[str, ...]


ADMINS_MAX = 20
_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def read_org_settings_form(values: dict[str, Any]) -> OrgSettingsForm:
    """`values` is `view.state.values`. Raises FormErrors keyed by input block id."""
    errors: dict[str, str] = {}
    element = _element(values, "org_channel")
    channel = element.get("selected_conversation") or element.get("selected_channel")
    if channel is not None and (not isinstance(channel, str) or not _CHANNEL.match(channel)):
        errors["org_channel"] = "unknown_value"
    users = _element(values, "org_admins").get("selected_users") or []
    if not isinstance(users, list) or not all(isinstance(u, str) and _USER.match(u) for u in users):
        errors["org_admins"] = "unknown_value"
    elif not users:
        errors["org_admins"] = "no_admin"
    elif len(set(users)) > ADMINS_MAX:
        errors["org_admins"] = "too_many_admins"
    if errors:
        raise FormErrors(errors)
    return OrgSettingsForm(notification_channel=channel, admins=tuple(sorted(set(users))))
