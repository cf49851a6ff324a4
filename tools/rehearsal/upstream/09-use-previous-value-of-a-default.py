"""moto 5.2.5: UpdateStack with UsePreviousValue for a parameter that took its Default fails (KeyError).

Report: 09-use-previous-value-of-a-default.md. Run it with moto 5.2.5 installed
(``pip install 'moto[server]==5.2.5'``)::

    python tools/rehearsal/upstream/09-use-previous-value-of-a-default.py

Exit status 1 while the bug is present, 0 once moto answers as CloudFormation does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import client, template


def reproduce() -> str | None:
    """What moto does wrong, in one line, or None when it answers as CloudFormation does."""
    with mock_aws():
        cloudformation = client("cloudformation")
        parameters = {"Version": {"Type": "String", "Default": "1"}}
        body = template({}, Parameters=parameters, Outputs={"Version": {"Value": {"Ref": "Version"}}})
        cloudformation.create_stack(StackName="repro", TemplateBody=body)  # no Parameters: Version takes its Default
        try:
            cloudformation.update_stack(
                StackName="repro",
                TemplateBody=template({}, Parameters=parameters),
                Parameters=[{"ParameterKey": "Version", "UsePreviousValue": True}],
            )
        except Exception as error:
            return f"UpdateStack raised {type(error).__name__}: {error}"
        return None


if __name__ == "__main__":
    found = reproduce()
    print(f"bug present: {found}" if found else "fixed: moto answers as CloudFormation does")
    sys.exit(1 if found else 0)
