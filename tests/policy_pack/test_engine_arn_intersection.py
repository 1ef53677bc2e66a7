"""The bit-parallel resource/template intersection agrees with a plain product-automaton search.

The reference below explores the (resource position, template position) states one by one: slow, but
obviously right. Hypothesis compares the two on resources and templates built from the characters that
matter (separators, wildcards, placeholders, policy variables, unknown sentinels).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from least_privilege import UNKNOWN_STRING, catalog, core
from least_privilege import arn as arn_module
from least_privilege.arn import _ANY1, _LIT, _RUN, _intersects, _resource_tokens, _template_info


def _compatible(a: tuple[int, object], b: tuple[int, object]) -> bool:
    ka, va = a
    kb, vb = b
    if ka == _LIT and kb == _LIT:
        return va == vb
    if ka == _LIT:
        return kb == _ANY1 or va not in vb  # type: ignore[operator]
    if kb == _LIT:
        return ka == _ANY1 or vb not in va  # type: ignore[operator]
    return True


def _reference(a: tuple[tuple[int, object], ...], b: tuple[tuple[int, object], ...]) -> bool:
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j = state
        if i == len(a) and j == len(b):
            return True
        ta = a[i] if i < len(a) else None
        tb = b[j] if j < len(b) else None
        if ta is not None and ta[0] == _RUN:
            stack.append((i + 1, j))
        if tb is not None and tb[0] == _RUN:
            stack.append((i, j + 1))
        if ta is None or tb is None or (ta[0] == _RUN and tb[0] == _RUN):
            continue
        if _compatible(ta, tb):
            stack.append((i if ta[0] == _RUN else i + 1, j if tb[0] == _RUN else j + 1))
    return False


_RESOURCE_PARTS = st.sampled_from(
    ["a", "b", "ab", "/", ":", "-", "*", "?", "${aws:username}", "${*}", UNKNOWN_STRING, "x/y", "role/"]
)
_ARN_PARTS = st.sampled_from(["arn:aws:", "sagemaker:", "ec2:", "*:", "instance/"])
_TEMPLATE_PARTS = st.sampled_from(
    ["a", "b", "/", ":", "-", "${Name}", "${Id}", "role/", "x", "${Partition}", "log-group:"]
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(_RESOURCE_PARTS, max_size=10).map("".join),
    st.lists(_TEMPLATE_PARTS, min_size=1, max_size=8).map("".join),
)
def test_bit_parallel_intersection_matches_the_reference(resource: str, template: str) -> None:
    res_tokens, _plain = _resource_tokens(resource)
    tmpl_tokens, _regex = _template_info(template)
    assert _intersects(res_tokens, tmpl_tokens) == _reference(res_tokens, tmpl_tokens)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_RESOURCE_PARTS, max_size=6).map(lambda parts: "arn:aws:s3:::" + "".join(parts)),
    st.sampled_from(
        [
            "arn:${Partition}:s3:::${BucketName}",
            "arn:${Partition}:s3:::${BucketName}/${ObjectName}",
            "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",
            "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}",
        ]
    ),
)
def test_whole_arns_agree_with_the_reference(resource: str, template: str) -> None:
    res_tokens, _plain = _resource_tokens(resource)
    tmpl_tokens, _regex = _template_info(template)
    assert _intersects(res_tokens, tmpl_tokens) == _reference(res_tokens, tmpl_tokens)


def test_known_cases() -> None:
    fits = arn_module.resource_fits_template
    instance = "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}"
    assert fits("arn:aws:ec2:*:*:instance/*", instance)
    assert not fits("arn:aws:ec2:eu-west-1:111122223333:volume/*", instance)
    assert not fits("arn:aws:s3:::b/*", "arn:${Partition}:s3:::${BucketName}")
    assert fits("arn:aws:s3:::b*", "arn:${Partition}:s3:::${BucketName}")
    assert fits("arn:*:s3:::*/*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_RESOURCE_PARTS | _ARN_PARTS, max_size=8).map("".join),
    st.sampled_from(["s3", "ec2", "sagemaker", "iam", "logs"]),
)
def test_all_templates_of_a_service_at_once_agree_with_one_at_a_time(resource: str, service: str) -> None:
    templates = arn_module.template_set(catalog.service_templates(service))
    fitting = arn_module.fitting_templates(resource, templates)
    for template in templates.templates:
        expected = arn_module.resource_fits_template(resource, template)
        assert bool(fitting & templates.mask((template,))) == expected, template


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="*?a\\.[]${}()|+^\n", max_size=70))
def test_literal_star_test_agrees_with_the_glob(resource: str) -> None:
    by_glob = len(resource) < 64 and bool(core.glob_regex(resource).fullmatch("*"))
    assert core.matches_literal_star(resource) == by_glob
