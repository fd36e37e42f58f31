output "state_bucket" {
  description = "Bucket for the root configuration's remote state (backend \"s3\" bucket)."
  value       = aws_s3_bucket.this["state"].bucket
}

output "artifacts_bucket" {
  description = "Versioned bucket for Lambda zips (lambda/<git sha>/lambda.zip)."
  value       = aws_s3_bucket.this["artifacts"].bucket
}

output "ecr_repository_url" {
  description = "ECR repository for the Lambda container image (tags: <git sha>, <env>-<git sha>)."
  value       = aws_ecr_repository.lambda.repository_url
}

output "publish_role_arn" {
  description = "Role the build job assumes (GitHub variable AWS_PUBLISH_ROLE_ARN)."
  value       = aws_iam_role.publish.arn
}

output "plan_role_arn" {
  description = "Read-only role the plan jobs assume (GitHub variable AWS_PLAN_ROLE_ARN)."
  value       = aws_iam_role.plan.arn
}

output "deploy_role_arn" {
  description = "Role the plan/apply jobs assume (GitHub variable AWS_DEPLOY_ROLE_ARN)."
  value       = aws_iam_role.deploy.arn
}

output "lambda_permissions_boundary_arn" {
  description = "Permissions boundary every Lambda execution role must carry (root variable lambda_permissions_boundary_arn)."
  value       = aws_iam_policy.lambda_boundary.arn
}
