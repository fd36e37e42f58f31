output "environment" {
  description = "The environment this workspace deploys."
  value       = local.env
}

output "artifact" {
  description = "The artifact reference deployed (what promotion passes on to the next environment)."
  value       = local.artifact
}

output "ingest" {
  description = "Queue, DLQ, table, bucket and functions of the ingestion pipeline."
  value = {
    queue_url     = module.ingest.queue_url
    dlq_url       = module.ingest.dlq_url
    table_name    = module.ingest.table_name
    backup_bucket = module.ingest.backup_bucket
    scheduler     = module.ingest.scheduler.function_name
    worker        = module.ingest.worker.function_name
  }
}

output "auth_api_endpoint" {
  description = "Base URL of the login chain's HTTP API."
  value       = module.auth.api_endpoint
}

output "alarm_topics" {
  description = "SNS topic per severity."
  value       = module.observability.topic_arns
}

output "site" {
  description = "Static site bucket and CloudFront domain (null where the workspace has none)."
  value = local.ws.static_site ? {
    bucket          = module.site[0].bucket_name
    distribution_id = module.site[0].distribution_id
    domain_name     = module.site[0].distribution_domain_name
  } : null
}
