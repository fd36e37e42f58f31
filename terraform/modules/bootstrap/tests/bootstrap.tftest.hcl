# The per-account foundation (state and artifact buckets, ECR, GitHub OIDC, the CI roles and the
# Lambda permissions boundary), against the mock provider.

mock_provider "aws" {
  source = "../../mocks"
  # The buckets have prevent_destroy, so the suite plans (an applied run would have to be torn down);
  # the mocked values are used during the plan, so the policies are read in it.
  override_during = plan

  override_resource {
    target = aws_s3_bucket.this["state"]
    values = { arn = "arn:aws:s3:::acme-tfstate-123456789012" }
  }
  override_resource {
    target = aws_s3_bucket.this["artifacts"]
    values = { arn = "arn:aws:s3:::acme-artifacts-123456789012" }
  }
}

variables {
  project           = "acme"
  github_repository = "acme-org/data-pipelines"
}

run "account_foundation" {
  command = plan

  assert {
    condition     = { for k, b in aws_s3_bucket.this : k => b.bucket } == { state = "acme-tfstate-123456789012", artifacts = "acme-artifacts-123456789012" }
    error_message = "a state and an artifacts bucket, named for the account"
  }
  assert {
    condition     = alltrue([for k in ["state", "artifacts"] : aws_s3_bucket_versioning.this[k].versioning_configuration[0].status == "Enabled"])
    error_message = "both buckets are versioned (old state versions and every zip are kept)"
  }
  assert {
    condition     = alltrue([for k in ["state", "artifacts"] : one(aws_s3_bucket_server_side_encryption_configuration.this[k].rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"])
    error_message = "both buckets are encrypted"
  }
  assert {
    condition     = alltrue([for p in aws_s3_bucket_public_access_block.this : p.block_public_acls && p.block_public_policy && p.ignore_public_acls && p.restrict_public_buckets])
    error_message = "neither bucket can be made public"
  }
  assert {
    condition     = aws_ecr_repository.lambda.image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.lambda.image_scanning_configuration[0].scan_on_push
    error_message = "image tags are immutable (promotion by reference) and scanned"
  }
  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 1 && aws_iam_openid_connect_provider.github[0].client_id_list == toset(["sts.amazonaws.com"])
    error_message = "the GitHub OIDC provider for STS"
  }

  assert {
    condition     = alltrue([for k in ["state", "artifacts"] : data.aws_iam_policy_document.bucket[k].statement[0].effect == "Deny" && one(data.aws_iam_policy_document.bucket[k].statement[0].condition).values == tolist(["false"])])
    error_message = "plain HTTP to either bucket is denied"
  }
  assert {
    condition     = toset(one(data.aws_iam_policy_document.ecr_lambda_pull.statement[0].condition).values) == toset(["arn:aws:lambda:ap-southeast-1:123456789012:function:acme-*"])
    error_message = "Lambda may pull images only for this project's functions in this account and region"
  }

  # ---- who may assume which role
  assert {
    condition     = toset(flatten([for c in data.aws_iam_policy_document.trust["publish"].statement[0].condition : c.values if c.variable == "token.actions.githubusercontent.com:sub"])) == toset(["repo:acme-org/data-pipelines:ref:refs/heads/main"])
    error_message = "only runs on main may publish artifacts"
  }
  assert {
    condition     = toset(flatten([for c in data.aws_iam_policy_document.trust["deploy"].statement[0].condition : c.values if c.variable == "token.actions.githubusercontent.com:sub"])) == toset(["repo:acme-org/data-pipelines:environment:dev", "repo:acme-org/data-pipelines:environment:stg", "repo:acme-org/data-pipelines:environment:prd"])
    error_message = "only jobs in the GitHub environments dev, stg and prd may deploy"
  }
  assert {
    condition     = toset(flatten([for c in data.aws_iam_policy_document.trust["plan"].statement[0].condition : c.values if c.variable == "token.actions.githubusercontent.com:sub"])) == toset(["repo:acme-org/data-pipelines:environment:dev-plan", "repo:acme-org/data-pipelines:environment:stg-plan", "repo:acme-org/data-pipelines:environment:prd-plan"])
    error_message = "plan jobs run in <env>-plan"
  }

  # ---- least privilege: every action named; "*" only where an API has no resource-level permissions
  assert {
    condition = alltrue(flatten([for d in [data.aws_iam_policy_document.publish, data.aws_iam_policy_document.deploy, data.aws_iam_policy_document.plan, data.aws_iam_policy_document.lambda_boundary] :
    [for s in d.statement : [for a in s.actions : !strcontains(a, "*")]]]))
    error_message = "no wildcard action in any CI or boundary policy"
  }
  assert {
    condition = toset(flatten([for d in [data.aws_iam_policy_document.publish, data.aws_iam_policy_document.deploy, data.aws_iam_policy_document.plan, data.aws_iam_policy_document.lambda_boundary] :
    [for s in d.statement : s.sid if contains(s.resources, "*")]])) == toset(["EcrLogin", "LambdaEventSourceMappings", "LogsWithoutResourceLevel", "KeysCreate", "ReadWithoutResourceLevel", "TracingAndDescribe"])
    error_message = "Resource \"*\" only for the calls without resource-level permissions (and mappings, limited by a condition)"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.deploy.statement : s.resources if s.sid == "StateObjectsAndLocks"]) == toset(["arn:aws:s3:::acme-tfstate-123456789012/env/*"])
    error_message = "the deploy role writes state under env/ only"
  }
  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.deploy.statement : [for c in s.condition : c.values if c.variable == "iam:PermissionsBoundary"] if s.sid == "LambdaRolesWithBoundary"])) == toset([aws_iam_policy.lambda_boundary.arn])
    error_message = "the deploy role can create roles only with the Lambda boundary attached"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.lambda_boundary.statement : s.resources if s.sid == "Logs"]) == toset(["arn:aws:logs:ap-southeast-1:123456789012:log-group:/aws/lambda/acme-*"])
    error_message = "the boundary: log groups of this project, in this account and region"
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.plan.statement : alltrue([for a in s.actions : length(regexall(":(Create|Delete|Put|Update|Tag|Untag)", a)) == 0]) if s.sid != "StateLockOnly"])
    error_message = "the plan role writes nothing but the state lock"
  }
}

run "an_existing_oidc_provider" {
  command = plan

  variables {
    create_github_oidc_provider = false
    github_oidc_provider_arn    = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    deploy_environments         = ["dev"]
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 0 && data.aws_iam_policy_document.trust["deploy"].statement[0].principals == toset([{ type = "Federated", identifiers = toset([var.github_oidc_provider_arn]) }])
    error_message = "the roles trust the account's existing provider"
  }
}

run "an_unknown_environment_is_refused" {
  command = plan

  variables {
    deploy_environments = ["dev", "qa"]
  }

  expect_failures = [var.deploy_environments]
}
