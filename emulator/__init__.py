"""Local stand-ins for the outside world, shared by the tests and `make demo`.

moto in server mode for AWS, a paginated source API that can misbehave on request, a fault
proxy, MockPass. None of this ships in a Lambda: the package is not installed, only imported
from the repository root.
"""
