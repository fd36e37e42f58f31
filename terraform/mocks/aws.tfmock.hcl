# What the data sources return in the modules' `terraform test` suites (mock_provider "aws" with
# source = "../../mocks"): one account in ap-southeast-1. Resources get the mock provider's generated
# values (unique strings) for what AWS would compute, such as ARNs and IDs.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:sts::123456789012:assumed-role/pipelines-github-deploy/deploy-dev-1"
    user_id    = "AROAEXAMPLEROLEID:deploy-dev-1"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition          = "aws"
    dns_suffix         = "amazonaws.com"
    reverse_dns_prefix = "com.amazonaws"
  }
}

mock_data "aws_region" {
  defaults = {
    id          = "ap-southeast-1"
    name        = "ap-southeast-1"
    description = "Asia Pacific (Singapore)"
    endpoint    = "ec2.ap-southeast-1.amazonaws.com"
  }
}

# The rendered JSON is the provider's work (not planned here); the suites assert on the statements
# the modules give the document instead. The value only has to be a policy the resources accept.
mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_data "aws_kms_alias" {
  defaults = {
    arn            = "arn:aws:kms:ap-southeast-1:123456789012:alias/aws/ssm"
    target_key_arn = "arn:aws:kms:ap-southeast-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    target_key_id  = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
  }
}

mock_data "aws_cloudfront_cache_policy" {
  defaults = {
    id = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  }
}

# Computed ARNs that other resources validate as ARNs. One value per type: a suite that needs two
# resources of a type told apart gives them their own values with override_resource.

mock_resource "aws_iam_role" {
  defaults = {
    arn       = "arn:aws:iam::123456789012:role/mock-role"
    unique_id = "AROAMOCKROLEID"
  }
}

mock_resource "aws_iam_policy" {
  defaults = {
    arn = "arn:aws:iam::123456789012:policy/mock-policy"
  }
}

mock_resource "aws_iam_openid_connect_provider" {
  defaults = {
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:ap-southeast-1:123456789012:log-group:/aws/lambda/mock"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:ap-southeast-1:123456789012:function:mock"
    qualified_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:mock:1"
    invoke_arn    = "arn:aws:apigateway:ap-southeast-1:lambda:path/2015-03-31/functions/arn:aws:lambda:ap-southeast-1:123456789012:function:mock/invocations"
    version       = "1"
  }
}

mock_resource "aws_lambda_alias" {
  defaults = {
    arn        = "arn:aws:lambda:ap-southeast-1:123456789012:function:mock:live"
    invoke_arn = "arn:aws:apigateway:ap-southeast-1:lambda:path/2015-03-31/functions/arn:aws:lambda:ap-southeast-1:123456789012:function:mock:live/invocations"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:ap-southeast-1:123456789012:mock"
    url = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/mock"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:ap-southeast-1:123456789012:table/mock"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn                         = "arn:aws:s3:::mock"
    bucket_regional_domain_name = "mock.s3.ap-southeast-1.amazonaws.com"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:ap-southeast-1:123456789012:mock"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:ap-southeast-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:ap-southeast-1:123456789012:rule/mock"
  }
}

mock_resource "aws_apigatewayv2_api" {
  defaults = {
    api_endpoint  = "https://abcdef1234.execute-api.ap-southeast-1.amazonaws.com"
    execution_arn = "arn:aws:execute-api:ap-southeast-1:123456789012:abcdef1234"
  }
}

mock_resource "aws_cloudfront_distribution" {
  defaults = {
    arn         = "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE"
    domain_name = "d111111abcdef8.cloudfront.net"
  }
}

mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:ap-southeast-1:123456789012:repository/mock"
    repository_url = "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/mock"
  }
}

mock_resource "aws_cloudfront_response_headers_policy" {
  defaults = {
    id = "67f7725c-6f97-4210-82d7-5512b31e9d03"
  }
}

mock_resource "aws_cloudfront_origin_access_control" {
  defaults = {
    id = "E2QWRUHAPOMQZL"
  }
}
