variable "alarms_file" {
  type        = string
  description = "Path to a <pipeline>.<environment>.alarms.json written by `observe dashboards build --out <dir>` (a JSON list of alarm specs)."

  validation {
    condition     = endswith(var.alarms_file, ".json")
    error_message = "alarms_file must be a .json file written by `observe dashboards build --out <dir>`."
  }
}

variable "dashboard_file" {
  type        = string
  description = "Path to the matching <pipeline>.<environment>.dashboard.json (a CloudWatch dashboard body); null when there is none."
  default     = null
}

variable "environment" {
  type        = string
  description = "Value for the $${environment} placeholder: dev, stg or prd."

  validation {
    condition     = contains(["dev", "stg", "prd"], var.environment)
    error_message = "environment must be dev, stg or prd."
  }
}

variable "region" {
  type        = string
  description = "Value for the $${region} placeholder, e.g. ap-southeast-1."

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-southeast-1."
  }
}

variable "namespace" {
  type        = string
  description = "Value for the $${namespace} placeholder: the CloudWatch namespace the functions write EMF to (METRICS_NAMESPACE)."
  default     = "DataPipelines"

  validation {
    # Also keeps the substituted JSON valid: no quotes, backslashes or braces can come in through it.
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.namespace))
    error_message = "namespace must be 1-255 characters of letters, digits and . _ / # : - (a CloudWatch namespace)."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix for alarm names (e.g. the project), so two projects in one account do not collide; empty for none."
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{0,64}$", var.name_prefix))
    error_message = "name_prefix must be at most 64 letters, digits, _ or -."
  }
}

variable "severities" {
  type        = list(string)
  description = "Severities an alarm may have; each maps to one SNS topic in the observability module."
  default     = ["critical", "warning", "info"]
}

variable "account_id" {
  type        = string
  description = "The account the alarms live in, for the dashboard's alarm-status widget ($${alarm_arn_prefix})."
  default     = ""

  validation {
    condition     = can(regex("^([0-9]{12})?$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account id (or empty)."
  }
}

variable "partition" {
  type        = string
  description = "The AWS partition of the alarm ARNs (aws, aws-cn, aws-us-gov)."
  default     = "aws"
}

variable "log_group_prefix" {
  type        = string
  description = "What comes before a service's name in its log group's name, for the dashboard's log widgets ($${log_group_prefix})."
  default     = "/aws/lambda/"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]*$", var.log_group_prefix))
    error_message = "log_group_prefix may hold letters, digits and _ . / # - only."
  }
}

variable "resource_prefix" {
  type        = string
  description = "Value for the $${resource_prefix} placeholder: what comes before a service's function name and a declared queue's name where they are deployed (e.g. <project>-<env>-), for the AWS/Lambda and AWS/SQS dimensions."
  default     = ""

  validation {
    # Lambda function and SQS queue names: letters, digits, - and _ (so the JSON stays valid).
    condition     = can(regex("^[A-Za-z0-9_-]{0,64}$", var.resource_prefix))
    error_message = "resource_prefix may hold at most 64 letters, digits, - and _."
  }
}
