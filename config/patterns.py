"""The shapes of the configuration's values, as regular expressions.

A leaf module: config/settings.py and config/oidc.py both read these patterns, and neither
imports the other for them.
"""

from __future__ import annotations

ACCOUNT_ID = r"\d{12}"
# Used in bucket, repository and role names: lowercase, starts with a letter, no double hyphen.
PROJECT_NAME = r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){2,23}"
SERVICE_NAME = r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,23}"
TAG_VALUE = r"[\w .:/=+@-]{1,256}"
GITHUB_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
GITHUB_REPO = r"(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}"
GIT_BRANCH = r"(?![/.-])(?!.*\.\.)(?!.*//)(?!.*[/.]$)(?!.*\.lock$)[A-Za-z0-9._/-]{1,200}"
IMAGE_TAG = r"(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
# Not ending in a hyphen and six characters: Secrets Manager would read a partial ARN of such a
# name as a complete ARN (with its random suffix), and ECS names the secret by partial ARN.
SECRET_NAME = r"(?![A-Za-z0-9/_+=.@-]*-[A-Za-z0-9]{6}$)[A-Za-z0-9/_+=.@-]{1,512}"
IAM_POLICY_NAME = r"[\w+=,.@-]{1,128}"
HEALTH_PATH = r"/[A-Za-z0-9/_.~-]{0,1023}"
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CONNECTION_ARN = rf"arn:aws:(?:codestar-connections|codeconnections):[a-z0-9-]+:\d{{12}}:connection/{UUID}"
CERTIFICATE_ARN = rf"arn:aws:acm:[a-z0-9-]+:\d{{12}}:certificate/{UUID}"
