"""The tools account's delivery pipeline and what it owns (ECR, artifacts, build, release)."""
