# Planned and applied against the mock AWS provider (no credentials, nothing created): the resources a
# team gets for one function, with the inputs the pipelines give the module.

mock_provider "aws" {
  source          = "../../mocks"
  override_during = plan
}

variables {
  function_name = "acme-prd-orders-handler"
  description   = "Turns order events into shipments."
  environment   = "prd"
  service_name  = "orders-handler"
  pipeline      = "orders"
  handler       = "orders.handler.handle"
  artifact = {
    package_type      = "Zip"
    s3_bucket         = "acme-artifacts-123456789012"
    s3_key            = "lambda/0123456789abcdef0123456789abcdef01234567/lambda.zip"
    s3_object_version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
  }
  timeout = 60
  environment_variables = {
    ORDERS_TABLE = "acme-prd-orders"
  }
  policy_statements = [
    {
      sid       = "ReadOrders"
      actions   = ["dynamodb:GetItem", "dynamodb:Query"]
      resources = ["arn:aws:dynamodb:ap-southeast-1:123456789012:table/acme-prd-orders"]
    },
  ]
}

run "zip_function_in_prd" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/acme-prd-orders-handler" && aws_cloudwatch_log_group.this.retention_in_days == 90
    error_message = "prd: the function's own log group keeps logs 90 days"
  }
  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_group == aws_cloudwatch_log_group.this.name && aws_lambda_function.this.logging_config[0].log_format == "Text"
    error_message = "the function logs, as Text, into the group the module made"
  }
  assert {
    condition     = aws_lambda_function.this.package_type == "Zip" && aws_lambda_function.this.runtime == "python3.13" && aws_lambda_function.this.handler == "orders.handler.handle"
    error_message = "a Zip function runs the handler on python3.13 (the runtime the zip is built for)"
  }
  assert {
    condition     = aws_lambda_function.this.s3_object_version == var.artifact.s3_object_version && aws_lambda_function.this.image_uri == null
    error_message = "the zip is pinned by its object version"
  }
  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      ENVIRONMENT       = "prd"
      SERVICE_NAME      = "orders-handler"
      PIPELINE          = "orders"
      METRICS_NAMESPACE = "DataPipelines"
      ORDERS_TABLE      = "acme-prd-orders"
    })
    error_message = "observe's contract (ENVIRONMENT, SERVICE_NAME, PIPELINE, METRICS_NAMESPACE) plus the team's own settings"
  }
  assert {
    condition     = aws_lambda_function.this.publish && aws_lambda_alias.this.function_version == aws_lambda_function.this.version && aws_lambda_alias.this.name == "live"
    error_message = "every apply publishes a version and the alias 'live' points at it"
  }
  assert {
    condition     = aws_iam_role.this.name == var.function_name && aws_iam_role_policy.this.role == aws_iam_role.this.id
    error_message = "one role per function, with its inline policy"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.this.statement : s.sid] == ["Logs", "ReadOrders"]
    error_message = "no tracing, VPC, DLQ or KMS statements unless asked for"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.statement[0].resources == toset(["${aws_cloudwatch_log_group.this.arn}:*"]) && data.aws_iam_policy_document.this.statement[0].actions == toset(["logs:CreateLogStream", "logs:PutLogEvents"])
    error_message = "logs: its own group only, and no CreateLogGroup"
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.this.statement : alltrue([for a in s.actions : !strcontains(a, "*")]) && !contains(s.resources, "*")])
    error_message = "no wildcard action, no Resource \"*\""
  }
  assert {
    condition     = toset(one(data.aws_iam_policy_document.assume.statement[0].condition).values) == toset(["123456789012"])
    error_message = "only Lambda on behalf of this account may assume the role"
  }
  assert {
    condition     = length(aws_lambda_function_event_invoke_config.this) == 0 && length(aws_lambda_function.this.dead_letter_config) == 0
    error_message = "no destination or DLQ unless given"
  }
}

run "retention_follows_the_environment" {
  command = plan

  variables {
    environment = "dev"
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 14 && output.log_retention_days == 14
    error_message = "dev keeps logs 14 days"
  }
}

