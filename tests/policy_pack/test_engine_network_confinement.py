"""Network interfaces created at run time (VPC mode) are confined by ec2:Vpc/ec2:Subnet, not by name."""

from __future__ import annotations

from typing import Any

import pytest
from least_privilege.analysis import check_identity_policy
from least_privilege.catalog import resource_type_prefixes
from least_privilege.core import NETWORK_PLUMBING_TYPES
from least_privilege.findings import PRIVILEGE_ESCALATION, WILDCARD_RESOURCES, Severity

ACCOUNT = "111122223333"
ENI = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:network-interface/*"
SUBNET = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:subnet/*"
VPC = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:vpc/vpc-0abc1234def567890"
IN_VPC = {"ArnEquals": {"ec2:Vpc": VPC}}


def _doc(action: Any, resource: Any, condition: dict[str, Any] | None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition is not None:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


def _worst(doc: dict[str, Any], rule: str) -> Severity | None:
    found = [f.severity for f in check_identity_policy(doc) if f.rule == rule]
    return max(found) if found else None


def test_plumbing_types_exist_in_the_catalog() -> None:
    prefixes = {p.rstrip("/") for p in resource_type_prefixes("ec2")}
    assert prefixes >= NETWORK_PLUMBING_TYPES


IN_SUBNET = {"StringEquals": {"ec2:Subnet": SUBNET.replace("*", "subnet-0a1b")}}


@pytest.mark.parametrize("condition", [IN_VPC, IN_SUBNET])
def test_interfaces_confined_to_one_network_are_low(condition: dict[str, Any]) -> None:
    doc = _doc(["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"], [ENI, SUBNET], condition)
    assert _worst(doc, WILDCARD_RESOURCES) == Severity.LOW


def test_interface_permission_confined_to_one_network_is_low() -> None:
    doc = _doc("ec2:CreateNetworkInterfacePermission", ENI, IN_VPC)
    assert _worst(doc, PRIVILEGE_ESCALATION) == Severity.LOW
    assert _worst(doc, WILDCARD_RESOURCES) == Severity.LOW


@pytest.mark.parametrize(
    ("action", "resource", "condition"),
    [
        ("ec2:CreateNetworkInterface", ENI, None),  # no confinement
        ("ec2:TerminateInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/*", IN_VPC),  # not plumbing
        ("ec2:CreateNetworkInterface", ENI, {"ArnLike": {"ec2:Vpc": "arn:aws:ec2:*:*:vpc/*"}}),
        ("ec2:CreateNetworkInterface", ENI, {"ArnEqualsIfExists": {"ec2:Vpc": VPC}}),
        ("ec2:CreateNetworkInterface", ENI, {"ForAllValues:ArnEquals": {"ec2:Vpc": VPC}}),
        ("ec2:CreateNetworkInterface", ENI, {"ArnNotEquals": {"ec2:Vpc": VPC}}),
        ("ec2:CreateNetworkInterface", ENI, {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
        ("ec2:CreateNetworkInterface", "arn:aws:ec2:eu-west-1:*:network-interface/*", IN_VPC),
        ("ec2:CreateNetworkInterface", "*", IN_VPC),
    ],
)
def test_anything_wider_keeps_its_finding(action: str, resource: str, condition: Any) -> None:
    assert _worst(_doc(action, resource, condition), WILDCARD_RESOURCES) == Severity.HIGH
