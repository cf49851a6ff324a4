"""The private network of each target account: isolated task subnets reached through VPC endpoints."""

from components.network.private_network import (
    CODEDEPLOY,
    DEFAULT_INTERFACE_ENDPOINTS,
    EC2,
    ECR_API,
    ECR_DOCKER,
    LOGS,
    SECRETS_MANAGER,
    EndpointPolicy,
    InterfaceEndpoint,
    PrivateNetwork,
)

__all__ = [
    "CODEDEPLOY",
    "DEFAULT_INTERFACE_ENDPOINTS",
    "EC2",
    "ECR_API",
    "ECR_DOCKER",
    "LOGS",
    "SECRETS_MANAGER",
    "EndpointPolicy",
    "InterfaceEndpoint",
    "PrivateNetwork",
]
