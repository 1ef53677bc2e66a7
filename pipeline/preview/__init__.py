"""Offline preview: the verdict `pulumi preview --policy-pack` would give, without the CLI.

`check` runs each stack's program (`pipeline.program`) and drives the real pack over gRPC
(`packclient`); `verdict` holds what it concludes, `report` renders it (text, JSON, SARIF), and `live`
reaches the same verdict through the real CLI where it is installed.
"""
