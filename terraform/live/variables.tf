variable "region" {
  type        = string
  description = "AWS region of every environment."
  default     = "ap-southeast-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-southeast-1."
  }
}

variable "project" {
  type        = string
  description = "Project name, the first part of every resource name; must match the bootstrap's project (the deploy role manages <project>-* only)."
  default     = "pipelines"
}

variable "account_ids" {
  type        = map(string)
  description = "AWS account ID per workspace (dev, stg, prd); when set, the provider refuses to run against any other account."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.account_ids : contains(["dev", "stg", "prd"], k) && can(regex("^[0-9]{12}$", v))])
    error_message = "account_ids maps dev/stg/prd to 12-digit account IDs."
  }
}

# ---------------------------------------------------------------- the artifact, by reference
# CI builds once and passes the same references to dev, stg and prd (promotion without rebuilding).

variable "package_type" {
  type        = string
  description = "Which artifact the functions run: Zip (S3 object version) or Image (ECR digest)."
  default     = "Zip"

  validation {
    condition     = contains(["Zip", "Image"], var.package_type)
    error_message = "package_type must be Zip or Image."
  }
}

variable "lambda_zip_s3_bucket" {
  type        = string
  description = "Artifacts bucket holding the Lambda zip (bootstrap output artifacts_bucket)."
  default     = null
}

variable "lambda_zip_s3_key" {
  type        = string
  description = "Key of the zip: lambda/<git sha>/lambda.zip."
  default     = null

  validation {
    condition     = var.lambda_zip_s3_key == null ? true : can(regex("^lambda/[0-9a-f]{40}/lambda\\.zip$", var.lambda_zip_s3_key))
    error_message = "lambda_zip_s3_key must be lambda/<40-character git sha>/lambda.zip, as the deploy workflow uploads it."
  }
}

variable "lambda_zip_s3_version" {
  type        = string
  description = "S3 object version of the zip: pins the exact bytes that were tested."
  default     = null
}

variable "lambda_image_uri" {
  type        = string
  description = "ECR image pinned by digest: <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest>."
  default     = null

  validation {
    condition     = var.lambda_image_uri == null ? true : can(regex("@sha256:[0-9a-f]{64}$", var.lambda_image_uri))
    error_message = "lambda_image_uri must be pinned by digest (@sha256:...): a tag could be re-pointed between environments."
  }
}

variable "lambda_permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary of every Lambda role (bootstrap output lambda_permissions_boundary_arn); required when deploying with the bootstrap's deploy role."
  default     = null
}

variable "generated_dir" {
  type        = string
  description = "Where `observe dashboards build --out terraform/generated` wrote the dashboard and alarm JSON (relative to this directory)."
  default     = "../generated"
}
