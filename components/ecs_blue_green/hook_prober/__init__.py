"""The test-traffic hook's prober: one request to the test listener from inside the VPC (standard library only)."""
