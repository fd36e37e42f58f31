data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # Lambda's rule for SQS sources: visibility >= 6x the function timeout, or in-flight messages
  # reappear while still being processed. A smaller override is raised, never honoured.
  visibility_timeout = max(coalesce(var.queue.visibility_timeout_seconds, 0), 6 * var.worker.timeout)
  bucket_name        = "${var.name_prefix}-backup-${data.aws_caller_identity.current.account_id}"
  landing_arn        = var.landing_bucket_name == null ? null : "arn:${local.partition}:s3:::${var.landing_bucket_name}"

  # The pipeline contract (module pipelines.ingest.config); ENVIRONMENT etc. come from observed_lambda.
  pipeline_env = merge(var.extra_environment, {
    SOURCE_URL    = var.source_url
    SOURCE_NAME   = var.source_name
    TABLE_NAME    = aws_dynamodb_table.records.name
    BACKUP_BUCKET = aws_s3_bucket.backup.bucket
    QUEUE_URL     = aws_sqs_queue.tasks.url
    KEY_FIELD     = var.key_field
    VERSION_FIELD = var.version_field
  })
  # Only the worker checks drift: the scheduler gets neither the table nor the rights to it.
  worker_env = merge(local.pipeline_env, {
    BASELINE_TABLE = aws_dynamodb_table.baselines.name
    DRIFT_ACTIONS  = var.drift_actions
  })

  kms_statements = var.kms_key_arn == null ? [] : [{
    sid        = "PipelineKey"
    actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources  = [var.kms_key_arn]
    conditions = []
  }]
}

# ---------------------------------------------------------------- queue and dead-letter queue

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name_prefix}-ingest-tasks-dlq"
  message_retention_seconds         = var.queue.dlq_retention_seconds
  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 3600
  tags                              = var.tags
}

resource "aws_sqs_queue" "tasks" {
  name                              = "${var.name_prefix}-ingest-tasks"
  visibility_timeout_seconds        = local.visibility_timeout
  message_retention_seconds         = var.queue.message_retention_seconds
  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 3600
  # A message that failed max_receive_count times goes to the DLQ: nothing is lost, and
  # `observe diag dlq` shows why (the correlation id travels in the message attributes).
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.queue.max_receive_count
  })
  tags = var.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.tasks.arn]
  })
}

# Failed asynchronous invocations of the scheduler (EventBridge retries twice, then here).
resource "aws_sqs_queue" "scheduler_dlq" {
  name                              = "${var.name_prefix}-ingest-scheduler-dlq"
  message_retention_seconds         = var.queue.dlq_retention_seconds
  sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : 3600
  tags                              = var.tags
}

# ---------------------------------------------------------------- DynamoDB: newest valid state per key

