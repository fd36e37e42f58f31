variable "function_name" {
  type        = string
  description = "Name of the Lambda function; also names its role and its log group /aws/lambda/<name>."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, hyphens or underscores (Lambda's rule)."
  }
}

variable "description" {
  type        = string
  description = "What the function does, shown in the Lambda console."
  default     = ""
}

variable "environment" {
  type        = string
  description = "dev, stg or prd: sets ENVIRONMENT and the default log retention (14 / 30 / 90 days)."

  validation {
    condition     = contains(["dev", "stg", "prd"], var.environment)
    error_message = "environment must be dev, stg or prd."
  }
}

variable "service_name" {
  type        = string
  description = "SERVICE_NAME: the service dimension of every metric and the service field of every log line (e.g. ingest-worker)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.service_name))
    error_message = "service_name must be lowercase letters, digits and hyphens, as used on the dashboards (e.g. ingest-worker)."
  }
}

variable "pipeline" {
  type        = string
  description = "PIPELINE: the pipeline dimension of metrics and dashboards (e.g. ingest, auth)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,31}$", var.pipeline))
    error_message = "pipeline must be lowercase letters, digits and hyphens (e.g. ingest)."
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
  description = <<-EOT
    The code, by reference, so the same artifact is promoted from dev to stg to prd without a rebuild:
    package_type "Zip" with s3_bucket, s3_key and s3_object_version (a versioned artifacts bucket), or
    package_type "Image" with image_uri, an ECR image pinned by digest (<repo>@sha256:...) or by tag.
  EOT

  validation {
    condition     = contains(["Zip", "Image"], var.artifact.package_type)
    error_message = "artifact.package_type must be Zip or Image."
  }

  validation {
    condition = var.artifact.package_type != "Zip" || (
      try(length(var.artifact.s3_bucket) > 0, false) &&
      try(length(var.artifact.s3_key) > 0, false) &&
      try(length(var.artifact.s3_object_version) > 0, false)
    )
    error_message = "A Zip artifact needs s3_bucket, s3_key and s3_object_version: the object version pins the exact zip that was tested, so promotion cannot pick up a newer upload."
  }

  validation {
    condition = var.artifact.package_type != "Image" || can(regex(
      "^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+(@sha256:[0-9a-f]{64}|:[A-Za-z0-9._-]{1,128})$",
      coalesce(var.artifact.image_uri, "-")
    ))
    error_message = "An Image artifact needs image_uri = <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest> (preferred) or :<tag>."
  }
}

variable "handler" {
  type        = string
  description = "Python handler for Zip packages (module.function), e.g. pipelines.ingest.worker.ingest_worker; for Image packages it becomes the image command."

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must be a dotted Python path ending in the function name, e.g. pipelines.ingest.worker.ingest_worker."
  }
}

variable "runtime" {
  type        = string
  description = "Lambda runtime for Zip packages (ignored for Image). It must be the Python the zip was built for: its wheels and bytecode are per Python version (the artifact this project builds targets python3.13)."
  default     = "python3.13"

  validation {
    condition     = can(regex("^python3\\.(11|12|13)$", var.runtime))
    error_message = "runtime must be python3.11, python3.12 or python3.13 (the versions the library supports)."
  }
}

variable "architecture" {
  type        = string
  description = "x86_64 or arm64; must match the platform the artifact was built for (CI builds x86_64)."
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  type        = number
  description = "Memory in MB (also scales CPU); MemoryUtilization on the dashboard tells whether it is right."
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  type        = number
  description = "Timeout in seconds (an SQS-triggered function's queue needs a visibility timeout of at least 6x this)."
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL; null uses observe's default for the environment (DEBUG in dev, INFO in stg and prd)."
  default     = null

  validation {
    condition     = var.log_level == null ? true : contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_format" {
  type        = string
  description = "Lambda's log format. Text (default): observe already writes one JSON line per event and its EMF documents, and they reach CloudWatch exactly as written. JSON: Lambda writes its own START/END/REPORT lines as JSON records too."
  default     = "Text"

  validation {
    condition     = contains(["Text", "JSON"], var.log_format)
    error_message = "log_format must be Text or JSON."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function's log group; null uses the environment default (dev 14, stg 30, prd 90 days)."
  default     = null

  validation {
    condition = var.log_retention_days == null ? true : contains(
      [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
      var.log_retention_days
    )
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "metrics_namespace" {
  type        = string
  description = "METRICS_NAMESPACE: the CloudWatch namespace of the EMF metrics (dashboards and alarms use the same)."
  default     = "DataPipelines"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . _ / # : -."
  }
}

variable "environment_variables" {
  type        = map(string)
  description = "Extra environment variables (pipeline settings). Not for secrets: pass SSM parameter names instead."
  default     = {}

  validation {
    condition = length(setintersection(keys(var.environment_variables),
    ["ENVIRONMENT", "SERVICE_NAME", "PIPELINE", "LOG_LEVEL", "METRICS_NAMESPACE"])) == 0
    error_message = "environment_variables may not set ENVIRONMENT, SERVICE_NAME, PIPELINE, LOG_LEVEL or METRICS_NAMESPACE: the module sets those from its own variables."
  }

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", k)) && !startswith(k, "AWS_")])
    error_message = "environment variable names must be letters, digits and underscores and must not start with AWS_ (reserved by Lambda)."
  }

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : !can(regex("(?i)(SECRET|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|TOKEN|CREDENTIALS?)$", k))])
    error_message = "environment variable names that look like secrets (…SECRET, …PASSWORD, …TOKEN, …API_KEY) are refused: keep the value in SSM Parameter Store (SecureString) and pass its name in a …_PARAM variable."
  }
}

