"""moto 5.2.5: UpdateStack that changes a target group drops it from the stack.

Report: 10-update-drops-resources-without-update.md. Run it with moto 5.2.5 installed
(``pip install 'moto[server]==5.2.5'``)::

    python tools/rehearsal/upstream/10-update-drops-resources-without-update.py

Exit status 1 while the bug is present, 0 once moto answers as CloudFormation does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TARGET_GROUP, client, template


def reproduce() -> str | None:
    """What moto does wrong, in one line, or None when it answers as CloudFormation does."""
    with mock_aws():
        cloudformation = client("cloudformation")
        cloudformation.create_stack(StackName="repro", TemplateBody=template({"TargetGroup": TARGET_GROUP}))
        changed = {**TARGET_GROUP, "Properties": {**TARGET_GROUP["Properties"], "HealthCheckPath": "/ready"}}
        cloudformation.update_stack(StackName="repro", TemplateBody=template({"TargetGroup": changed}))
        listed = {
            r["LogicalResourceId"]
            for r in cloudformation.list_stack_resources(StackName="repro")["StackResourceSummaries"]
        }
        return (
            None
            if "TargetGroup" in listed
            else f"after UpdateStack the stack's resources are {sorted(listed)}: TargetGroup is gone"
        )


if __name__ == "__main__":
    found = reproduce()
    print(f"bug present: {found}" if found else "fixed: moto answers as CloudFormation does")
    sys.exit(1 if found else 0)
