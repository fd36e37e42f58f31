# The whole root planned in workspace prd (TF_WORKSPACE=prd: tests/infra/tf.py runs each
# workspace-named suite in its workspace) against the mock provider: what prd gets.

mock_provider "aws" {
  source          = "../mocks"
  override_during = plan
}

variables {
  account_ids           = { dev = "123456789012", stg = "123456789012", prd = "123456789012" }
  lambda_zip_s3_bucket  = "pipelines-artifacts-123456789012"
  lambda_zip_s3_key     = "lambda/0123456789abcdef0123456789abcdef01234567/lambda.zip"
  lambda_zip_s3_version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
}

run "prd" {
  command = plan

  assert {
    condition     = output.environment == "prd" && local.prefix == "pipelines-prd"
    error_message = "the workspace names the environment and every resource"
  }
  assert {
    condition     = local.settings.log_retention_days == 90 && module.ingest.log_retention_days == 90 && module.auth.log_retention_days == 90
    error_message = "prd: every log group keeps logs 90 days"
  }
  assert {
    condition     = local.settings.log_level == "INFO" && local.settings.alarms_enabled == true && local.settings.deletion_protection == true
    error_message = "prd: log level, alarm notifications and deletion protection"
  }
  assert {
    condition     = module.auth.replay_table_name == "pipelines-prd-auth-replay"
    error_message = "prd: the Singpass replay guard"
  }
  assert {
    condition     = output.site != null && output.site.bucket == "pipelines-prd-login-ui-123456789012"
    error_message = "prd: the static front end"
  }
  assert {
    condition     = module.ingest.worker.function_name == "pipelines-prd-ingest-worker" && output.ingest.dlq_url != null
    error_message = "the ingestion pipeline is deployed with its DLQ"
  }
  assert {
    condition     = output.artifact.s3_object_version == var.lambda_zip_s3_version && output.artifact.image_uri == null
    error_message = "the functions run the zip pinned by object version"
  }
  assert {
    condition     = length(module.observability.alarm_names) == length(jsondecode(file("../generated/ingest.alarms.json"))) + length(jsondecode(file("../generated/auth.alarms.json")))
    error_message = "every generated alarm is deployed"
  }
  assert {
    condition     = alltrue([for n in module.observability.alarm_names : startswith(n, "pipelines-") && endswith(n, "-prd")])
    error_message = "alarm names carry the project and the environment"
  }
  assert {
    condition     = module.observability.dashboard_names == { ingest = "pipelines-prd-ingest", auth = "pipelines-prd-auth" } && keys(module.observability.topic_arns) == ["critical", "info", "warning"]
    error_message = "a dashboard per pipeline and a topic per severity"
  }
}
