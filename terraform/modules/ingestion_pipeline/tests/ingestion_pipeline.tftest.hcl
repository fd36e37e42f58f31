# The ingestion pipeline as a team deploys it (scheduler -> SQS -> worker, table, baselines, backup
# bucket), applied against the mock AWS provider.

mock_provider "aws" {
  source          = "../../mocks"
  override_during = plan

  # Distinct ARNs, so the assertions can tell which queue or table a statement names.
  override_resource {
    target = aws_sqs_queue.tasks
    values = { arn = "arn:aws:sqs:ap-southeast-1:123456789012:acme-stg-ingest-tasks" }
  }
  override_resource {
    target = aws_sqs_queue.dlq
    values = { arn = "arn:aws:sqs:ap-southeast-1:123456789012:acme-stg-ingest-tasks-dlq" }
  }
  override_resource {
    target = aws_sqs_queue.scheduler_dlq
    values = { arn = "arn:aws:sqs:ap-southeast-1:123456789012:acme-stg-ingest-scheduler-dlq" }
  }
  override_resource {
    target = aws_dynamodb_table.records
    values = { arn = "arn:aws:dynamodb:ap-southeast-1:123456789012:table/acme-stg-ingest-records" }
  }
  override_resource {
    target = aws_dynamodb_table.baselines
    values = { arn = "arn:aws:dynamodb:ap-southeast-1:123456789012:table/acme-stg-ingest-baselines" }
  }
  override_resource {
    target = aws_s3_bucket.backup
    values = { arn = "arn:aws:s3:::acme-stg-backup-123456789012", bucket = "acme-stg-backup-123456789012" }
  }
}

variables {
  name_prefix = "acme-stg"
  environment = "stg"
  source_url  = "https://api.example.com/v1"
  artifact = {
    package_type      = "Zip"
    s3_bucket         = "acme-artifacts-123456789012"
    s3_key            = "lambda/0123456789abcdef0123456789abcdef01234567/lambda.zip"
    s3_object_version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
  }
}

run "stg_pipeline" {
  command = plan

  # ---- queue, DLQ, redrive
  assert {
    condition     = aws_sqs_queue.tasks.visibility_timeout_seconds == 720 && aws_sqs_queue.tasks.visibility_timeout_seconds >= 6 * 120
    error_message = "visibility is 6x the worker's 120 s timeout"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.tasks.redrive_policy) == { deadLetterTargetArn = aws_sqs_queue.dlq.arn, maxReceiveCount = 5 }
    error_message = "the task queue redrives to its DLQ after 5 receives"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_redrive_allow_policy.dlq.redrive_allow_policy) == { redrivePermission = "byQueue", sourceQueueArns = [aws_sqs_queue.tasks.arn] }
    error_message = "only the task queue may redrive into the DLQ (and back, from the console)"
  }
  assert {
    condition     = alltrue([for q in [aws_sqs_queue.tasks, aws_sqs_queue.dlq, aws_sqs_queue.scheduler_dlq] : q.sqs_managed_sse_enabled == true])
    error_message = "every queue is encrypted (SSE-SQS without a customer key)"
  }
  assert {
    condition     = aws_sqs_queue.dlq.message_retention_seconds == 1209600
    error_message = "the DLQ keeps messages 14 days"
  }

  # ---- worker trigger
  assert {
    condition     = aws_lambda_event_source_mapping.worker.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "the mapping takes partial batch responses (only failed messages return to the queue)"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.worker.event_source_arn == aws_sqs_queue.tasks.arn && aws_lambda_event_source_mapping.worker.function_name == module.worker.alias_arn
    error_message = "the task queue triggers the worker's alias"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.worker.scaling_config[0].maximum_concurrency == 10 && aws_lambda_event_source_mapping.worker.batch_size == 10
    error_message = "default batch size and maximum concurrency"
  }

  # ---- functions
  assert {
    condition     = module.worker.log_retention_days == 30 && module.scheduler.log_retention_days == 30
    error_message = "stg: both functions' log groups keep 30 days"
  }
  assert {
    condition     = output.scheduler.log_group_name == "/aws/lambda/acme-stg-ingest-scheduler" && output.worker.log_group_name == "/aws/lambda/acme-stg-ingest-worker"
    error_message = "each function has its own log group"
  }
  assert {
    condition     = length(aws_cloudwatch_event_target.scheduler) == 1 && aws_cloudwatch_event_target.scheduler["schedule"].arn == module.scheduler.alias_arn
    error_message = "only the schedule triggers the scheduler, through its alias"
  }
  assert {
    condition     = aws_lambda_permission.events["schedule"].source_arn == aws_cloudwatch_event_rule.schedule.arn && aws_lambda_permission.events["schedule"].qualifier == "live"
    error_message = "EventBridge may invoke the alias, from this rule only"
  }

  # ---- least privilege
  assert {
    condition = { for s in local.worker_statements : s.sid => s.resources } == {
      UpsertRecords  = ["arn:aws:dynamodb:ap-southeast-1:123456789012:table/acme-stg-ingest-records"]
      DriftBaselines = ["arn:aws:dynamodb:ap-southeast-1:123456789012:table/acme-stg-ingest-baselines"]
      WriteBackups   = ["arn:aws:s3:::acme-stg-backup-123456789012/*"]
      ConsumeTasks   = ["arn:aws:sqs:ap-southeast-1:123456789012:acme-stg-ingest-tasks"]
    }
    error_message = "the worker reaches exactly its table, its baselines, its bucket's objects and its queue"
  }
  assert {
    condition     = { for s in local.scheduler_statements : s.sid => s.actions } == { SendTasks = ["sqs:SendMessage"] }
    error_message = "the scheduler may only send tasks"
  }
  assert {
    condition     = alltrue([for s in concat(local.worker_statements, local.scheduler_statements) : alltrue([for a in s.actions : !strcontains(a, "*")]) && alltrue([for r in s.resources : r != "*" && !endswith(r, ":*") && !endswith(r, "/*/*")])])
    error_message = "no wildcard action and no wildcard data store"
  }
  assert {
    condition     = module.worker.function_name == "acme-stg-ingest-worker" && !contains(keys(local.pipeline_env), "BASELINE_TABLE") && local.worker_env.BASELINE_TABLE == aws_dynamodb_table.baselines.name
    error_message = "only the worker gets the baselines table"
  }

  # ---- data stores
  assert {
    condition     = alltrue([for t in [aws_dynamodb_table.records, aws_dynamodb_table.baselines] : t.point_in_time_recovery[0].enabled && t.server_side_encryption[0].enabled && t.billing_mode == "PAY_PER_REQUEST" && t.deletion_protection_enabled])
    error_message = "tables: PITR, SSE, on demand, deletion protection on by default"
  }
  assert {
    condition     = aws_s3_bucket_versioning.backup.versioning_configuration[0].status == "Enabled" && aws_s3_bucket_versioning.backup.bucket == aws_s3_bucket.backup.id
    error_message = "the backup bucket is versioned"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.backup.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "the backup bucket is encrypted (SSE-S3 without a customer key)"
  }
  assert {
    condition = (aws_s3_bucket_public_access_block.backup.block_public_acls && aws_s3_bucket_public_access_block.backup.block_public_policy
    && aws_s3_bucket_public_access_block.backup.ignore_public_acls && aws_s3_bucket_public_access_block.backup.restrict_public_buckets)
    error_message = "the backup bucket blocks every kind of public access"
  }
  assert {
    condition     = one(aws_s3_bucket_ownership_controls.backup.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs are off"
  }
  assert {
    condition     = data.aws_iam_policy_document.backup.statement[0].effect == "Deny" && one(data.aws_iam_policy_document.backup.statement[0].condition).values == tolist(["false"])
    error_message = "plain HTTP to the bucket is denied"
  }
  assert {
    condition     = { for r in aws_s3_bucket_lifecycle_configuration.backup.rule : r.id => r.status } == { noncurrent-versions = "Enabled", quarantine = "Enabled" }
    error_message = "old versions and quarantine documents expire"
  }
}

