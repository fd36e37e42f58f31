output "api_endpoint" {
  description = "Base URL of the HTTP API (https://<id>.execute-api.<region>.amazonaws.com)."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "functions" {
  description = "login, callback and jwks: function name, alias ARN, role ARN and log group of each."
  value = { for k, m in module.function : k => {
    function_name  = m.function_name
    alias_arn      = m.alias_arn
    role_arn       = m.role_arn
    log_group_name = m.log_group_name
  } }
}

output "replay_table_name" {
  description = "Name of the replay-guard table; null when the guard is off."
  value       = local.replay_guard ? aws_dynamodb_table.replay[0].name : null
}

output "access_log_group_name" {
  description = "Log group of the API's access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "log_group_names" {
  description = "Log groups of the three functions (for saved queries and retention checks)."
  value       = [for m in module.function : m.log_group_name]
}

output "log_retention_days" {
  description = "The retention of the functions' and the API's log groups."
  value       = local.retention_days
}
