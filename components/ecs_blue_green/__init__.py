"""ECS Fargate service released blue/green, by CodeDeploy or by ECS itself, behind an Application Load Balancer."""
