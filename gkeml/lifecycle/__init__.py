"""What happens when the synthesized stacks meet Terraform and GCP over time.

The order of the first apply, the deploy sequence from an empty project, changes between two deploys,
and teardown.

Everything here reads synthesized JSON or configs (pure Python); ``gkeml check`` and the tests run it.
"""
