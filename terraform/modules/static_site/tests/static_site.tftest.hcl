# A static front end: a private bucket reachable only through CloudFront (OAC), against the mock provider.

mock_provider "aws" {
  source          = "../../mocks"
  override_during = plan
}

variables {
  name_prefix = "acme-stg"
  site_name   = "login-ui"
}

run "private_bucket_behind_cloudfront" {
  command = plan

  assert {
    condition     = aws_s3_bucket.site.bucket == "acme-stg-login-ui-123456789012"
    error_message = "the bucket name carries the account, so it is unique"
  }
  assert {
    condition     = aws_s3_bucket_versioning.site.versioning_configuration[0].status == "Enabled" && one(aws_s3_bucket_server_side_encryption_configuration.site.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "versioned and encrypted"
  }
  assert {
    condition = (aws_s3_bucket_public_access_block.site.block_public_acls && aws_s3_bucket_public_access_block.site.block_public_policy
    && aws_s3_bucket_public_access_block.site.ignore_public_acls && aws_s3_bucket_public_access_block.site.restrict_public_buckets)
    error_message = "no public access: CloudFront reads through OAC"
  }
  assert {
    condition     = data.aws_iam_policy_document.site.statement[0].principals == toset([{ type = "Service", identifiers = toset(["cloudfront.amazonaws.com"]) }]) && one(data.aws_iam_policy_document.site.statement[0].condition).values == tolist([aws_cloudfront_distribution.site.arn])
    error_message = "only this distribution may read the objects"
  }
  assert {
    condition     = data.aws_iam_policy_document.site.statement[0].actions == toset(["s3:GetObject"]) && data.aws_iam_policy_document.site.statement[1].effect == "Deny"
    error_message = "read-only for CloudFront, plain HTTP denied"
  }
  assert {
    condition     = aws_cloudfront_origin_access_control.site.signing_behavior == "always" && aws_cloudfront_origin_access_control.site.signing_protocol == "sigv4"
    error_message = "CloudFront signs every request to the bucket"
  }
  assert {
    condition     = one(aws_cloudfront_distribution.site.default_cache_behavior).viewer_protocol_policy == "redirect-to-https" && one(aws_cloudfront_distribution.site.default_cache_behavior).response_headers_policy_id == aws_cloudfront_response_headers_policy.security.id
    error_message = "HTTPS only, with the security headers"
  }
  assert {
    condition     = one(aws_cloudfront_response_headers_policy.security.security_headers_config[0].strict_transport_security).access_control_max_age_sec == 63072000 && aws_cloudfront_response_headers_policy.security.security_headers_config[0].frame_options[0].frame_option == "DENY"
    error_message = "HSTS for two years, no framing"
  }
  assert {
    condition     = one(aws_cloudfront_distribution.site.viewer_certificate).cloudfront_default_certificate && length(aws_cloudfront_distribution.site.logging_config) == 0
    error_message = "without a certificate it serves on the cloudfront.net name"
  }
}

run "custom_domain" {
  command = plan

  variables {
    aliases             = ["login.example.com"]
    acm_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/abcdefab-1234-5678-9abc-def012345678"
  }

  assert {
    condition     = one(aws_cloudfront_distribution.site.viewer_certificate).minimum_protocol_version == "TLSv1.2_2021" && one(aws_cloudfront_distribution.site.viewer_certificate).ssl_support_method == "sni-only"
    error_message = "a custom domain gets TLS 1.2+ over SNI"
  }
}

run "a_certificate_outside_us_east_1_is_refused" {
  command = plan

  variables {
    acm_certificate_arn = "arn:aws:acm:ap-southeast-1:123456789012:certificate/abcdefab-1234-5678-9abc-def012345678"
  }

  expect_failures = [var.acm_certificate_arn]
}
