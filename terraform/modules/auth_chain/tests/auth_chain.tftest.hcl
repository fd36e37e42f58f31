# The Singpass login chain (three stateless functions behind an HTTP API, a replay-guard table),
# applied against the mock AWS provider.

mock_provider "aws" {
  source          = "../../mocks"
  override_during = plan

  override_resource {
    target = aws_dynamodb_table.replay
    values = { arn = "arn:aws:dynamodb:ap-southeast-1:123456789012:table/acme-stg-auth-replay" }
  }
}

variables {
  name_prefix     = "acme-stg"
  environment     = "stg"
  singpass_issuer = "https://stg-id.singpass.gov.sg"
  client_id       = "acme-stg"
  redirect_uri    = "https://auth.stg.example.com/callback"
  artifact = {
    package_type      = "Zip"
    s3_bucket         = "acme-artifacts-123456789012"
    s3_key            = "lambda/0123456789abcdef0123456789abcdef01234567/lambda.zip"
    s3_object_version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
  }
  ssm_parameters = {
    signing_key    = "/acme/stg/auth/signing-key"
    encryption_key = "/acme/stg/auth/encryption-key"
    cookie_key     = "/acme/stg/auth/cookie-key"
  }
}

run "stg_chain" {
  command = plan

  assert {
    condition     = length(aws_dynamodb_table.replay) == 1 && aws_dynamodb_table.replay[0].ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.replay[0].ttl[0].enabled
    error_message = "stg guards replays with a table whose items expire"
  }
  assert {
    condition     = aws_dynamodb_table.replay[0].point_in_time_recovery[0].enabled && aws_dynamodb_table.replay[0].server_side_encryption[0].enabled && !aws_dynamodb_table.replay[0].deletion_protection_enabled
    error_message = "replay table: PITR and SSE; deletion protection only in prd"
  }
  assert {
    condition     = local.auth_env.REPLAY_GUARD == "true" && local.auth_env.REPLAY_TABLE == aws_dynamodb_table.replay[0].name
    error_message = "the functions are told to use the guard"
  }
  assert {
    condition     = aws_cloudwatch_log_group.access.retention_in_days == 30 && alltrue([for m in module.function : m.log_retention_days == 30])
    error_message = "stg: the API's access logs and the three functions' logs keep 30 days"
  }

  # ---- least privilege
  assert {
    condition     = { for k, v in local.function_statements : k => [for s in v : s.sid] } == { callback = ["ReadKeyParameters", "DecryptKeyParameters", "ClaimOnce"], jwks = ["ReadKeyParameters", "DecryptKeyParameters"], login = ["ReadKeyParameters", "DecryptKeyParameters"] }
    error_message = "every function reads the keys; only the callback writes, to claim a state"
  }
  assert {
    condition = toset(local.key_statements[0].resources) == toset([
      "arn:aws:ssm:ap-southeast-1:123456789012:parameter/acme/stg/auth/signing-key",
      "arn:aws:ssm:ap-southeast-1:123456789012:parameter/acme/stg/auth/encryption-key",
      "arn:aws:ssm:ap-southeast-1:123456789012:parameter/acme/stg/auth/cookie-key",
    ])
    error_message = "exactly the three parameters, in this account and region"
  }
  assert {
    condition     = local.key_statements[1].resources == [data.aws_kms_alias.ssm[0].target_key_arn] && local.key_statements[1].conditions[0].values == ["ssm.ap-southeast-1.amazonaws.com"]
    error_message = "the AWS managed SSM key, only when SSM in this region asks"
  }
  assert {
    condition     = local.function_statements.callback[2].resources == ["arn:aws:dynamodb:ap-southeast-1:123456789012:table/acme-stg-auth-replay"] && local.function_statements.callback[2].actions == ["dynamodb:PutItem"]
    error_message = "the callback may only put items into the replay table"
  }

  # ---- HTTP API
  assert {
    condition     = toset([for r in aws_apigatewayv2_route.this : r.route_key]) == toset(["GET /login", "GET /callback", "GET /jwks.json"])
    error_message = "three GET routes"
  }
  assert {
    condition     = alltrue([for k, i in aws_apigatewayv2_integration.this : i.integration_uri == module.function[k].alias_arn && i.integration_type == "AWS_PROXY" && i.payload_format_version == "2.0"])
    error_message = "each route invokes its function's alias"
  }
  assert {
    condition     = aws_lambda_permission.api["callback"].source_arn == "${aws_apigatewayv2_api.this.execution_arn}/*/GET/callback" && aws_lambda_permission.api["callback"].qualifier == "live"
    error_message = "API Gateway may invoke each alias from its own route only"
  }
  assert {
    condition     = aws_apigatewayv2_stage.default.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.access.arn && !strcontains(aws_apigatewayv2_stage.default.access_log_settings[0].format, "sourceIp") && !strcontains(aws_apigatewayv2_stage.default.access_log_settings[0].format, "querystring")
    error_message = "access logs without source IP or query string (the callback's code and state)"
  }
  assert {
    condition     = aws_apigatewayv2_stage.default.default_route_settings[0].throttling_rate_limit == 50 && aws_apigatewayv2_stage.default.default_route_settings[0].throttling_burst_limit == 100
    error_message = "default throttling"
  }
}

run "dev_runs_without_the_guard" {
  command = plan

  variables {
    environment = "dev"
    name_prefix = "acme-dev"
  }

  assert {
    condition     = length(aws_dynamodb_table.replay) == 0 && local.auth_env.REPLAY_GUARD == "false" && local.auth_env.REPLAY_TABLE == ""
    error_message = "dev has no replay table by default"
  }
  assert {
    condition     = aws_cloudwatch_log_group.access.retention_in_days == 14 && output.replay_table_name == null
    error_message = "dev keeps access logs 14 days"
  }
  assert {
    condition     = alltrue([for v in values(local.function_statements) : length(v) == 2])
    error_message = "without the guard, no function writes anywhere"
  }
}

run "prd_protects_the_replay_table_and_uses_its_own_key" {
  command = plan

  variables {
    environment     = "prd"
    name_prefix     = "acme-prd"
    ssm_kms_key_arn = "arn:aws:kms:ap-southeast-1:123456789012:key/77777777-6666-5555-4444-333333333333"
  }

  assert {
    condition     = aws_dynamodb_table.replay[0].deletion_protection_enabled && aws_cloudwatch_log_group.access.retention_in_days == 90
    error_message = "prd: deletion protection on, 90 days of logs"
  }
  assert {
    condition     = length(data.aws_kms_alias.ssm) == 0 && local.key_statements[1].resources == [var.ssm_kms_key_arn]
    error_message = "a given SSM key replaces the AWS managed one"
  }
}

run "a_timeout_beyond_the_api_limit_is_refused" {
  command = plan

  variables {
    timeout = 30
  }

  expect_failures = [var.timeout]
}

run "a_redirect_that_is_not_the_callback_is_refused" {
  command = plan

  variables {
    redirect_uri = "https://auth.stg.example.com/callback?next=/"
  }

  expect_failures = [var.redirect_uri]
}
