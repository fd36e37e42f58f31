output "environment" {
  description = "The environment: dev, stg or prd (validated)."
  value       = local.environment
}

output "name_prefix" {
  description = "<project>-<environment>, the prefix of every resource name."
  value       = local.name_prefix
}

output "settings" {
  description = "The effective per-environment settings (defaults with overrides applied)."
  value       = local.effective
}

output "log_retention_days" {
  description = "CloudWatch Logs retention for this environment (dev 14, stg 30, prd 90 unless overridden)."
  value       = local.effective.log_retention_days
}

output "names" {
  description = "Map of component => full resource name."
  value       = local.names

  precondition {
    # 64 is Lambda's limit; SQS allows 80 and DynamoDB 255, so the tightest one decides.
    condition     = alltrue([for n in values(local.names) : length(n) <= 64 - length("-dlq")])
    error_message = "A derived name is too long for Lambda/SQS (max 60 characters before the -dlq suffix); shorten project or the component names."
  }
}

output "tags" {
  description = "Tags every resource carries (Project, Environment, ManagedBy)."
  value       = local.tags
}
