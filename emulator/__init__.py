"""Local stand-ins for the outside world, shared by the tests and `make demo`.

moto in server mode for AWS, a paginated source API that can misbehave on request, a fault
proxy, MockPass, and a local Lambda: handlers run under ``awslambdaric`` against a Runtime API
(:mod:`emulator.lambda_function`, :mod:`emulator.runtime_api`), fed by an SQS event source
mapping (:mod:`emulator.sqs_event_source`). None of this ships in a Lambda: the package is not
installed, only imported from the repository root.
"""
