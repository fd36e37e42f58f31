variable "region" {
  type        = string
  description = "AWS region of the state bucket, artifacts bucket and ECR repository (the same as the environments)."
  default     = "ap-southeast-1"
}

variable "project" {
  type        = string
  description = "Project name (must match the root configuration's project)."
  default     = "pipelines"
}

variable "github_repository" {
  type        = string
  description = "owner/name of the GitHub repository whose workflows deploy."
}

variable "create_github_oidc_provider" {
  type        = bool
  description = "false when the account already has the token.actions.githubusercontent.com provider (then set github_oidc_provider_arn)."
  default     = true
}

variable "github_oidc_provider_arn" {
  type        = string
  description = "ARN of the existing GitHub OIDC provider when create_github_oidc_provider is false."
  default     = null
}
