variable "workspace" {
  type        = string
  description = "The Terraform workspace (pass terraform.workspace); it names the environment: dev, stg or prd."

  validation {
    condition     = contains(["dev", "stg", "prd"], var.workspace)
    error_message = "Unknown workspace: this configuration has environments dev, stg and prd only. Run `terraform workspace select dev` (or stg, prd); the default workspace is not deployable."
  }
}

variable "project" {
  type        = string
  description = "Short project name, the first part of every resource name (lowercase letters, digits, hyphens)."
  default     = "pipelines"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.project))
    error_message = "project must be 3-22 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "components" {
  type        = list(string)
  description = "Component names to derive resource names for (e.g. ingest-worker); each becomes <project>-<env>-<component>."
  default     = []

  validation {
    condition     = alltrue([for c in var.components : can(regex("^[a-z][a-z0-9-]*[a-z0-9]$", c))])
    error_message = "components must be lowercase letters, digits and hyphens (they become Lambda, queue and table names)."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Override of the CloudWatch Logs retention for this environment; null keeps the default (dev 14, stg 30, prd 90)."
  default     = null

  validation {
    condition = var.log_retention_days == null ? true : contains(
      [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
      var.log_retention_days
    )
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "overrides" {
  type = object({
    log_level                     = optional(string)
    replay_guard                  = optional(bool)
    noncurrent_version_expiration = optional(number)
    quarantine_expiration         = optional(number)
    alarms_enabled                = optional(bool)
  })
  description = "Per-environment exceptions to the defaults (null attributes keep the default)."
  default     = {}

  validation {
    condition     = var.overrides.log_level == null ? true : contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.overrides.log_level)
    error_message = "overrides.log_level must be DEBUG, INFO, WARNING or ERROR (the levels observe's LOG_LEVEL accepts)."
  }

  validation {
    condition = alltrue([
      for d in [var.overrides.noncurrent_version_expiration, var.overrides.quarantine_expiration] : d == null ? true : d >= 1
    ])
    error_message = "overrides.*_expiration are numbers of days and must be >= 1."
  }
}
