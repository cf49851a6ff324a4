"""The test-traffic hook's Lambda code, for CodeDeploy and ECS (deployed from this folder; handler.py needs only boto3)."""