run "stg_retention_and_json_logs" {
  command = plan

  variables {
    environment = "stg"
    log_format  = "JSON"
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 30 && aws_lambda_function.this.logging_config[0].log_format == "JSON"
    error_message = "stg keeps logs 30 days; the JSON log format is passed through"
  }
}

run "retention_override" {
  command = plan

  variables {
    log_retention_days = 365
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "an explicit retention wins over the environment default"
  }
}

run "image_function" {
  command = plan

  variables {
    artifact = {
      package_type = "Image"
      image_uri    = "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/acme-lambda@sha256:0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100f"
    }
  }

  assert {
    condition     = aws_lambda_function.this.package_type == "Image" && aws_lambda_function.this.image_uri == var.artifact.image_uri
    error_message = "the image is pinned by digest"
  }
  assert {
    condition     = aws_lambda_function.this.image_config[0].command == tolist(["orders.handler.handle"]) && aws_lambda_function.this.runtime == null && aws_lambda_function.this.handler == null
    error_message = "for an image the handler is the image command, and there is no runtime"
  }
}

run "asynchronous_failures_and_tracing" {
  command = plan

  variables {
    tracing_mode               = "Active"
    dead_letter_target_arn     = "arn:aws:sqs:ap-southeast-1:123456789012:acme-prd-orders-dlq"
    on_failure_destination_arn = "arn:aws:sns:ap-southeast-1:123456789012:acme-prd-orders-failed"
    maximum_retry_attempts     = 1
  }

  assert {
    condition     = aws_lambda_function.this.dead_letter_config[0].target_arn == var.dead_letter_target_arn && aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "DLQ and active tracing are configured"
  }
  assert {
    condition     = aws_lambda_function_event_invoke_config.this[0].destination_config[0].on_failure[0].destination == var.on_failure_destination_arn && aws_lambda_function_event_invoke_config.this[0].qualifier == "live"
    error_message = "failed asynchronous invocations of the alias go to the destination"
  }
  assert {
    condition = { for s in data.aws_iam_policy_document.this.statement : s.sid => s.actions if s.sid != "Logs" && s.sid != "ReadOrders" } == {
      DeadLetter           = toset(["sqs:SendMessage"])
      OnFailureDestination = toset(["sns:Publish"])
      Tracing              = toset(["xray:PutTraceSegments", "xray:PutTelemetryRecords"])
    }
    error_message = "the DLQ gets SendMessage, the SNS destination Publish, tracing the X-Ray writes"
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.this.statement : s.sid == "Tracing" || !contains(s.resources, "*")])
    error_message = "only X-Ray's write calls (no resource-level permissions) have Resource \"*\""
  }
}

run "vpc_functions_manage_enis_in_this_account_and_region" {
  command = plan

  variables {
    vpc_config = {
      subnet_ids         = ["subnet-0123456789abcdef0"]
      security_group_ids = ["sg-0123456789abcdef0"]
    }
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "VpcNetworkInterfaces"]) == toset(["arn:aws:ec2:ap-southeast-1:123456789012:*"])
    error_message = "ENI rights are scoped to this account and region (read from data.aws_region.current.id)"
  }
}

run "secret_looking_variables_are_refused" {
  command = plan

  variables {
    environment_variables = { API_TOKEN = "x" }
  }

  expect_failures = [var.environment_variables]
}

run "wildcard_permissions_are_refused" {
  command = plan

  variables {
    policy_statements = [{ actions = ["dynamodb:*"], resources = ["arn:aws:dynamodb:ap-southeast-1:123456789012:table/t"] }]
  }

  expect_failures = [var.policy_statements]
}

run "a_zip_without_object_version_is_refused" {
  command = plan

  variables {
    artifact = {
      package_type = "Zip"
      s3_bucket    = "acme-artifacts-123456789012"
      s3_key       = "lambda/0123456789abcdef0123456789abcdef01234567/lambda.zip"
    }
  }

  expect_failures = [var.artifact]
}

run "unknown_log_format_is_refused" {
  command = plan

  variables {
    log_format = "CSV"
  }

  expect_failures = [var.log_format]
}
