"""What an operator creates in the accounts before ``cdk bootstrap`` (docs/deploy.md, "Bootstrap")."""
