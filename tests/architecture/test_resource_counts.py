"""A guard on the size of every stack: CloudFormation refuses a template with more than 500 resources."""

from __future__ import annotations

import warnings

import pytest

from tests.support import SynthesizedApp

#: CloudFormation's quota of resources per stack (CloudFormation user guide, cloudformation-limits).
CLOUDFORMATION_LIMIT = 500
#: Past this a stack should be split before the next feature lands: a warning in the test summary.
WARN_AT = 300
#: Past this the build fails, with room left for the resources a CDK upgrade may add.
FAIL_AT = 450


@pytest.mark.parametrize("which", ["synthesized", "ecs_native"])
def test_every_stack_stays_well_under_the_cloudformation_resource_limit(
    request: pytest.FixtureRequest, which: str
) -> None:
    app: SynthesizedApp = request.getfixturevalue(which)
    counts = {name: len(app.raw_template(name)["Resources"]) for name in app.stack_names}
    too_many = {name: count for name, count in counts.items() if count >= FAIL_AT}
    assert not too_many, f"split these stacks before they reach CloudFormation's {CLOUDFORMATION_LIMIT}: {too_many}"
    for name, count in counts.items():
        if count >= WARN_AT:
            warnings.warn(f"{name} has {count} resources (CloudFormation allows {CLOUDFORMATION_LIMIT})", stacklevel=1)
    assert max(counts.values()) > 10, "the counts read the templates' Resources"
