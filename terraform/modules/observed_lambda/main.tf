data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
# The region name is read as .id: the same in provider 5.x and 6.x (6.x deprecates .name; 5.x has no .region).
data "aws_region" "current" {}

locals {
  default_retention = { dev = 14, stg = 30, prd = 90 }
  retention_days    = coalesce(var.log_retention_days, local.default_retention[var.environment])
  is_zip            = var.artifact.package_type == "Zip"
  log_group_name    = "/aws/lambda/${var.function_name}"

  otel_env = var.otel == null ? {} : {
    OTEL_SERVICE_NAME           = var.service_name
    OTEL_TRACES_EXPORTER        = "otlp"
    OTEL_EXPORTER_OTLP_ENDPOINT = var.otel.exporter_endpoint
    OTEL_EXPORTER_OTLP_PROTOCOL = var.otel.protocol
    OTEL_TRACES_SAMPLER         = var.otel.sampler
    OTEL_TRACES_SAMPLER_ARG     = var.otel.sampler_arg
    OTEL_PROPAGATORS            = "tracecontext"
  }

  # The observe contract: these names are read by observe (config, logging, metrics).
  standard_env = merge(
    {
      ENVIRONMENT       = var.environment
      SERVICE_NAME      = var.service_name
      PIPELINE          = var.pipeline
      METRICS_NAMESPACE = var.metrics_namespace
    },
    var.log_level == null ? {} : { LOG_LEVEL = var.log_level },
  )
  env_vars = merge(var.environment_variables, local.otel_env, local.standard_env)

  dlq_is_sqs = var.dead_letter_target_arn == null ? false : can(regex("^arn:aws[a-z-]*:sqs:", var.dead_letter_target_arn))
  destination_action = var.on_failure_destination_arn == null ? null : lookup({
    sqs    = "sqs:SendMessage"
    sns    = "sns:Publish"
    lambda = "lambda:InvokeFunction"
    events = "events:PutEvents"
  }, split(":", var.on_failure_destination_arn)[2], null)
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = local.retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.function_name
  description          = "Execution role of ${var.function_name} (least privilege, inline policy only)."
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  # Its own log group only (the group is created here, so no logs:CreateLogGroup).
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.policy_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }

  dynamic "statement" {
    for_each = var.dead_letter_target_arn == null ? [] : [var.dead_letter_target_arn]
    content {
      sid       = "DeadLetter"
      actions   = [local.dlq_is_sqs ? "sqs:SendMessage" : "sns:Publish"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.destination_action == null ? [] : [var.on_failure_destination_arn]
    content {
      sid       = "OnFailureDestination"
      actions   = [local.destination_action]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "EnvironmentKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    # X-Ray's write API has no resource-level permissions: "*" is the only valid resource.
    for_each = var.tracing_mode == "Active" ? [1] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    # ENI management for VPC functions, in this account and region; Describe has no resource-level permissions.
    for_each = var.vpc_config == null ? [] : [1]
    content {
      sid       = "VpcNetworkInterfaces"
      actions   = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
      resources = ["arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }

  dynamic "statement" {
    for_each = var.vpc_config == null ? [] : [1]
    content {
      sid       = "VpcDescribe"
      actions   = ["ec2:DescribeNetworkInterfaces"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.function_name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn
  package_type  = var.artifact.package_type
  architectures = [var.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout
  publish       = true

  # Zip: the exact object version that CI uploaded and tested (promotion by reference).
  s3_bucket         = local.is_zip ? var.artifact.s3_bucket : null
  s3_key            = local.is_zip ? var.artifact.s3_key : null
  s3_object_version = local.is_zip ? var.artifact.s3_object_version : null
  handler           = local.is_zip ? var.handler : null
  runtime           = local.is_zip ? var.runtime : null

  # Image: the digest CI pushed; the handler is the image command.
  image_uri = local.is_zip ? null : var.artifact.image_uri
  dynamic "image_config" {
    for_each = local.is_zip ? [] : [var.handler]
    content {
      command = [image_config.value]
    }
  }

  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  code_signing_config_arn        = var.code_signing_config_arn

  environment {
    variables = local.env_vars
  }

  logging_config {
    log_format = var.log_format
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_target_arn == null ? [] : [var.dead_letter_target_arn]
    content {
      target_arn = dead_letter_config.value
    }
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tags = merge(var.tags, { Service = var.service_name, Pipeline = var.pipeline })

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

resource "aws_lambda_alias" "this" {
  name             = var.alias_name
  description      = "The version this environment runs; triggers invoke the alias."
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count = var.on_failure_destination_arn == null ? 0 : 1

  function_name          = aws_lambda_function.this.function_name
  qualifier              = aws_lambda_alias.this.name
  maximum_retry_attempts = var.maximum_retry_attempts

  destination_config {
    on_failure {
      destination = var.on_failure_destination_arn
    }
  }
}
