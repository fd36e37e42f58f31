data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
# The region name is read as .id: the same in provider 5.x and 6.x (6.x deprecates .name; 5.x has no .region).
data "aws_region" "current" {}

data "aws_kms_alias" "ssm" {
  count = var.ssm_kms_key_arn == null ? 1 : 0
  name  = "alias/aws/ssm"
}

locals {
  default_retention = { dev = 14, stg = 30, prd = 90 }
  retention_days    = coalesce(var.log_retention_days, local.default_retention[var.environment])
  replay_guard      = coalesce(var.replay_guard, var.environment != "dev")

  parameter_arn_prefix = "arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:parameter"
  parameter_arns       = [for n in values(var.ssm_parameters) : "${local.parameter_arn_prefix}${n}"]
  ssm_key_arn          = var.ssm_kms_key_arn != null ? var.ssm_kms_key_arn : data.aws_kms_alias.ssm[0].target_key_arn

  # The chain's contract (module pipelines.auth.config).
  auth_env = merge(var.extra_environment, {
    SINGPASS_MODE        = var.singpass_mode
    SINGPASS_ISSUER      = var.singpass_issuer
    CLIENT_ID            = var.client_id
    REDIRECT_URI         = var.redirect_uri
    SIGNING_KEY_PARAM    = var.ssm_parameters.signing_key
    ENCRYPTION_KEY_PARAM = var.ssm_parameters.encryption_key
    COOKIE_KEY_PARAM     = var.ssm_parameters.cookie_key
    REPLAY_GUARD         = tostring(local.replay_guard)
    REPLAY_TABLE         = local.replay_guard ? aws_dynamodb_table.replay[0].name : ""
  })

  # Every function loads the three keys at cold start (module pipelines.auth.runtime): exactly these
  # parameters, and the key only when SSM asks for it on behalf of one of them.
  key_statements = [
    {
      sid        = "ReadKeyParameters"
      actions    = ["ssm:GetParameter"]
      resources  = local.parameter_arns
      conditions = []
    },
    {
      sid       = "DecryptKeyParameters"
      actions   = ["kms:Decrypt"]
      resources = [local.ssm_key_arn]
      conditions = [
        { test = "StringEquals", variable = "kms:ViaService", values = ["ssm.${data.aws_region.current.id}.amazonaws.com"] },
        { test = "StringEquals", variable = "kms:EncryptionContext:PARAMETER_ARN", values = local.parameter_arns },
      ]
    },
  ]

  functions = {
    login = {
      description = "GET /login: starts the Singpass login (PAR + PKCE + DPoP in fapi mode), sets the transaction cookie."
      handler     = "pipelines.auth.handlers.login.handler"
      route       = "GET /login"
      path        = "login"
    }
    callback = {
      description = "GET /callback: checks state, claims it in the replay guard, exchanges the code, verifies the ID token."
      handler     = "pipelines.auth.handlers.callback.handler"
      route       = "GET /callback"
      path        = "callback"
    }
    jwks = {
      description = "GET /jwks.json: the public signing and encryption keys Singpass fetches."
      handler     = "pipelines.auth.handlers.jwks.handler"
      route       = "GET /jwks.json"
      path        = "jwks.json"
    }
  }
}

# ---------------------------------------------------------------- replay guard: the only state, and it expires

resource "aws_dynamodb_table" "replay" {
  count = local.replay_guard ? 1 : 0

  name                        = "${var.name_prefix}-auth-replay"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.environment == "prd"

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
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

# ---------------------------------------------------------------- the three stateless functions

# What each function may do: read the three keys; the callback also claims a state once.
locals {
  function_statements = { for name in keys(local.functions) : name => concat(
    local.key_statements,
    name == "callback" && local.replay_guard ? [{
      sid        = "ClaimOnce"
      actions    = ["dynamodb:PutItem"]
      resources  = [aws_dynamodb_table.replay[0].arn]
      conditions = []
    }] : [],
  ) }
}

module "function" {
  source   = "../observed_lambda"
  for_each = local.functions

  function_name                  = "${var.name_prefix}-auth-${each.key}"
  description                    = each.value.description
  environment                    = var.environment
  service_name                   = "auth-${each.key}"
  pipeline                       = "auth"
  artifact                       = var.artifact
  handler                        = each.value.handler
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  log_level                      = var.log_level
  log_retention_days             = local.retention_days
  log_format                     = var.log_format
  metrics_namespace              = var.metrics_namespace
  environment_variables          = local.auth_env
  kms_key_arn                    = var.kms_key_arn
  permissions_boundary_arn       = var.permissions_boundary_arn
  tracing_mode                   = var.tracing_mode
  tags                           = var.tags

  policy_statements = local.function_statements[each.key]
}

# ---------------------------------------------------------------- HTTP API

resource "aws_apigatewayv2_api" "this" {
  name          = "${var.name_prefix}-auth"
  description   = "Singpass login chain: /login, /callback, /jwks.json."
  protocol_type = "HTTP"
  tags          = var.tags
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name_prefix}-auth"
  retention_in_days = local.retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling.burst_limit
    throttling_rate_limit  = var.throttling.rate_limit
  }

  # No source IP, no query string (the callback's code and state), no cookies: nothing personal or secret.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      request_id         = "$context.requestId"
      correlation_id     = "$context.requestId"
      time               = "$context.requestTime"
      route              = "$context.routeKey"
      status             = "$context.status"
      response_length    = "$context.responseLength"
      latency_ms         = "$context.responseLatency"
      integration_ms     = "$context.integrationLatency"
      integration_status = "$context.integrationStatus"
      integration_error  = "$context.integrationErrorMessage"
    })
  }

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "this" {
  for_each = local.functions

  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_uri        = module.function[each.key].alias_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:Public by design: the login entry point, the OIDC redirect target and the public JWKS must be reachable without credentials; the callback authenticates the browser by state, PKCE and the transaction cookie.
  for_each = local.functions

  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.value.route
  target             = "integrations/${aws_apigatewayv2_integration.this[each.key].id}"
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "api" {
  for_each = local.functions

  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = module.function[each.key].function_name
  qualifier     = module.function[each.key].alias_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/GET/${each.value.path}"
}
