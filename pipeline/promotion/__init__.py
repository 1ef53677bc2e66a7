"""Promotion: dev, then staging, then prod, each stage gated by the pack and by reviewed baselines.

`promote` runs the flow, `deploy` talks to the Pulumi CLI (Automation API), `permissions` compares
grants between environments and against `baseline` files, `paths` is what they share.
"""
