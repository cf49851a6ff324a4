"""The sample application image that the ECS blue/green pipeline builds and deploys."""
