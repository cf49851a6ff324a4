"""Stacks: one per concern and environment. They wire constructs together and grant access."""
