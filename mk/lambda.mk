# The Lambda artifact (mk/lambda_artifact.py): build/lambda/lambda.zip with lambda.requirements.txt
# and lambda.cdx.json beside it, and build/lambda/package, the tree the Dockerfile copies.
.PHONY: lambda-zip

lambda-zip: $(VENV)/.uv-$(UV_VERSION) ## the Lambda zip and its dependency list, from uv.lock
	UV=$(VENV)/bin/uv $(PY) mk/lambda_artifact.py --out build/lambda
