output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "version" {
  description = "The version published by this apply (what the alias points at)."
  value       = aws_lambda_function.this.version
}

output "alias_arn" {
  description = "ARN of the alias; give this to triggers (event source mappings, EventBridge, API Gateway permissions)."
  value       = aws_lambda_alias.this.arn
}

output "alias_name" {
  description = "Name of the alias."
  value       = aws_lambda_alias.this.name
}

output "alias_invoke_arn" {
  description = "Invoke ARN of the alias, for API Gateway integrations."
  value       = aws_lambda_alias.this.invoke_arn
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the execution role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Name of the function's log group (/aws/lambda/<function_name>)."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "log_retention_days" {
  description = "The retention the log group got."
  value       = local.retention_days
}
