"""The test-traffic hook's Lambda code, for CodeDeploy and ECS (deployed from here; handler.py needs only boto3)."""
