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
  description = "dev, stg or prd (ENVIRONMENT of both functions; default log retention)."

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
  description = "The code of both functions, by reference (see observed_lambda): a versioned S3 zip or an ECR image digest."
}

variable "source_url" {
  type        = string
  description = "SOURCE_URL: the base URL of the source API the worker fetches from."

  validation {
    condition     = can(regex("^https://", var.source_url))
    error_message = "source_url must be an https URL."
  }
}

variable "source_name" {
  type        = string
  description = "SOURCE_NAME: the source's short name, the first part of S3 keys."
  default     = "source"
}

variable "key_field" {
  type        = string
  description = "KEY_FIELD: the record field that identifies a record (becomes the DynamoDB key pk)."
  default     = "id"
}

variable "version_field" {
  type        = string
  description = "VERSION_FIELD: the record field that orders versions of a record (newest wins)."
  default     = "version"

  validation {
    condition     = length(var.version_field) > 0
    error_message = "version_field must not be empty."
  }
}

variable "drift_actions" {
  type        = string
  description = "DRIFT_ACTIONS of the worker: per drift check (row_count, null_rate, unexpected_rate, schema), warn | quarantine_batch | fail_task, as check=action pairs separated by commas; checks not named warn. DRIFT_WINDOW / DRIFT_MIN_HISTORY go in extra_environment."
  default     = "row_count=warn,null_rate=warn,unexpected_rate=warn,schema=warn"

  validation {
    condition = alltrue([
      for entry in split(",", var.drift_actions) :
      trimspace(entry) == "" || can(regex("^\\s*(row_count|null_rate|unexpected_rate|schema)\\s*=\\s*(warn|quarantine_batch|fail_task)\\s*$", entry))
    ])
    error_message = "drift_actions must be check=action pairs separated by commas; checks: row_count, null_rate, unexpected_rate, schema; actions: warn, quarantine_batch, fail_task."
  }
}

variable "extra_environment" {
  type        = map(string)
  description = "Further pipeline settings for both functions (VERSION_KIND, FETCH_CONCURRENCY, PAGES_PER_TASK, ...; see the module pipelines.ingest.config)."
  default     = {}
}

variable "schedule_expression" {
  type        = string
  description = "EventBridge schedule of the scheduler: cron(...) or rate(...), in UTC."
  default     = "rate(15 minutes)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...) or rate(...)."
  }
}

variable "landing_bucket_name" {
  type        = string
  description = "Optional bucket whose new objects (S3 -> EventBridge notifications must be on) trigger the scheduler; the worker may read them. null for none."
  default     = null
}

variable "event_pattern" {
  type        = string
  description = "Optional extra EventBridge event pattern (JSON) that triggers the scheduler; null for none."
  default     = null

  validation {
    condition     = var.event_pattern == null ? true : can(jsondecode(var.event_pattern))
    error_message = "event_pattern must be a JSON document."
  }
}

variable "scheduler" {
  type = object({
    memory_size = optional(number, 256)
    timeout     = optional(number, 60)
  })
  description = "Size of the scheduler function."
  default     = {}
}

variable "worker" {
  type = object({
    memory_size                        = optional(number, 1024)
    timeout                            = optional(number, 120)
    batch_size                         = optional(number, 10)
    maximum_batching_window_in_seconds = optional(number, 5)
    maximum_concurrency                = optional(number, 10)
    reserved_concurrent_executions     = optional(number, -1)
  })
  description = "Size and scaling of the worker: SQS batch size and batching window, and the event source mapping's maximum concurrency (2-1000)."
  default     = {}

  validation {
    condition     = var.worker.batch_size >= 1 && var.worker.batch_size <= 10000
    error_message = "worker.batch_size must be between 1 and 10000."
  }

  validation {
    condition     = var.worker.maximum_concurrency >= 2 && var.worker.maximum_concurrency <= 1000
    error_message = "worker.maximum_concurrency must be between 2 and 1000 (SQS event source mapping limit)."
  }

  validation {
    condition     = var.worker.timeout >= 1 && var.worker.timeout <= 900
    error_message = "worker.timeout must be between 1 and 900 seconds."
  }

  validation {
    condition     = var.worker.batch_size <= 10 || var.worker.maximum_batching_window_in_seconds >= 1
    error_message = "worker.batch_size above 10 needs maximum_batching_window_in_seconds >= 1 (an SQS rule)."
  }
}

variable "queue" {
  type = object({
    max_receive_count          = optional(number, 5)
    visibility_timeout_seconds = optional(number)
    message_retention_seconds  = optional(number, 345600)
    dlq_retention_seconds      = optional(number, 1209600)
  })
  description = "SQS settings: redrive maxReceiveCount, visibility timeout (null = 6x the worker timeout; never less) and retention."
  default     = {}

  validation {
    condition     = var.queue.max_receive_count >= 1 && var.queue.max_receive_count <= 1000
    error_message = "queue.max_receive_count must be between 1 and 1000."
  }

  validation {
    condition     = var.queue.dlq_retention_seconds >= 60 && var.queue.dlq_retention_seconds <= 1209600
    error_message = "queue.dlq_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "table" {
  type = object({
    deletion_protection = optional(bool, true)
  })
  description = "Options of the records and drift-baselines DynamoDB tables (on-demand billing, PITR and SSE are always on)."
  default     = {}
}

variable "backup" {
  type = object({
    noncurrent_version_expiration_days = optional(number, 90)
    noncurrent_versions_to_keep        = optional(number, 5)
    quarantine_expiration_days         = optional(number, 90)
    force_destroy                      = optional(bool, false)
  })
  description = "Backup bucket lifecycle: how long noncurrent versions and quarantine/ documents are kept."
  default     = {}

  validation {
    condition     = var.backup.noncurrent_version_expiration_days >= 1 && var.backup.quarantine_expiration_days >= 1
    error_message = "backup expirations are numbers of days >= 1."
  }
}

variable "permissions_boundary_arn" {
  type        = string
  description = "IAM permissions boundary for the functions' execution roles (from the bootstrap module); null for none."
  default     = null
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the queue, DLQ, table, bucket and logs; null uses AWS managed keys (SSE is on either way)."
  default     = null
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL for both functions; null uses the environment default."
  default     = null
}

variable "log_retention_days" {
  type        = number
  description = "Log retention of both functions; null uses the environment default (14 / 30 / 90 days)."
  default     = null
}

variable "log_format" {
  type        = string
  description = "Lambda log format of both functions: Text (default) or JSON (see observed_lambda)."
  default     = "Text"
}

variable "metrics_namespace" {
  type        = string
  description = "METRICS_NAMESPACE of both functions."
  default     = "DataPipelines"
}

variable "tracing_mode" {
  type        = string
  description = "X-Ray tracing of both functions: PassThrough or Active."
  default     = "PassThrough"
}

variable "otel" {
  type = object({
    exporter_endpoint = string
    protocol          = optional(string, "http/protobuf")
    sampler           = optional(string, "parentbased_traceidratio")
    sampler_arg       = optional(string, "0.1")
  })
  description = "OpenTelemetry export (see observed_lambda); null for none."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = {}
}
