output "bucket_name" {
  description = "The private bucket to upload the site to (aws s3 sync ... then invalidate)."
  value       = aws_s3_bucket.site.bucket
}

output "distribution_id" {
  description = "CloudFront distribution ID (for invalidations)."
  value       = aws_cloudfront_distribution.site.id
}

output "distribution_domain_name" {
  description = "The cloudfront.net domain name of the site."
  value       = aws_cloudfront_distribution.site.domain_name
}

output "distribution_arn" {
  description = "ARN of the distribution."
  value       = aws_cloudfront_distribution.site.arn
}