resource "aws_dynamodb_table" "records" {
  name                        = "${var.name_prefix}-ingest-records"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.table.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

# ---------------------------------------------------------------- DynamoDB: drift baselines

# One item per pipeline#source/partition: the profiles of the last accepted batches (observe.checks
# DynamoBaselineStore; optimistic writes on a version attribute). Derived data, but losing it
# silences the drift checks for min_history batches, so it is protected like the records table.
resource "aws_dynamodb_table" "baselines" {
  name                        = "${var.name_prefix}-ingest-baselines"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.table.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

# ---------------------------------------------------------------- S3: versioned audit copies and quarantine

resource "aws_s3_bucket" "backup" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per account, not a module default; versioning + PITR on the table cover recovery within the region.
  #checkov:skip=CKV_AWS_18:Object-level access is audited with CloudTrail data events at the account level; server access logs would need another bucket per pipeline.
  #checkov:skip=CKV2_AWS_62:No consumer needs notifications of backup writes; the pipeline's own log line and metric record every write.
  bucket        = local.bucket_name
  force_destroy = var.backup.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "backup" {
  bucket = aws_s3_bucket.backup.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "backup" {
  bucket                  = aws_s3_bucket.backup.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "backup" {
  bucket = aws_s3_bucket.backup.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "backup" {
  bucket = aws_s3_bucket.backup.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "backup" {
  bucket = aws_s3_bucket.backup.id

  rule {
    id     = "noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days           = var.backup.noncurrent_version_expiration_days
      newer_noncurrent_versions = var.backup.noncurrent_versions_to_keep
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "quarantine"
    status = "Enabled"
    filter {
      prefix = "quarantine/"
    }
    expiration {
      days = var.backup.quarantine_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.backup]
}

data "aws_iam_policy_document" "backup" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"] # a Deny: the wildcard makes it stronger, not weaker
    resources = [
      aws_s3_bucket.backup.arn,
      "${aws_s3_bucket.backup.arn}/*",
    ]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "backup" {
  bucket     = aws_s3_bucket.backup.id
  policy     = data.aws_iam_policy_document.backup.json
  depends_on = [aws_s3_bucket_public_access_block.backup]
}

# ---------------------------------------------------------------- functions

# What each function may do, and nothing more (observed_lambda adds its own log group).
locals {
  scheduler_statements = concat([
    {
      sid        = "SendTasks"
      actions    = ["sqs:SendMessage"]
      resources  = [aws_sqs_queue.tasks.arn]
      conditions = []
    },
  ], local.kms_statements)

  worker_statements = concat(
    [
      {
        sid        = "UpsertRecords"
        actions    = ["dynamodb:GetItem", "dynamodb:PutItem"]
        resources  = [aws_dynamodb_table.records.arn]
        conditions = []
      },
      {
        sid        = "DriftBaselines"
        actions    = ["dynamodb:GetItem", "dynamodb:PutItem"]
        resources  = [aws_dynamodb_table.baselines.arn]
        conditions = []
      },
      {
        sid        = "WriteBackups"
        actions    = ["s3:PutObject"]
        resources  = ["${aws_s3_bucket.backup.arn}/*"]
        conditions = []
      },
      {
        sid        = "ConsumeTasks"
        actions    = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        resources  = [aws_sqs_queue.tasks.arn]
        conditions = []
      },
    ],
    local.landing_arn == null ? [] : [{
      sid        = "ReadLandedObjects"
      actions    = ["s3:GetObject", "s3:GetObjectVersion"]
      resources  = ["${local.landing_arn}/*"]
      conditions = []
    }],
    local.kms_statements,
  )
}


module "scheduler" {
  source = "../observed_lambda"

  function_name            = "${var.name_prefix}-ingest-scheduler"
  description              = "Plans fetch tasks (cron, S3 and EventBridge events) and sends them to the task queue."
  environment              = var.environment
  service_name             = "ingest-scheduler"
  pipeline                 = "ingest"
  artifact                 = var.artifact
  handler                  = "pipelines.ingest.scheduler.ingest_scheduler"
  memory_size              = var.scheduler.memory_size
  timeout                  = var.scheduler.timeout
  log_level                = var.log_level
  log_retention_days       = var.log_retention_days
  log_format               = var.log_format
  metrics_namespace        = var.metrics_namespace
  environment_variables    = local.pipeline_env
  kms_key_arn              = var.kms_key_arn
  permissions_boundary_arn = var.permissions_boundary_arn
  tracing_mode             = var.tracing_mode
  otel                     = var.otel
  dead_letter_target_arn   = aws_sqs_queue.scheduler_dlq.arn
  tags                     = var.tags

  policy_statements = local.scheduler_statements
}

module "worker" {
  source = "../observed_lambda"

  function_name                  = "${var.name_prefix}-ingest-worker"
  description                    = "Runs fetch tasks from the queue: async fetch, pandas validation, conditional upserts to DynamoDB, versioned copies to S3."
  environment                    = var.environment
  service_name                   = "ingest-worker"
  pipeline                       = "ingest"
  artifact                       = var.artifact
  handler                        = "pipelines.ingest.worker.ingest_worker"
  memory_size                    = var.worker.memory_size
  timeout                        = var.worker.timeout
  reserved_concurrent_executions = var.worker.reserved_concurrent_executions
  log_level                      = var.log_level
  log_retention_days             = var.log_retention_days
  log_format                     = var.log_format
  metrics_namespace              = var.metrics_namespace
  environment_variables          = local.worker_env
  kms_key_arn                    = var.kms_key_arn
  permissions_boundary_arn       = var.permissions_boundary_arn
  tracing_mode                   = var.tracing_mode
  otel                           = var.otel
  tags                           = var.tags

  policy_statements = local.worker_statements
}

resource "aws_lambda_event_source_mapping" "worker" {
  event_source_arn                   = aws_sqs_queue.tasks.arn
  function_name                      = module.worker.alias_arn
  batch_size                         = var.worker.batch_size
  maximum_batching_window_in_seconds = var.worker.maximum_batching_window_in_seconds
  # observe.batch returns {"batchItemFailures": [...]}: only the failed (or not yet run, after a
  # 429) messages go back to the queue, not the whole batch.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.worker.maximum_concurrency
  }
}

# ---------------------------------------------------------------- triggers of the scheduler

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${var.name_prefix}-ingest-schedule"
  description         = "Cron trigger of the ingest scheduler."
  schedule_expression = var.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_rule" "landing" {
  count       = var.landing_bucket_name == null ? 0 : 1
  name        = "${var.name_prefix}-ingest-landing"
  description = "New objects in ${var.landing_bucket_name} trigger the ingest scheduler."
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail        = { bucket = { name = [var.landing_bucket_name] } }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "custom" {
  count         = var.event_pattern == null ? 0 : 1
  name          = "${var.name_prefix}-ingest-event"
  description   = "Custom events that trigger the ingest scheduler."
  event_pattern = var.event_pattern
  tags          = var.tags
}

locals {
  rules = merge(
    { schedule = aws_cloudwatch_event_rule.schedule },
    var.landing_bucket_name == null ? {} : { landing = aws_cloudwatch_event_rule.landing[0] },
    var.event_pattern == null ? {} : { custom = aws_cloudwatch_event_rule.custom[0] },
  )
}

resource "aws_cloudwatch_event_target" "scheduler" {
  for_each = local.rules

  rule = each.value.name
  arn  = module.scheduler.alias_arn

  retry_policy {
    maximum_retry_attempts       = 2
    maximum_event_age_in_seconds = 3600
  }
}

resource "aws_lambda_permission" "events" {
  for_each = local.rules

  statement_id  = "AllowEventBridge-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = module.scheduler.function_name
  qualifier     = module.scheduler.alias_name
  principal     = "events.amazonaws.com"
  source_arn    = each.value.arn
}
