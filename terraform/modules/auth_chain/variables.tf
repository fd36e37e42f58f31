variable "name_prefix" {
  type        = string
  description = "Prefix of every name (<project>-<environment>, from the settings module)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 2-41 lowercase letters, digits and hyphens."
  }
}

variable "environment" {
  type        = string
  description = "dev, stg or prd (ENVIRONMENT of the three functions; replay guard and retention defaults)."

  validation {
    condition     = contains(["dev", "stg", "prd"], var.environment)
    error_message = "environment must be dev, stg or prd."
  }
}

variable "artifact" {
  type = object({
    package_type      = string
    s3_bucket         = optional(string)
    s3_key            = optional(string)
    s3_object_version = optional(string)
    image_uri         = optional(string)
  })
  description = "The code of the three functions, by reference (see observed_lambda)."
}

variable "singpass_mode" {
  type        = string
  description = "SINGPASS_MODE: fapi (FAPI 2.0: PAR, PKCE, DPoP) or legacy (Singpass v2)."
  default     = "fapi"

  validation {
    condition     = contains(["fapi", "legacy"], var.singpass_mode)
    error_message = "singpass_mode must be fapi or legacy."
  }
}

variable "singpass_issuer" {
  type        = string
  description = "SINGPASS_ISSUER: the provider's issuer URL (its discovery document lives under it)."

  validation {
    condition     = can(regex("^https://[^/?#]+", var.singpass_issuer))
    error_message = "singpass_issuer must be an https URL."
  }
}

variable "client_id" {
  type        = string
  description = "CLIENT_ID registered with Singpass for this environment (not a secret)."

  validation {
    condition     = length(var.client_id) > 0
    error_message = "client_id must not be empty."
  }
}

variable "redirect_uri" {
  type        = string
  description = "REDIRECT_URI: the https URL of GET /callback as registered with Singpass (custom domain or the API's URL)."

  validation {
    condition     = can(regex("^https://[^?#]+/callback$", var.redirect_uri))
    error_message = "redirect_uri must be an https URL ending in /callback, without query or fragment."
  }
}

variable "ssm_parameters" {
  type = object({
    signing_key    = string
    encryption_key = string
    cookie_key     = string
  })
  description = <<-EOT
    Names of the SSM SecureString parameters holding the keys (SIGNING_KEY_PARAM, ENCRYPTION_KEY_PARAM,
    COOKIE_KEY_PARAM). Their values are NOT managed by Terraform (no secret in state): create them with
    `python -m pipelines.auth.keys --ssm-prefix /<project>/<env>/auth`.
  EOT

  validation {
    condition     = alltrue([for n in values(var.ssm_parameters) : can(regex("^/[A-Za-z0-9_.\\-/]+$", n))])
    error_message = "ssm_parameters must be full parameter names starting with /, e.g. /pipelines/dev/auth/signing-key."
  }
}

variable "ssm_kms_key_arn" {
  type        = string
  description = "ARN of the KMS key that encrypts the SecureString parameters; null means the AWS managed key alias/aws/ssm."
  default     = null
}

variable "replay_guard" {
  type        = bool
  description = "Create the replay-guard table and turn the guard on (REPLAY_GUARD); null: on in stg and prd, off in dev."
  default     = null
}

variable "extra_environment" {
  type        = map(string)
  description = "Further settings of the chain (SINGPASS_SCOPE, SESSION_TTL_SECONDS, POST_LOGIN_REDIRECT, ...; see the module pipelines.auth.config)."
  default     = {}
}

variable "memory_size" {
  type        = number
  description = "Memory of each function in MB."
  default     = 512
}

variable "timeout" {
  type        = number
  description = "Timeout of each function in seconds (API Gateway gives up at 30)."
  default     = 15

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 29
    error_message = "timeout must be 1-29 seconds: an HTTP API integration times out at 30."
  }
}

variable "throttling" {
  type = object({
    burst_limit = optional(number, 100)
    rate_limit  = optional(number, 50)
  })
  description = "Default route throttling of the HTTP API (requests per second and burst)."
  default     = {}
}

variable "reserved_concurrent_executions" {
  type        = number
  description = "Reserved concurrency of each function (-1 unreserved)."
  default     = -1
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of the functions; null uses the environment default."
  default     = null
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function and access log groups; null uses the environment default (14 / 30 / 90 days)."
  default     = null

  validation {
    condition = var.log_retention_days == null ? true : contains(
      [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
      var.log_retention_days
    )
    error_message = "log_retention_days must be a value CloudWatch Logs accepts."
  }
}

variable "log_format" {
  type        = string
  description = "Lambda log format of the functions: Text (default) or JSON (see observed_lambda)."
  default     = "Text"
}

variable "metrics_namespace" {
  type        = string
  description = "METRICS_NAMESPACE of the functions."
  default     = "DataPipelines"
}

variable "permissions_boundary_arn" {
  type        = string
  description = "IAM permissions boundary for the functions' execution roles (from the bootstrap module); null for none."
  default     = null
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for logs, environment variables and the replay table; null uses AWS managed keys."
  default     = null
}

variable "tracing_mode" {
  type        = string
  description = "X-Ray tracing of the functions: PassThrough or Active."
  default     = "PassThrough"
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = {}
}
