"""Errors the pipeline reports as a message and exit code 2, never as a traceback.

Each class names *whose* problem it is, so the CLI can phrase the message and a caller of the Python
API can tell a bad stack file from a broken pack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.recording import ProgramRun


class PipelineError(Exception):
    """Base class: anything that stops a check before a verdict exists (exit code 2)."""

    exit_code = 2
    run: ProgramRun | None = None
    """Set by `pipeline.program.run_program` when the program failed: what it recorded until then."""


class ConfigurationError(PipelineError):
    """The stack or pack configuration is missing, malformed or of the wrong type."""


class ProgramError(PipelineError):
    """The Pulumi program failed while running under the mock runtime."""


class PackError(PipelineError):
    """The policy pack process could not be started, configured or queried."""


class LiveError(PipelineError):
    """`--live` could not run the real Pulumi CLI (not installed, or it failed before a verdict)."""
