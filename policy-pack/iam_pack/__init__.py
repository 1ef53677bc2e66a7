"""The pack's machinery between CrossGuard and the engine, free of provider knowledge.

* :mod:`iam_pack.plain`: pulumi_policy proxies -> plain data, unknowns as ``least_privilege.UNKNOWN``;
* :mod:`iam_pack.reporting`: the one place every violation of every policy is reported through;
* :mod:`iam_pack.exception_policies`: reviewed exceptions screening each violation there, and the
  policies reporting accepted findings and the exceptions themselves;
* :mod:`iam_pack.engine`: cached calls into the engine with each policy's settings;
* :mod:`iam_pack.resource_checks`: the resource policies (one per engine rule) over adapter views;
* :mod:`iam_pack.stack_view`: the stack's principals, policies and the links between them;
* :mod:`iam_pack.stack_checks`: the stack policies (verifiability, budgets, escalation across policies).
"""
