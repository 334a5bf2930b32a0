"""bot.core.store.directory: importing the partner directory and looking organizations up."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core.store.directory import (
    import_directory,
    is_admin,
    list_orgs,
    org_by_key,
    org_for_team,
    providers_of,
    resellers_of,
)
from bot.core.store.directory_file import read_directory_file
from bot.core.store.errors import DirectoryError
from bot.core.store.models import Organization
from bot.core.store.testing import Database
from policy.facts import Role

Data = dict[str, Any]


def _org(data: Data, key: str) -> dict[str, Any]:
    entry = next(o for o in data["organizations"] if o["key"] == key)
    assert isinstance(entry, dict)
    return entry


def _import(store: Database, data: Data) -> Any:
    with store.factory.begin() as session:
        return import_directory(session, data)


def _count_orgs(store: Database) -> int:
    with store.factory() as session:
        return session.scalar(select(func.count()).select_from(Organization)) or 0


def test_example_directory_imports(store: Database, example_directory: Data) -> None:
    result = _import(store, example_directory)
    assert sorted(result.created) == [
        "adatum", "contoso-dist", "fabrikam", "northwind-dist", "tailspin",
    ]  # fmt: skip
    with store.factory() as session:
        assert [org.key for org in list_orgs(session)] == sorted(result.created)
        fabrikam = org_for_team(session, "T0RESELLER")
        assert fabrikam is not None and fabrikam.key == "fabrikam"
        assert fabrikam.role is Role.indirect_reseller
        assert fabrikam.tenant_id == "9a7c3e55-1d2b-4f6a-b8c9-0e1f2a3b4c5d"
        assert fabrikam.partner_id == "7654321"
        assert fabrikam.notification_channel == "C0RESNOTIF"
        assert [p.key for p in providers_of(session, fabrikam)] == [
            "contoso-dist", "northwind-dist",
        ]  # fmt: skip
        contoso = org_by_key(session, "contoso-dist")
        assert contoso is not None
        assert [r.key for r in resellers_of(session, contoso)] == ["fabrikam", "tailspin"]
        assert providers_of(session, contoso) == []
        assert is_admin(session, contoso, "U0PROVADMIN")
        assert not is_admin(session, contoso, "U0RESADMIN")  # fabrikam's admin
        assert org_for_team(session, "T0UNKNOWN") is None
        adatum = org_by_key(session, "adatum")
        assert adatum is not None and adatum.partner_id is None


def test_reimport_is_idempotent_and_updates_by_key(
    store: Database, example_directory: Data
) -> None:
    _import(store, example_directory)
    again = _import(store, copy.deepcopy(example_directory))
    assert again.created == [] and again.updated == [] and len(again.unchanged) == 5

    fabrikam = _org(example_directory, "fabrikam")
    fabrikam["name"] = "Fabrikam IT Services"
    fabrikam["slack_teams"] = ["T0RESELLER", "T0RESELLER2"]
    fabrikam["providers"] = ["northwind-dist"]
    # A team may move between organizations of the same file.
    _org(example_directory, "tailspin")["slack_teams"] = ["T0ADATUM"]
    _org(example_directory, "adatum")["slack_teams"] = ["T0TAILSPIN"]
    result = _import(store, example_directory)
    assert sorted(result.updated) == ["adatum", "fabrikam", "tailspin"]
    with store.factory() as session:
        org = org_for_team(session, "T0RESELLER2")
        assert org is not None and org.name == "Fabrikam IT Services"
        assert [p.key for p in providers_of(session, org)] == ["northwind-dist"]
        moved = org_for_team(session, "T0ADATUM")
        assert moved is not None and moved.key == "tailspin"
    assert _count_orgs(store) == 5


def test_organizations_missing_from_the_file_are_kept(
    store: Database, example_directory: Data
) -> None:
    _import(store, example_directory)
    only_adatum = {"organizations": [_org(example_directory, "adatum")]}
    assert _import(store, only_adatum).unchanged == ["adatum"]
    assert _count_orgs(store) == 5


def _set(key: str, field: str, value: Any) -> Callable[[Data], None]:
    def edit(data: Data) -> None:
        _org(data, key)[field] = value

    return edit


def _drop(key: str, field: str) -> Callable[[Data], None]:
    def edit(data: Data) -> None:
        del _org(data, key)[field]

    return edit


def _append(entry: dict[str, Any]) -> Callable[[Data], None]:
    def edit(data: Data) -> None:
        data["organizations"].append(entry)

    return edit


GUID = "11111111-2222-4333-8444-555555555555"
INVALID_CASES = [
    ("bad_key", _set("fabrikam", "key", "Fabrikam IT"), "organizations[2]", "key", "not_a_key"),
    ("guid", _set("fabrikam", "tenant_id", "not-a-guid"), "fabrikam", "tenant_id", "not_a_guid"),
    ("partner_id", _set("fabrikam", "partner_id", "12AB"), "fabrikam", "partner_id", "not_digits"),
    ("role", _set("adatum", "role", "distributor"), "adatum", "role", "enum"),
    ("no_name", _drop("adatum", "name"), "adatum", "name", "missing"),
    ("unknown_field", _set("adatum", "colour", "red"), "adatum", "colour", "extra_forbidden"),
    ("channel_name", _set("fabrikam", "notification_channel", "#support"), "fabrikam",
     "notification_channel", "not_a_channel_id"),
    ("channel_lower", _set("fabrikam", "notification_channel", "c0lower"), "fabrikam",
     "notification_channel", "not_a_channel_id"),
    ("team_id", _set("adatum", "slack_teams", ["T0ADATUM", "workspace"]), "adatum",
     "slack_teams[1]", "not_a_team_id"),
    ("admin_id", _set("adatum", "admins", ["@bob"]), "adatum", "admins[0]", "not_a_user_id"),
    ("shared_team", _set("tailspin", "slack_teams", ["T0RESELLER"]), "tailspin", "slack_teams",
     "team_in_two_orgs"),
    ("duplicate_key", _append({"key": "adatum", "name": "Again", "role": "direct",
                               "tenant_id": GUID}), "adatum", "key", "duplicate_key"),
    ("duplicate_tenant", _set("adatum", "tenant_id", "6F1D2C9E-8A4B-4C1E-9F3A-2B7D5E8C1A00"),
     "adatum", "tenant_id", "duplicate_tenant"),
    ("no_provider", _set("tailspin", "providers", []), "tailspin", "providers",
     "reseller_needs_provider"),
    ("unknown_provider", _set("tailspin", "providers", ["wingtip"]), "tailspin", "providers",
     "unknown_provider"),
    ("provider_is_direct", _set("tailspin", "providers", ["adatum"]), "tailspin", "providers",
     "not_a_provider"),
    ("provider_is_reseller", _set("tailspin", "providers", ["fabrikam"]), "tailspin",
     "providers", "not_a_provider"),
    ("providers_on_provider", _set("contoso-dist", "providers", ["northwind-dist"]),
     "contoso-dist", "providers", "providers_only_for_resellers"),
    ("reseller_without_partner_id", _drop("tailspin", "partner_id"), "tailspin", "partner_id",
     "partner_id_required"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "org", "field", "code"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_directory_is_refused_naming_org_and_field(
    store: Database,
    example_directory: Data,
    edit: Callable[[Data], None],
    org: str,
    field: str,
    code: str,
) -> None:
    edit(example_directory)
    with pytest.raises(DirectoryError) as caught:
        _import(store, example_directory)
    found = {(i.org, i.field, i.code) for i in caught.value.issues}
    assert (org, field, code) in found, caught.value.message
    assert f"{org}: {field}: " in caught.value.message
    assert _count_orgs(store) == 0  # nothing written


@pytest.mark.parametrize(
    "data",
    [None, [], {"orgs": []}, {"organizations": []}, {"organizations": "x"}, {"organizations": [1]}],
)
def test_wrong_file_shape_is_refused(store: Database, data: Any) -> None:
    with pytest.raises(DirectoryError) as caught:
        _import(store, data)
    assert caught.value.issues[0].code == "bad_shape"


def test_checks_against_organizations_already_imported(
    store: Database, example_directory: Data
) -> None:
    _import(store, example_directory)
    newcomer = {
        "key": "wingtip",
        "name": "Wingtip",
        "role": "indirect_reseller",
        "tenant_id": "5C4B3A29-1807-4F6E-9D5C-4B3A29180F6E",  # adatum's, upper case
        "partner_id": 42,  # YAML number: accepted as "42"
        "slack_teams": ["T0PROVIDER"],  # contoso-dist's
        "providers": ["contoso-dist", "adatum"],
    }
    with pytest.raises(DirectoryError) as caught:
        _import(store, {"organizations": [newcomer]})
    assert {(i.org, i.field, i.code) for i in caught.value.issues} == {
        ("wingtip", "tenant_id", "tenant_taken"),
        ("wingtip", "slack_teams", "team_taken"),
        ("wingtip", "providers", "not_a_provider"),
    }
    newcomer.update(tenant_id=GUID, slack_teams=["T0WINGTIP"], providers=["contoso-dist"])
    assert _import(store, {"organizations": [newcomer]}).created == ["wingtip"]
    with store.factory() as session:
        wingtip = org_by_key(session, "wingtip")
        assert wingtip is not None and wingtip.partner_id == "42"


def test_provider_cannot_change_role_while_an_outside_reseller_uses_it(
    store: Database, example_directory: Data
) -> None:
    _import(store, example_directory)
    northwind = _org(example_directory, "northwind-dist")
    northwind["role"] = "direct"
    with pytest.raises(DirectoryError) as caught:
        _import(store, {"organizations": [northwind]})
    assert [(i.org, i.field, i.code) for i in caught.value.issues] == [
        ("northwind-dist", "role", "still_a_provider")
    ]


def test_read_directory_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError) as missing:
        read_directory_file(tmp_path / "nope.yaml")
    assert missing.value.issues[0].code == "file_not_found"
    bad = tmp_path / "bad.yaml"
    bad.write_text("organizations: [\n  - key: x\n", encoding="utf-8")
    with pytest.raises(DirectoryError) as invalid:
        read_directory_file(bad)
    assert invalid.value.issues[0].code == "invalid_yaml"
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n", encoding="utf-8")
    with pytest.raises(DirectoryError) as not_mapping:
        read_directory_file(scalar)
    assert not_mapping.value.issues[0].code == "not_a_mapping"
