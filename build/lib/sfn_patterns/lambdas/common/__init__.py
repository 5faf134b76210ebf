"""Helpers shared by every handler: HTTP routing and errors, validation, logging, Step Functions.

Only the standard library and boto3 are used, so the package runs in the Lambda runtime as is.
Each Lambda archive carries this package beside its own handler module.
"""
