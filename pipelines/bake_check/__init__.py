"""Runtime code of the post-deploy bake rule (pipelines/health_bake.py deploys it)."""
