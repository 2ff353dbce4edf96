"""IAM permission model: what the stacks need, what the CI identities hold, and the proof.

``resources.json`` says, for every Terraform resource type, data source, ephemeral resource,
Kubernetes kind and Helm chart the stacks use, which IAM permissions apply and plan need (with
sources); ``roles.json`` is a dated snapshot of the predefined roles we grant; ``identities.py``
says who holds which roles and why; ``model.py`` computes needs, holdings, gaps and writes from a
synthesized stack (pure Python). See docs/permissions.md.
"""