variable "policy_statements" {
  type = list(object({
    sid       = optional(string)
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  description = "The function's own permissions (least privilege): Allow statements with explicit actions and scoped resources. Logging, DLQ, destinations, tracing and KMS permissions are added by the module."
  default     = []

  validation {
    condition     = alltrue(flatten([for s in var.policy_statements : [for a in s.actions : !strcontains(a, "*")]]))
    error_message = "policy_statements: wildcard actions (\"*\", \"s3:*\", \"s3:Get*\") are refused; list the exact actions the code calls."
  }

  validation {
    condition     = alltrue(flatten([for s in var.policy_statements : [for r in s.resources : r != "*"]]))
    error_message = "policy_statements: Resource \"*\" is refused; scope each statement to the ARNs it needs."
  }

  validation {
    condition     = alltrue([for s in var.policy_statements : length(s.actions) > 0 && length(s.resources) > 0])
    error_message = "policy_statements: every statement needs at least one action and one resource."
  }
}

variable "permissions_boundary_arn" {
  type        = string
  description = "IAM permissions boundary for the execution role (the bootstrap module's lambda_permissions_boundary_arn); the deploy role can only create roles that carry it."
  default     = null
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the log group and the environment variables; null uses AWS managed encryption."
  default     = null
}

variable "reserved_concurrent_executions" {
  type        = number
  description = "Reserved concurrency: caps the function (and protects the rest of the account); -1 for unreserved."
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions >= -1
    error_message = "reserved_concurrent_executions must be -1 (unreserved), 0 (disabled) or a positive number."
  }
}

variable "dead_letter_target_arn" {
  type        = string
  description = "SQS queue or SNS topic ARN for failed asynchronous invocations (EventBridge, S3); null for none."
  default     = null

  validation {
    condition     = var.dead_letter_target_arn == null ? true : can(regex("^arn:aws[a-z-]*:(sqs|sns):", var.dead_letter_target_arn))
    error_message = "dead_letter_target_arn must be an SQS queue or SNS topic ARN."
  }
}

variable "on_failure_destination_arn" {
  type        = string
  description = "Destination (SQS, SNS, Lambda or EventBridge ARN) for asynchronous invocations that failed after retries; null for none."
  default     = null
}

variable "maximum_retry_attempts" {
  type        = number
  description = "Retries of a failed asynchronous invocation (0-2); applies when a destination is set."
  default     = 2

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 2
    error_message = "maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "tracing_mode" {
  type        = string
  description = "X-Ray tracing: PassThrough (default; observe propagates W3C traceparent itself) or Active."
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "otel" {
  type = object({
    exporter_endpoint = string
    protocol          = optional(string, "http/protobuf")
    sampler           = optional(string, "parentbased_traceidratio")
    sampler_arg       = optional(string, "0.1")
  })
  description = "OpenTelemetry export for observe.tracing (OTEL_* variables); null leaves tracing off."
  default     = null

  validation {
    condition     = var.otel == null ? true : can(regex("^https?://", var.otel.exporter_endpoint))
    error_message = "otel.exporter_endpoint must be an http(s) URL of an OTLP collector."
  }
}

variable "vpc_config" {
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  description = "Run inside a VPC (subnets with a NAT or VPC endpoints for the AWS APIs used); null runs outside."
  default     = null
}

variable "code_signing_config_arn" {
  type        = string
  description = "Code signing configuration that the Zip must satisfy; null for none."
  default     = null
}

variable "alias_name" {
  type        = string
  description = "Alias that triggers invoke; it points at the version published by this apply, so a rollback is an apply of the previous artifact."
  default     = "live"
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource of the module."
  default     = {}
}
