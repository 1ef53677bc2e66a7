"""The engine's rules, one module per rule: each holds its metadata (``RULE``, a ``RuleInfo``) and the
check functions it registers with ``least_privilege.core``.

This package's ``__init__`` imports nothing, so a light metadata module (``well_formed``,
``preview_verifiable``) can be imported by the document parser without loading every rule;
``least_privilege.registry`` imports them all and assembles ``RULES``.
"""
