"""The live-traffic reader's Lambda code (deployed from this folder; handler.py needs only boto3)."""
