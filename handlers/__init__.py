"""The patterns' Lambda sources (shipped in the wheel as ``sfn_patterns.lambdas``).

Each module here is the root of one Lambda archive; the library reads these files, never imports
them. ``common/`` is the small helper package the handlers share; ``demo/`` holds the demo stack's
own handlers, which are not part of the library.
"""
