"""Absolute Zero: code-reasoning tasks the policy proposes and the sandbox checks."""
