"""The account's IAM OIDC identity provider for GitHub Actions tokens."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

GITHUB_ISSUER_URL = "https://token.actions.githubusercontent.com"
#: The claim-key prefix IAM uses for conditions on this provider's tokens.
GITHUB_CLAIM_PREFIX = "token.actions.githubusercontent.com"


class GithubOidcProvider(Construct):
    """A native ``AWS::IAM::OIDCProvider`` for ``token.actions.githubusercontent.com``.

    An account holds at most one provider per issuer URL, so deploy this construct once per
    account (roles of several repositories share it). It is retained when its stack is
    deleted: removing it would break every role in the account that trusts GitHub.
    No thumbprint is set: IAM validates GitHub's certificate through its own trusted CAs.
    """

    def __init__(self, scope: Construct, construct_id: str, *, audience: str) -> None:
        super().__init__(scope, construct_id)
        self.provider = iam.OidcProviderNative(
            self,
            "Provider",
            url=GITHUB_ISSUER_URL,
            client_ids=[audience],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.arn: str = self.provider.oidc_provider_arn