run "visibility_is_never_below_six_timeouts" {
  command = plan

  variables {
    worker = { timeout = 300 }
    queue  = { visibility_timeout_seconds = 600, max_receive_count = 3 }
  }

  assert {
    condition     = aws_sqs_queue.tasks.visibility_timeout_seconds == 1800 && output.visibility_timeout_seconds == 1800
    error_message = "a smaller override is raised to 6 x 300 s"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.tasks.redrive_policy).maxReceiveCount == 3
    error_message = "max_receive_count is passed to the redrive policy"
  }
}

run "a_longer_visibility_is_kept" {
  command = plan

  variables {
    queue = { visibility_timeout_seconds = 3600 }
  }

  assert {
    condition     = aws_sqs_queue.tasks.visibility_timeout_seconds == 3600
    error_message = "a visibility above 6x the timeout is honoured"
  }
}

run "customer_key_landing_bucket_and_dev" {
  command = plan

  variables {
    environment         = "dev"
    kms_key_arn         = "arn:aws:kms:ap-southeast-1:123456789012:key/99999999-8888-7777-6666-555555555555"
    landing_bucket_name = "acme-dev-landing"
    table               = { deletion_protection = false }
    log_format          = "JSON"
  }

  assert {
    condition     = alltrue([for q in [aws_sqs_queue.tasks, aws_sqs_queue.dlq, aws_sqs_queue.scheduler_dlq] : q.kms_master_key_id == var.kms_key_arn && q.kms_data_key_reuse_period_seconds == 3600])
    error_message = "with a customer key, every queue uses it"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.backup.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" && one(aws_s3_bucket_server_side_encryption_configuration.backup.rule).bucket_key_enabled
    error_message = "the bucket uses SSE-KMS with a bucket key"
  }
  assert {
    condition     = alltrue([for t in [aws_dynamodb_table.records, aws_dynamodb_table.baselines] : t.server_side_encryption[0].kms_key_arn == var.kms_key_arn && !t.deletion_protection_enabled])
    error_message = "the tables use the key; dev turns deletion protection off"
  }
  assert {
    condition     = [for s in local.worker_statements : s.resources if s.sid == "ReadLandedObjects"] == [["arn:aws:s3:::acme-dev-landing/*"]] && length([for s in local.worker_statements : s if s.sid == "PipelineKey"]) == 1
    error_message = "the worker may read landed objects and use the key"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.landing[0].event_pattern).detail.bucket.name == ["acme-dev-landing"] && length(aws_cloudwatch_event_target.scheduler) == 2
    error_message = "new objects in the landing bucket trigger the scheduler"
  }
  assert {
    condition     = module.worker.log_retention_days == 14
    error_message = "dev keeps logs 14 days"
  }
}

run "bad_drift_actions_are_refused" {
  command = plan

  variables {
    drift_actions = "row_count=ignore"
  }

  expect_failures = [var.drift_actions]
}

run "plain_http_source_is_refused" {
  command = plan

  variables {
    source_url = "http://api.example.com"
  }

  expect_failures = [var.source_url]
}
