# The Lambda container image: one image for every function; the function's handler is the image
# command (terraform sets image_config.command per function). Built once per commit by
# .github/workflows/deploy.yml, tagged with the git SHA, pushed to ECR and promoted by digest.
#
# It carries the same tree as the zip: `make lambda-zip` (mk/lambda_artifact.py) installs the
# dependencies from uv.lock with --require-hashes for this runtime, the project's wheel, and the
# bytecode compiled by this runtime's Python; build the image after it:
#   make lambda-zip && docker build --provenance=false --platform linux/amd64 -t <repo>:<sha> .
# Build with --provenance=false: Lambda accepts a single-platform manifest, not an image index.
# The base image's Python is the runtime's (mk/lambda_artifact.py RUNTIME; a test keeps them equal).
FROM public.ecr.aws/lambda/python:3.13

COPY build/lambda/package/ ${LAMBDA_TASK_ROOT}/
# The exact dependency list, beside the code (outside the task root, so nothing imports it).
COPY build/lambda/lambda.requirements.txt build/lambda/lambda.cdx.json /opt/artifact/

CMD ["pipelines.ingest.worker.ingest_worker"]
