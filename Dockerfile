# The Lambda container image: one image for every function; the function's handler is the image
# command (terraform sets image_config.command per function). Built once per commit by
# .github/workflows/deploy.yml, tagged with the git SHA, pushed to ECR and promoted by digest.
# Build with --provenance=false: Lambda accepts a single-platform manifest, not an image index.
FROM public.ecr.aws/lambda/python:3.11

# Install from a copy of the sources outside the task root (the base image's working directory is
# the task root, /var/task), so only the installed packages end up in the image.
COPY pyproject.toml README.md /tmp/src/
COPY observe/ /tmp/src/observe/
COPY pipelines/ /tmp/src/pipelines/
COPY dashboards/ /tmp/src/dashboards/
COPY diagnostics/ /tmp/src/diagnostics/
RUN pip install --no-cache-dir --target "${LAMBDA_TASK_ROOT}" "/tmp/src[ingest,auth,checks]" \
    && rm -rf /tmp/src

CMD ["pipelines.ingest.worker.ingest_worker"]
