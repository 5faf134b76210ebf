"""The local stack: the unchanged Pulumi program, materialized into an embedded AWS (moto)."""
