# The two CI roles and the boundary every Lambda role must carry.
#
# publish: pushes the image and uploads the zip (the build job, on the publish branch only).
# plan:    read-only: terraform plan for one environment (jobs in GitHub environments <env>-plan,
#          which need no approval), so it can write nothing but the state lock file.
# deploy:  terraform apply (jobs in GitHub environments <env>, stg and prd behind required reviewers).
# Every action is named (no wildcards); resources are limited to <project>-* names in this
# account and region. Where an API has no resource-level permissions (Describe/List calls,
# ecr:GetAuthorizationToken, kms:CreateKey) the resource is "*" and that is said inline.
# The deploy role can create Lambda roles only with the permissions boundary below attached, so
# it cannot mint a role more powerful than what the pipelines need.

locals {
  arn_prefix = {
    lambda     = "arn:${local.partition}:lambda:${local.region}:${local.account_id}"
    iam        = "arn:${local.partition}:iam::${local.account_id}"
    logs       = "arn:${local.partition}:logs:${local.region}:${local.account_id}"
    sqs        = "arn:${local.partition}:sqs:${local.region}:${local.account_id}"
    dynamodb   = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}"
    events     = "arn:${local.partition}:events:${local.region}:${local.account_id}"
    cloudwatch = "arn:${local.partition}:cloudwatch::${local.account_id}"
    alarm      = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}"
    sns        = "arn:${local.partition}:sns:${local.region}:${local.account_id}"
    kms        = "arn:${local.partition}:kms:${local.region}:${local.account_id}"
    ssm        = "arn:${local.partition}:ssm:${local.region}:${local.account_id}"
    config     = "arn:${local.partition}:config:${local.region}:${local.account_id}"
    cloudfront = "arn:${local.partition}:cloudfront::${local.account_id}"
  }
  p = var.project
}

# ---------------------------------------------------------------- boundary of every Lambda execution role

