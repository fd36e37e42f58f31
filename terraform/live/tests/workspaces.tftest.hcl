# The whole root planned in each workspace against the mock provider: tests/infra/tf.py runs this
# suite three times, with TF_WORKSPACE=dev, stg and prd, and `expected` says what each one gets.

mock_provider "aws" {
  source          = "../mocks"
  override_during = plan
}

variables {
  account_ids           = { dev = "123456789012", stg = "123456789012", prd = "123456789012" }
  lambda_zip_s3_bucket  = "pipelines-artifacts-123456789012"
  lambda_zip_s3_key     = "lambda/0123456789abcdef0123456789abcdef01234567/lambda.zip"
  lambda_zip_s3_version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
  expected = {
    dev = { retention = 14, log_level = "DEBUG", alarms = false, deletion_protection = false, replay_guard = false, site = false }
    stg = { retention = 30, log_level = "INFO", alarms = true, deletion_protection = false, replay_guard = true, site = true }
    prd = { retention = 90, log_level = "INFO", alarms = true, deletion_protection = true, replay_guard = true, site = true }
  }
}

run "workspace" {
  command = plan

  assert {
    condition     = contains(["dev", "stg", "prd"], output.environment) && local.prefix == "pipelines-${output.environment}"
    error_message = "the workspace names the environment and every resource"
  }
  assert {
    condition = alltrue([
      local.settings.log_retention_days == var.expected[local.env].retention,
      module.ingest.log_retention_days == var.expected[local.env].retention,
      module.auth.log_retention_days == var.expected[local.env].retention,
    ])
    error_message = "${local.env}: every log group keeps logs ${var.expected[local.env].retention} days"
  }
  assert {
    condition = alltrue([
      local.settings.log_level == var.expected[local.env].log_level,
      local.settings.alarms_enabled == var.expected[local.env].alarms,
      local.settings.deletion_protection == var.expected[local.env].deletion_protection,
    ])
    error_message = "${local.env}: log level, alarm notifications and deletion protection"
  }
  assert {
    condition     = (module.auth.replay_table_name != null) == var.expected[local.env].replay_guard
    error_message = "${local.env}: the Singpass replay guard"
  }
  assert {
    condition     = var.expected[local.env].site ? output.site.bucket == "pipelines-${local.env}-login-ui-123456789012" : output.site == null
    error_message = "${local.env}: the static front end"
  }
  assert {
    condition     = module.ingest.worker.function_name == "pipelines-${local.env}-ingest-worker" && output.ingest.dlq_url != null
    error_message = "the ingestion pipeline is deployed with its DLQ"
  }
  assert {
    condition     = output.artifact.s3_object_version == var.lambda_zip_s3_version && output.artifact.image_uri == null
    error_message = "the functions run the zip pinned by object version"
  }
  assert {
    condition     = length(module.observability.alarm_names) == length(jsondecode(file("../generated/ingest.${local.env}.alarms.json"))) + length(jsondecode(file("../generated/auth.${local.env}.alarms.json")))
    error_message = "every generated alarm is deployed"
  }
  assert {
    condition     = alltrue([for n in module.observability.alarm_names : startswith(n, "pipelines-") && endswith(n, "-${local.env}")])
    error_message = "alarm names carry the project and the environment"
  }
  assert {
    condition     = module.observability.dashboard_names == { ingest = "pipelines-${local.env}-ingest", auth = "pipelines-${local.env}-auth" } && keys(module.observability.topic_arns) == ["critical", "info", "warning"]
    error_message = "a dashboard per pipeline and a topic per severity"
  }
}
