variable "project" {
  type        = string
  description = "Project name: prefix of every resource the deploy role may manage (<project>-*), and of the buckets and repository."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.project))
    error_message = "project must be 3-22 lowercase letters, digits and hyphens."
  }
}

variable "github_repository" {
  type        = string
  description = "The GitHub repository allowed to assume the roles, as owner/name."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "deploy_environments" {
  type        = list(string)
  description = "Environments deployed from GitHub: jobs in GitHub environment <env> may assume the deploy role, jobs in <env>-plan the read-only plan role."
  default     = ["dev", "stg", "prd"]

  validation {
    condition     = length(var.deploy_environments) > 0 && alltrue([for e in var.deploy_environments : contains(["dev", "stg", "prd"], e)])
    error_message = "deploy_environments must be a non-empty subset of dev, stg, prd."
  }
}

variable "publish_branch" {
  type        = string
  description = "The branch whose workflow runs may publish artifacts (push images, upload zips)."
  default     = "main"
}

variable "create_github_oidc_provider" {
  type        = bool
  description = "Create the account's token.actions.githubusercontent.com OIDC provider; false when it exists (give its ARN)."
  default     = true
}

variable "github_oidc_provider_arn" {
  type        = string
  description = "ARN of an existing GitHub OIDC provider, when create_github_oidc_provider is false."
  default     = null
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the state and artifact buckets and the repository; null uses SSE-S3 / AWS managed keys."
  default     = null
}

variable "noncurrent_state_days" {
  type        = number
  description = "How long old versions of state files are kept (they are the way back from a bad apply)."
  default     = 365

  validation {
    condition     = var.noncurrent_state_days >= 30
    error_message = "noncurrent_state_days must be at least 30: old state versions are the recovery path."
  }
}

variable "image_retention" {
  type = object({
    production_images = optional(number, 30)
    any_images        = optional(number, 200)
    untagged_days     = optional(number, 7)
  })
  description = "ECR lifecycle: keep this many prd-* tagged images, this many images in all, and untagged ones this many days."
  default     = {}
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = {}
}