data "aws_iam_policy_document" "lambda_boundary" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.arn_prefix.logs}:log-group:/aws/lambda/${local.p}-*"]
  }
  statement {
    sid       = "Data"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.arn_prefix.dynamodb}:table/${local.p}-*", "arn:${local.partition}:s3:::${local.p}-*/*"]
  }
  statement {
    sid       = "Queues"
    actions   = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = ["${local.arn_prefix.sqs}:${local.p}-*"]
  }
  statement {
    sid       = "KeysAndParameters"
    actions   = ["ssm:GetParameter", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["${local.arn_prefix.ssm}:parameter/${local.p}/*", "${local.arn_prefix.kms}:key/*"]
  }
  statement {
    sid       = "TracingAndDescribe"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "ec2:DescribeNetworkInterfaces"]
    resources = ["*"] # these APIs have no resource-level permissions
  }
  statement {
    sid       = "VpcNetworkInterfaces"
    actions   = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:*"]
  }
}

resource "aws_iam_policy" "lambda_boundary" {
  name        = "${local.p}-lambda-boundary"
  description = "Permissions boundary of every ${local.p} Lambda execution role: the most any of them may do."
  policy      = data.aws_iam_policy_document.lambda_boundary.json
  tags        = var.tags
}

# ---------------------------------------------------------------- publish role (build job)

data "aws_iam_policy_document" "publish" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }
  statement {
    sid = "PushImages"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
      "ecr:PutImage", "ecr:BatchGetImage", "ecr:DescribeImages",
    ]
    resources = [aws_ecr_repository.lambda.arn]
  }
  statement {
    sid       = "UploadZips"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.this["artifacts"].arn}/lambda/*"]
  }
}

resource "aws_iam_role" "publish" {
  name                 = "${local.p}-github-publish"
  description          = "GitHub Actions build job of ${var.github_repository} (${var.publish_branch}): pushes images and zips."
  assume_role_policy   = data.aws_iam_policy_document.trust["publish"].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "publish" {
  name   = "publish-artifacts"
  role   = aws_iam_role.publish.id
  policy = data.aws_iam_policy_document.publish.json
}

# ---------------------------------------------------------------- deploy role (plan / apply per environment)

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "StateList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.this["state"].arn]
  }
  statement {
    sid       = "StateObjectsAndLocks"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.this["state"].arn}/env/*"]
  }
  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.this["artifacts"].arn}/lambda/*"]
  }
  statement {
    sid       = "ImagesAndEnvironmentLabels"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:PutImage", "ecr:SetRepositoryPolicy", "ecr:GetRepositoryPolicy"]
    resources = [aws_ecr_repository.lambda.arn]
  }
  statement {
    sid = "LambdaFunctions"
    actions = [
      "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
      "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion",
      "lambda:ListVersionsByFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:CreateAlias", "lambda:UpdateAlias",
      "lambda:DeleteAlias", "lambda:GetAlias", "lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy",
      "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:GetFunctionConcurrency",
      "lambda:PutFunctionEventInvokeConfig", "lambda:UpdateFunctionEventInvokeConfig",
      "lambda:DeleteFunctionEventInvokeConfig", "lambda:GetFunctionEventInvokeConfig", "lambda:TagResource",
      "lambda:UntagResource", "lambda:ListTags",
    ]
    resources = ["${local.arn_prefix.lambda}:function:${local.p}-*"]
  }
  statement {
    sid       = "LambdaEventSourceMappings"
    actions   = ["lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping"]
    resources = ["*"] # mappings get random UUIDs; the condition limits them to our functions
    condition {
      test     = "ArnLike"
      variable = "lambda:FunctionArn"
      values   = ["${local.arn_prefix.lambda}:function:${local.p}-*"]
    }
  }
  statement {
    sid = "LambdaRolesWithBoundary"
    actions = [
      "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy",
    ]
    resources = ["${local.arn_prefix.iam}:role/${local.p}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.lambda_boundary.arn]
    }
  }
  statement {
    sid = "LambdaRolesRead"
    actions = [
      "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole", "iam:DeleteRole", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole",
    ]
    resources = ["${local.arn_prefix.iam}:role/${local.p}-*"]
  }
  statement {
    sid       = "PassRolesToLambda"
    actions   = ["iam:PassRole"]
    resources = ["${local.arn_prefix.iam}:role/${local.p}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com"]
    }
  }
  statement {
    sid = "LogGroupsAndQueries"
    actions = [
      "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
      "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource",
      "logs:ListTagsForResource", "logs:ListTagsLogGroup", "logs:TagLogGroup", "logs:CreateLogDelivery",
    ]
    resources = [
      "${local.arn_prefix.logs}:log-group:/aws/lambda/${local.p}-*",
      "${local.arn_prefix.logs}:log-group:/aws/apigateway/${local.p}-*",
    ]
  }
  statement {
    sid       = "LogsWithoutResourceLevel"
    actions   = ["logs:DescribeLogGroups", "logs:PutQueryDefinition", "logs:DeleteQueryDefinition", "logs:DescribeQueryDefinitions"]
    resources = ["*"] # these calls have no resource-level permissions
  }
  statement {
    sid = "Queues"
    actions = [
      "sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes", "sqs:GetQueueUrl",
      "sqs:TagQueue", "sqs:UntagQueue", "sqs:ListQueueTags",
    ]
    resources = ["${local.arn_prefix.sqs}:${local.p}-*"]
  }
  statement {
    sid = "Tables"
    actions = [
      "dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable",
      "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups", "dynamodb:DescribeTimeToLive",
      "dynamodb:UpdateTimeToLive", "dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:ListTagsOfResource",
    ]
    resources = ["${local.arn_prefix.dynamodb}:table/${local.p}-*"]
  }
  statement {
    sid = "Buckets"
    actions = [
      "s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketPolicy",
      "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:GetBucketVersioning", "s3:PutBucketVersioning",
      "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
      "s3:PutBucketPublicAccessBlock", "s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls",
      "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:GetBucketTagging", "s3:PutBucketTagging",
      "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite", "s3:GetBucketLogging",
      "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetReplicationConfiguration",
      "s3:GetBucketObjectLockConfiguration",
    ]
    resources = ["arn:${local.partition}:s3:::${local.p}-*"]
  }
  statement {
    sid = "Rules"
    actions = [
      "events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:PutTargets", "events:RemoveTargets",
      "events:ListTargetsByRule", "events:TagResource", "events:UntagResource", "events:ListTagsForResource",
    ]
    resources = ["${local.arn_prefix.events}:rule/${local.p}-*"]
  }
  statement {
    sid     = "HttpApis"
    actions = ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"]
    resources = [
      "arn:${local.partition}:apigateway:${local.region}::/apis",
      "arn:${local.partition}:apigateway:${local.region}::/apis/*",
      "arn:${local.partition}:apigateway:${local.region}::/tags/*",
    ]
  }
  statement {
    sid = "AlarmsAndDashboards"
    actions = [
      "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:TagResource",
      "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource", "cloudwatch:PutDashboard",
      "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards",
    ]
    resources = ["${local.arn_prefix.alarm}:alarm:${local.p}-*", "${local.arn_prefix.cloudwatch}:dashboard/${local.p}-*"]
  }
  statement {
    sid = "Topics"
    actions = [
      "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe",
      "sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes",
      "sns:ListSubscriptionsByTopic", "sns:TagResource", "sns:UntagResource", "sns:ListTagsForResource",
    ]
    resources = ["${local.arn_prefix.sns}:${local.p}-*"]
  }
  statement {
    sid       = "KeysCreate"
    actions   = ["kms:CreateKey", "kms:ListAliases"]
    resources = ["*"] # CreateKey and ListAliases have no resource-level permissions
  }
  statement {
    sid = "KeysOfThisProject"
    actions = [
      "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
      "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
      "kms:CreateAlias", "kms:DeleteAlias",
    ]
    resources = ["${local.arn_prefix.kms}:key/*", "${local.arn_prefix.kms}:alias/${local.p}-*", "${local.arn_prefix.kms}:alias/aws/ssm"]
  }
  statement {
    sid = "StaticSites"
    actions = [
      "cloudfront:CreateDistribution", "cloudfront:GetDistribution", "cloudfront:UpdateDistribution",
      "cloudfront:DeleteDistribution", "cloudfront:TagResource", "cloudfront:ListTagsForResource",
      "cloudfront:CreateOriginAccessControl", "cloudfront:GetOriginAccessControl",
      "cloudfront:UpdateOriginAccessControl", "cloudfront:DeleteOriginAccessControl",
      "cloudfront:CreateResponseHeadersPolicy", "cloudfront:GetResponseHeadersPolicy",
      "cloudfront:UpdateResponseHeadersPolicy", "cloudfront:DeleteResponseHeadersPolicy",
      "cloudfront:ListCachePolicies", "cloudfront:GetCachePolicy", "cloudfront:CreateInvalidation",
    ]
    resources = [
      "${local.arn_prefix.cloudfront}:distribution/*",
      "${local.arn_prefix.cloudfront}:origin-access-control/*",
      "${local.arn_prefix.cloudfront}:response-headers-policy/*",
      "${local.arn_prefix.cloudfront}:cache-policy/*",
    ]
  }
  statement {
    sid       = "ConfigRules"
    actions   = ["config:PutConfigRule", "config:DeleteConfigRule", "config:DescribeConfigRules", "config:TagResource", "config:ListTagsForResource"]
    resources = ["${local.arn_prefix.config}:config-rule/*"]
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "${local.p}-github-deploy"
  description          = "GitHub Actions plan/apply jobs of ${var.github_repository} in environments ${join(", ", var.deploy_environments)}."
  assume_role_policy   = data.aws_iam_policy_document.trust["deploy"].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy-${local.p}"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

# ---------------------------------------------------------------- plan role (read-only, no approval needed)

data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "StateRead"
    actions   = ["s3:ListBucket", "s3:GetObject"]
    resources = [aws_s3_bucket.this["state"].arn, "${aws_s3_bucket.this["state"].arn}/env/*"]
  }
  statement {
    sid       = "StateLockOnly"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.this["state"].arn}/env/*.tflock"]
  }
  statement {
    sid       = "ArtifactsRead"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.this["artifacts"].arn}/lambda/*"]
  }
  statement {
    sid = "ReadProjectResources"
    actions = [
      "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:ListVersionsByFunction",
      "lambda:GetFunctionCodeSigningConfig", "lambda:GetAlias", "lambda:GetPolicy", "lambda:GetFunctionConcurrency",
      "lambda:GetFunctionEventInvokeConfig", "lambda:ListTags",
      "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
      "logs:ListTagsForResource", "logs:ListTagsLogGroup",
      "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags",
      "dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource",
      "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration",
      "s3:GetBucketPublicAccessBlock", "s3:GetBucketOwnershipControls", "s3:GetLifecycleConfiguration",
      "s3:GetBucketTagging", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite", "s3:GetBucketLogging",
      "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetReplicationConfiguration",
      "s3:GetBucketObjectLockConfiguration",
      "events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource",
      "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:GetDashboard",
      "sns:GetTopicAttributes", "sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource",
      "config:DescribeConfigRules", "config:ListTagsForResource",
    ]
    resources = [
      "${local.arn_prefix.lambda}:function:${local.p}-*",
      "${local.arn_prefix.iam}:role/${local.p}-*",
      "${local.arn_prefix.logs}:log-group:/aws/lambda/${local.p}-*",
      "${local.arn_prefix.logs}:log-group:/aws/apigateway/${local.p}-*",
      "${local.arn_prefix.sqs}:${local.p}-*",
      "${local.arn_prefix.dynamodb}:table/${local.p}-*",
      "arn:${local.partition}:s3:::${local.p}-*",
      "${local.arn_prefix.events}:rule/${local.p}-*",
      "${local.arn_prefix.alarm}:alarm:${local.p}-*",
      "${local.arn_prefix.cloudwatch}:dashboard/${local.p}-*",
      "${local.arn_prefix.sns}:${local.p}-*",
      "${local.arn_prefix.config}:config-rule/*",
    ]
  }
  statement {
    sid       = "ReadWithoutResourceLevel"
    actions   = ["logs:DescribeLogGroups", "logs:DescribeQueryDefinitions", "kms:ListAliases"]
    resources = ["*"] # these calls have no resource-level permissions
  }
  statement {
    sid       = "ReadEventSourceMappings"
    actions   = ["lambda:GetEventSourceMapping"]
    resources = ["${local.arn_prefix.lambda}:event-source-mapping:*"]
  }
  statement {
    sid     = "ReadKeysImagesApisSites"
    actions = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "ecr:DescribeImages", "apigateway:GET", "cloudfront:GetDistribution", "cloudfront:ListTagsForResource", "cloudfront:GetOriginAccessControl", "cloudfront:GetResponseHeadersPolicy", "cloudfront:GetCachePolicy", "cloudfront:ListCachePolicies"]
    resources = [
      "${local.arn_prefix.kms}:key/*",
      aws_ecr_repository.lambda.arn,
      "arn:${local.partition}:apigateway:${local.region}::/apis",
      "arn:${local.partition}:apigateway:${local.region}::/apis/*",
      "${local.arn_prefix.cloudfront}:distribution/*",
      "${local.arn_prefix.cloudfront}:origin-access-control/*",
      "${local.arn_prefix.cloudfront}:response-headers-policy/*",
      "${local.arn_prefix.cloudfront}:cache-policy/*",
    ]
  }
}

resource "aws_iam_role" "plan" {
  name                 = "${local.p}-github-plan"
  description          = "GitHub Actions plan jobs of ${var.github_repository} (environments <env>-plan): read-only."
  assume_role_policy   = data.aws_iam_policy_document.trust["plan"].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "plan" {
  name   = "plan-${local.p}"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}
