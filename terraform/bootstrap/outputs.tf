output "state_bucket" {
  description = "Put in terraform/live/backend.hcl as bucket."
  value       = module.bootstrap.state_bucket
}

output "artifacts_bucket" {
  description = "GitHub variable ARTIFACTS_BUCKET."
  value       = module.bootstrap.artifacts_bucket
}

output "ecr_repository_url" {
  description = "GitHub variable ECR_REPOSITORY_URL."
  value       = module.bootstrap.ecr_repository_url
}

output "publish_role_arn" {
  description = "GitHub variable AWS_PUBLISH_ROLE_ARN."
  value       = module.bootstrap.publish_role_arn
}

output "deploy_role_arn" {
  description = "GitHub variable AWS_DEPLOY_ROLE_ARN."
  value       = module.bootstrap.deploy_role_arn
}

output "lambda_permissions_boundary_arn" {
  description = "GitHub variable LAMBDA_PERMISSIONS_BOUNDARY_ARN (root variable lambda_permissions_boundary_arn)."
  value       = module.bootstrap.lambda_permissions_boundary_arn
}

output "plan_role_arn" {
  description = "GitHub variable AWS_PLAN_ROLE_ARN."
  value       = module.bootstrap.plan_role_arn
}
