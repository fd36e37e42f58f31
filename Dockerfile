# The Lambda container image: one image for every function; the function's handler is the image
# command (terraform sets image_config.command per function). Built once per commit by
# .github/workflows/deploy.yml, tagged with the git SHA, pushed to ECR and promoted by digest.
# Build with --provenance=false: Lambda accepts a single-platform manifest, not an image index.
FROM public.ecr.aws/lambda/python:3.11

# Dependencies first (cached while only the code changes), then the code; no dev tools, no tests.
COPY pyproject.toml README.md ./
COPY observe/ ./observe/
COPY pipelines/ ./pipelines/
COPY dashboards/ ./dashboards/
COPY diagnostics/ ./diagnostics/
RUN pip install --no-cache-dir --target "${LAMBDA_TASK_ROOT}" ".[ingest,auth,checks]" \
    && rm -rf observe pipelines dashboards diagnostics pyproject.toml README.md build *.egg-info

CMD ["pipelines.ingest.worker.ingest_worker"]
