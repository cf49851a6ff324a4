"""Reusable constructs of the reference architectures.

The package is called ``components`` rather than ``constructs`` on purpose: ``constructs``
is the library every CDK app imports, and a local package of that name would shadow it
(see the README's layout section and tests/tooling/test_layout.py).
"""
