"""ECS Fargate service deployed blue/green by CodeDeploy behind an Application Load Balancer."""
