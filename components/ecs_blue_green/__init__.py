"""An ECS Fargate service behind an Application Load Balancer, released blue/green by CodeDeploy or by Amazon ECS.

``release_controller`` in the configuration chooses the controller per environment
(docs/ecs-blue-green.md); ``ReleasedFargateService`` (service.py) builds either.
"""
