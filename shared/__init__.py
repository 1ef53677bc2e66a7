"""The ai-data-processing project package: config model, IAM builders and the role component.

Layout (pure modules first, so they can be tested and reused without the Pulumi runtime):

- ``shared.config``      typed, validated stack configuration (``StackConfig``), ``ConfigError``
- ``shared.policies``    pure builders: identity policy, trust policy, ARNs (the access-level table)
- ``shared.permissions`` ``describe_role``: the effective permissions of a role as plain data
- ``shared.runtime``     reading config from the Pulumi runtime and the wrong-account guard
- ``shared.component``   the ``DataProcessingRole`` ComponentResource
"""

PROJECT = "ai-data-processing"
