"""Entry point run by `python -m pulumi.policy <engine> <pack-dir>` (the pack dir is on sys.path).

Kept thin on purpose: the policies live in the importable ``policies`` module so tests can exercise
them without starting a server, and nothing here may print to stdout before ``PolicyPack()`` writes
the port line the engine reads.
"""

import policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=policies.PACK_NAME,
    policies=policies.ALL_POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description=policies.PACK_DESCRIPTION,
    display_name="IAM least privilege",
    provider="aws",
    tags=["aws", "iam", "least-privilege"],
)
