variable "name_prefix" {
  type        = string
  description = "Prefix of dashboard, topic, key and query names (<project>-<environment>)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 2-41 lowercase letters, digits and hyphens."
  }
}

variable "alarm_name_prefix" {
  type        = string
  description = "Prefix of alarm names (the project); the generated names already end in the environment."
  default     = ""
}

variable "environment" {
  type        = string
  description = "dev, stg or prd: substituted for $${environment} in the generated JSON."

  validation {
    condition     = contains(["dev", "stg", "prd"], var.environment)
    error_message = "environment must be dev, stg or prd."
  }
}

variable "namespace" {
  type        = string
  description = "The CloudWatch namespace of the EMF metrics (METRICS_NAMESPACE), substituted for $${namespace}."
  default     = "DataPipelines"
}

variable "pipelines" {
  type = map(object({
    dashboard_file = string
    alarms_file    = string
  }))
  description = "Per pipeline, the files `observe dashboards build --out <dir>` wrote for the environment: <pipeline>.<environment>.dashboard.json and <pipeline>.<environment>.alarms.json (observe.json lists them). Paths are read from the directory terraform runs in: give them as \"$${path.root}/<dir>/<pipeline>.<environment>.dashboard.json\"."

  validation {
    condition     = alltrue([for p in values(var.pipelines) : endswith(p.dashboard_file, ".dashboard.json") && endswith(p.alarms_file, ".alarms.json")])
    error_message = "pipelines.*: dashboard_file must end in .dashboard.json and alarms_file in .alarms.json (as `observe dashboards build --out <dir>` writes them)."
  }
}

variable "severities" {
  type        = list(string)
  description = "Alarm severities; one SNS topic each."
  default     = ["critical", "warning", "info"]
}

variable "alarms_enabled" {
  type        = bool
  description = "Whether alarms notify (actions_enabled); alarms exist and change state either way (dev usually false)."
  default     = true
}

variable "ok_notification_severities" {
  type        = list(string)
  description = "Severities whose topic also hears when an alarm returns to OK."
  default     = ["critical"]
}

variable "notification_emails" {
  type        = map(list(string))
  description = "E-mail subscribers per severity, e.g. { critical = [\"oncall@example.com\"] }; each must confirm the subscription."
  default     = {}

  validation {
    condition     = alltrue([for e in flatten(values(var.notification_emails)) : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails must hold e-mail addresses."
  }
}

variable "sns_kms_key_arn" {
  type        = string
  description = "KMS key for the topics (its policy must let cloudwatch.amazonaws.com use it); null creates one. The AWS managed aws/sns key cannot be used: CloudWatch alarms could not publish."
  default     = null
}

variable "log_group_names" {
  type        = list(string)
  description = "Log groups the saved Logs Insights triage queries search (the pipelines' functions)."
  default     = []
}

variable "retention_days" {
  type        = number
  description = "The environment's log retention; AWS Config reports log groups that keep logs for less (or forever)."
  default     = 14
}

variable "enforce_retention_with_config" {
  type        = bool
  description = "Create the AWS Config managed rule CW_LOGGROUP_RETENTION_PERIOD_CHECK (needs an AWS Config recorder in the account)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = {}
}

variable "log_group_prefix" {
  type        = string
  description = "What comes before a service's name in its log group's name (default /aws/lambda/<name_prefix>-), for the dashboards' log widgets."
  default     = null
}

variable "resource_prefix" {
  type        = string
  description = "What comes before a service's function name and a declared queue's name where they are deployed (default <name_prefix>-), for the dashboards' AWS/Lambda and AWS/SQS widgets and alarms."
  default     = null
}
