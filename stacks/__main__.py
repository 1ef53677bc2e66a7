"""ai-data-processing: one program for every environment (dev, staging, prod).

Read and validate the stack's config (all problems reported before any resource exists), refuse to
deploy into the wrong AWS account, build one DataProcessingRole per configured role, export a summary.
"""

import sys
from pathlib import Path

# `pulumi` runs this directory as the program; make the project package and the pack's engine
# (whose IAM catalog validates action names) importable without an install.
_ROOT = Path(__file__).resolve().parent.parent
for _path in (str(_ROOT), str(_ROOT / "policy-pack")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import pulumi  # noqa: E402

from shared.component import DataProcessingRole  # noqa: E402
from shared.runtime import ensure_deploy_account, load_stack_config  # noqa: E402

config = load_stack_config()
ensure_deploy_account(config)

roles = [DataProcessingRole(role, config) for role in config.roles]

pulumi.export("stack", config.stack)
pulumi.export("accountId", config.account_id)
pulumi.export("roles", {role.role_name: role.summary() for role in roles})
