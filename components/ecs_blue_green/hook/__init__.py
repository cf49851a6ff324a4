"""CodeDeploy lifecycle hook Lambda code (deployed from this folder; handler.py needs only boto3)."""
