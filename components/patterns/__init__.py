"""The library's patterns: each a ``pulumi.ComponentResource`` built from :mod:`components.blocks`."""
