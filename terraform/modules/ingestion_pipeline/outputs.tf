output "queue_url" {
  description = "URL of the task queue."
  value       = aws_sqs_queue.tasks.url
}

output "queue_arn" {
  description = "ARN of the task queue."
  value       = aws_sqs_queue.tasks.arn
}

output "queue_name" {
  description = "Name of the task queue."
  value       = aws_sqs_queue.tasks.name
}

output "dlq_url" {
  description = "URL of the task dead-letter queue (inspect with `observe diag dlq`)."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the task dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "scheduler_dlq_url" {
  description = "URL of the queue that receives failed asynchronous scheduler invocations."
  value       = aws_sqs_queue.scheduler_dlq.url
}

output "visibility_timeout_seconds" {
  description = "The visibility timeout the queue got (>= 6x the worker timeout)."
  value       = local.visibility_timeout
}

output "table_name" {
  description = "Name of the DynamoDB table (key pk)."
  value       = aws_dynamodb_table.records.name
}

output "table_arn" {
  description = "ARN of the DynamoDB table."
  value       = aws_dynamodb_table.records.arn
}

output "baseline_table_name" {
  description = "Name of the drift baselines table (BASELINE_TABLE of the worker; key pk = ingest#source/partition)."
  value       = aws_dynamodb_table.baselines.name
}

output "baseline_table_arn" {
  description = "ARN of the drift baselines table."
  value       = aws_dynamodb_table.baselines.arn
}

output "backup_bucket" {
  description = "Name of the versioned backup bucket (raw/, processed/, quarantine/)."
  value       = aws_s3_bucket.backup.bucket
}

output "backup_bucket_arn" {
  description = "ARN of the backup bucket."
  value       = aws_s3_bucket.backup.arn
}

output "scheduler" {
  description = "The scheduler function (name, alias ARN, role, log group)."
  value = {
    function_name  = module.scheduler.function_name
    alias_arn      = module.scheduler.alias_arn
    role_arn       = module.scheduler.role_arn
    log_group_name = module.scheduler.log_group_name
  }
}

output "worker" {
  description = "The worker function (name, alias ARN, role, log group)."
  value = {
    function_name  = module.worker.function_name
    alias_arn      = module.worker.alias_arn
    role_arn       = module.worker.role_arn
    log_group_name = module.worker.log_group_name
  }
}

output "log_group_names" {
  description = "Log groups of the pipeline's functions (for saved queries and retention checks)."
  value       = [module.scheduler.log_group_name, module.worker.log_group_name]
}

output "log_retention_days" {
  description = "The retention both functions' log groups got (the environment's default unless log_retention_days is set)."
  value       = module.worker.log_retention_days
}
