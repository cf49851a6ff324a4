"""The sample HTTP service (standard library only); the entry point is ``server.main``."""
